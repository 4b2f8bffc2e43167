#include "tests/support/skopeo.h"

namespace ppa::test {
namespace {

// The private configuration, created once per test process.
class SkopeoEnvironment {
 public:
  static const SkopeoEnvironment& Get() {
    // Destroyed at exit, which removes the folder.
    static const SkopeoEnvironment env;
    return env;
  }
  const std::string& policy() const { return policy_; }
  const std::map<std::string, std::string>& vars() const { return vars_; }

 private:
  SkopeoEnvironment() : dir_("ppa-skopeo") {
    policy_ = dir_.Join("policy.json");
    const std::string registries = dir_.Join("registries.conf");
    const std::string auth = dir_.Join("auth.json");
    (void)WriteStringToFile(policy_, R"({"default":[{"type":"insecureAcceptAnything"}]})");
    (void)WriteStringToFile(registries, "unqualified-search-registries = []\n");
    (void)WriteStringToFile(auth, R"({"auths":{}})");
    vars_ = {{"HOME", dir_.path()},
             {"XDG_CONFIG_HOME", dir_.Join("config")},
             {"XDG_RUNTIME_DIR", dir_.path()},
             {"CONTAINERS_REGISTRIES_CONF", registries},
             {"REGISTRY_AUTH_FILE", auth},
             {"TMPDIR", dir_.path()},
             {"DOCKER_CONFIG", dir_.Join("docker")},
             {"http_proxy", ""},
             {"https_proxy", ""},
             {"HTTP_PROXY", ""},
             {"HTTPS_PROXY", ""},
             {"NO_PROXY", "*"}};
  }
  TempDir dir_;
  std::string policy_;
  std::map<std::string, std::string> vars_;
};

std::string WithTransport(const std::string& ref) {
  for (const char* prefix : {"docker://", "docker-archive:", "oci-archive:", "oci:", "dir:"}) {
    if (ref.rfind(prefix, 0) == 0) return ref;
  }
  return "docker://" + ref;
}

bool IsDocker(const std::string& ref) { return ref.rfind("docker://", 0) == 0; }

Status Failed(const std::vector<std::string>& args, const ProcessResult& r) {
  std::string cmd = "skopeo";
  for (const std::string& a : args) cmd += " " + a;
  return IoError(cmd + " exited " + std::to_string(r.exit_code) + ": " + r.stderr_text);
}

Result<nlohmann::json> InspectWith(const std::string& ref, const std::string& flag,
                                   const std::string& creds) {
  const std::string full = WithTransport(ref);
  std::vector<std::string> args = {"inspect"};
  if (IsDocker(full)) args.push_back("--tls-verify=false");
  if (!flag.empty()) args.push_back(flag);
  if (!creds.empty()) args.push_back("--creds=" + creds);
  args.push_back(full);
  ProcessResult r = RunSkopeo(args);
  if (r.exit_code != 0) return Failed(args, r);
  try {
    return nlohmann::json::parse(r.stdout_text);
  } catch (const std::exception& e) {
    return InvalidInput(std::string("skopeo output is not JSON: ") + e.what());
  }
}

}  // namespace

ProcessResult RunSkopeo(const std::vector<std::string>& args) {
  const SkopeoEnvironment& env = SkopeoEnvironment::Get();
  std::vector<std::string> argv = {"skopeo", "--policy", env.policy()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, std::nullopt, env.vars());
}

Result<nlohmann::json> SkopeoInspect(const std::string& ref, bool raw, const std::string& creds) {
  return InspectWith(ref, raw ? "--raw" : "", creds);
}

Result<nlohmann::json> SkopeoInspectConfig(const std::string& ref, const std::string& creds) {
  return InspectWith(ref, "--config", creds);
}

Status SkopeoCopy(const std::string& src, const std::string& dst, const std::string& src_creds,
                  const std::string& dst_creds) {
  const std::string from = WithTransport(src);
  const std::string to = WithTransport(dst);
  std::vector<std::string> args = {"copy", "--quiet"};
  if (IsDocker(from)) args.push_back("--src-tls-verify=false");
  if (IsDocker(to)) args.push_back("--dest-tls-verify=false");
  if (!src_creds.empty()) args.push_back("--src-creds=" + src_creds);
  if (!dst_creds.empty()) args.push_back("--dest-creds=" + dst_creds);
  args.push_back(from);
  args.push_back(to);
  ProcessResult r = RunSkopeo(args);
  if (r.exit_code != 0) return Failed(args, r);
  return Status::Ok();
}

Status SkopeoCopyToDir(const std::string& ref, const std::string& dir, const std::string& creds) {
  return SkopeoCopy(ref, "dir:" + dir, creds, "");
}

Status CheckManifestListPlatforms(const std::string& ref, const std::set<std::string>& expected,
                                  const std::string& creds) {
  PPA_ASSIGN_OR_RETURN(nlohmann::json manifest, SkopeoInspect(ref, /*raw=*/true, creds));
  if (!manifest.contains("manifests") || !manifest["manifests"].is_array()) {
    return InvalidInput(ref + " is not a manifest list or image index");
  }
  std::set<std::string> found;
  for (const nlohmann::json& m : manifest["manifests"]) {
    const nlohmann::json p = m.value("platform", nlohmann::json::object());
    std::string platform = p.value("os", "") + "/" + p.value("architecture", "");
    if (!p.value("variant", "").empty()) platform += "/" + p.value("variant", "");
    found.insert(platform);
  }
  if (found == expected) return Status::Ok();
  std::string got;
  for (const std::string& f : found) got += (got.empty() ? "" : ",") + f;
  std::string want;
  for (const std::string& e : expected) want += (want.empty() ? "" : ",") + e;
  return InvalidInput(ref + " has platforms {" + got + "}, expected {" + want + "}");
}

}  // namespace ppa::test
