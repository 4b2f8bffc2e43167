// The Kubernetes batch that runs as written (README, "Batches and Kubernetes"): the Helm chart in
// samples/kubernetes/chart/ is linted and rendered by the real helm, its
// Job is read with yaml-cpp and checked (one `shards` value for completions,
// parallelism and the shard count; podFailurePolicy as README's exit
// statuses; restartPolicy Never; volumes; the credentials Secret), and then
// every pod of the rendered Job is RUN here, index by index, as the kubelet
// would run it:
//  - its environment built from the container's `env` (the downward-API
//    JOB_COMPLETION_INDEX set to the pod's index), and $(VAR) in command,
//    args and env expanded as the kubelet expands them;
//  - its volumes mapped to folders: each PersistentVolumeClaim to a folder
//    shared by all pods, each emptyDir to a fresh folder per pod, the Secret
//    to a folder holding its items; every mount path in the container's
//    strings replaced by its folder;
//  - the init container's script with this machine's sh and curl against a
//    loopback file server (URL mode); the import container as the real
//    ppa-import binary against the real docker-registry with htpasswd auth,
//    so the docker-config Secret is what logs it in.
// Each pod must keep its report on the reports volume and end its stdout
// with the same report as one JSON line; the pods together import every
// archive exactly once.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "docker_io/image/digest.h"
#include "importer/cli/cli.h"
#include "tests/integration/charts_support.h"
#include "tests/support/hostile_http_server.h"
#include "tests/support/load_fixture.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using test::ProcessResult;
using test::TempDir;

constexpr char kUser[] = "chart-user";
constexpr char kPassword[] = "Chart-Pa55-from-the-secret";
constexpr char kSecretName[] = "ppa-import-registry";
constexpr char kArchiveClaim[] = "ppa-archives";
constexpr char kReportClaim[] = "ppa-import-reports";
constexpr char kRelease[] = "batch";

std::string SourceRoot() { return fs::path(PPA_TEST_DATA_DIR).parent_path().parent_path(); }
std::string ChartDir() { return SourceRoot() + "/samples/kubernetes/chart"; }

// ---------------------------------------------------------------- the kubelet's part

// $(NAME) replaced by env[NAME] when NAME is defined, left as it is when not;
// $$ becomes $ (so $$(NAME) stays literal): the kubelet's expansion of
// command, args and env values (k8s.io/kubernetes
// third_party/forked/golang/expansion).
std::string ExpandKubeletVars(const std::string& in,
                              const std::map<std::string, std::string>& env) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out += in[i++];
      continue;
    }
    char next = in[i + 1];
    if (next == '$') {
      out += '$';
      i += 2;
    } else if (next == '(') {
      size_t close = in.find(')', i + 2);
      if (close == std::string::npos) {
        out += "$(";
        i += 2;
        continue;
      }
      std::string name = in.substr(i + 2, close - i - 2);
      auto it = env.find(name);
      out += it != env.end() ? it->second : "$(" + name + ")";
      i = close + 1;
    } else {
      out += '$';
      out += next;
      i += 2;
    }
  }
  return out;
}

TEST(ExpandKubeletVars, AsTheKubeletExpands) {
  const std::map<std::string, std::string> env = {{"JOB_COMPLETION_INDEX", "2"}, {"A", "x"}};
  const std::pair<std::string, std::string> cases[] = {
      {"/reports/r-$(JOB_COMPLETION_INDEX).json", "/reports/r-2.json"},
      {"$(A)$(A)", "xx"},
      {"$(UNDEFINED)", "$(UNDEFINED)"},
      {"$$(A)", "$(A)"},
      {"$$", "$"},
      {"$((i % N))", "$((i % N))"},  // shell arithmetic: no such variable
      {"a$", "a$"},
      {"$(A", "$(A"},
      {"$x", "$x"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(ExpandKubeletVars(in, env), want) << in;
}

// `text` with every container path of `mounts` (container path -> folder)
// replaced by its folder, where it stands as a whole path (followed by '/',
// a quote, white space or the end); the longest path first.
std::string RemapPaths(std::string text,
                       const std::vector<std::pair<std::string, std::string>>& mounts) {
  auto sorted = mounts;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    bool starts_path =
        i == 0 || std::string_view(" ='\"\n:").find(text[i - 1]) != std::string::npos;
    for (const auto& [path, folder] : starts_path ? sorted : decltype(sorted){}) {
      size_t end = i + path.size();
      if (text.compare(i, path.size(), path) == 0 &&
          (end == text.size() ||
           std::string_view("/'\" \n").find(text[end]) != std::string::npos)) {
        out += folder;
        i = end;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

TEST(RemapPaths, WholePathsOnly) {
  const std::vector<std::pair<std::string, std::string>> mounts = {
      {"/work", "/tmp/w"}, {"/work/cache", "/tmp/c"}, {"/archives", "/tmp/a"}};
  EXPECT_EQ(RemapPaths("--workdir=/work/ppa-import", mounts), "--workdir=/tmp/w/ppa-import");
  EXPECT_EQ(RemapPaths("/work/cache/x", mounts), "/tmp/c/x");
  EXPECT_EQ(RemapPaths("/archives", mounts), "/tmp/a");
  EXPECT_EQ(RemapPaths("/workers /x/work", mounts), "/workers /x/work");
}

std::string Str(const YAML::Node& node) { return node ? node.as<std::string>() : ""; }

std::vector<std::string> Strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item.as<std::string>());
  return out;
}

// The container named `name` in `list` (a Null node when none is).
YAML::Node ContainerNamed(const YAML::Node& list, const std::string& name) {
  for (const auto& c : list) {
    if (Str(c["name"]) == name) return c;
  }
  return YAML::Node();
}

// The value of `--flag=VALUE` in `args`, or "" when absent.
std::string FlagValue(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args) {
    if (a.rfind(flag + "=", 0) == 0) return a.substr(flag.size() + 1);
  }
  return "";
}

std::vector<std::string> FlagValues(const std::vector<std::string>& args, const std::string& flag) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    if (a.rfind(flag + "=", 0) == 0) out.push_back(a.substr(flag.size() + 1));
  }
  return out;
}

// What ran in one pod.
struct PodRun {
  int index = 0;
  bool has_init = false;
  ProcessResult init;
  bool main_ran = false;
  ProcessResult main;
  std::string report_file;  // on the reports folder ("" when the args name none)
};

// The cluster around the pods: PVCs as shared folders, Secrets' data.
struct Cluster {
  std::map<std::string, std::string> claims;                          // name -> folder
  std::map<std::string, std::map<std::string, std::string>> secrets;  // name -> key -> data
  std::string scratch;                                                // per-pod folders
};

// Runs pod `index` of `job` as the kubelet would (see the file comment).
PodRun RunPod(const YAML::Node& job, int index, const Cluster& cluster) {
  PodRun run;
  run.index = index;
  const YAML::Node spec = job["spec"]["template"]["spec"];
  const std::string pod_dir = cluster.scratch + "/pod-" + std::to_string(index);
  fs::create_directories(pod_dir);

  // Volumes -> folders.
  std::map<std::string, std::string> volumes;
  for (const auto& v : spec["volumes"]) {
    const std::string name = Str(v["name"]);
    if (v["persistentVolumeClaim"]) {
      const std::string claim = Str(v["persistentVolumeClaim"]["claimName"]);
      EXPECT_TRUE(cluster.claims.count(claim)) << "no such claim: " << claim;
      volumes[name] = cluster.claims.count(claim) ? cluster.claims.at(claim) : "/nonexistent";
    } else if (v["emptyDir"]) {
      volumes[name] = pod_dir + "/empty-" + name;
      fs::create_directories(volumes[name]);
    } else if (v["secret"]) {
      const std::string secret = Str(v["secret"]["secretName"]);
      volumes[name] = pod_dir + "/secret-" + name;
      fs::create_directories(volumes[name]);
      EXPECT_TRUE(cluster.secrets.count(secret)) << "no such secret: " << secret;
      for (const auto& item : v["secret"]["items"]) {
        const auto& data = cluster.secrets.at(secret);
        EXPECT_TRUE(data.count(Str(item["key"]))) << "no key " << Str(item["key"]);
        EXPECT_TRUE(
            test::WriteStringToFile(volumes[name] + "/" + Str(item["path"]),
                                    data.count(Str(item["key"])) ? data.at(Str(item["key"])) : "")
                .ok());
      }
    } else {
      ADD_FAILURE() << "unknown volume kind: " << name;
    }
  }

  auto run_container = [&](const YAML::Node& c, bool is_import) {
    std::vector<std::pair<std::string, std::string>> mounts;
    for (const auto& m : c["volumeMounts"]) {
      mounts.emplace_back(Str(m["mountPath"]), volumes[Str(m["name"])]);
    }
    // The environment, in order; each value may use the ones before it.
    std::map<std::string, std::string> env = {{"HOME", pod_dir + "/home"},
                                              {"DOCKER_CONFIG", ""},
                                              {"REGISTRY_AUTH_FILE", ""},
                                              {"PPA_IMPORT_USERNAME", ""},
                                              {"PPA_IMPORT_PASSWORD", ""},
                                              {"IBMCLOUD_API_KEY", ""},
                                              {"XDG_RUNTIME_DIR", pod_dir + "/run"},
                                              {"XDG_CONFIG_HOME", ""}};
    std::map<std::string, std::string> defined;
    for (const auto& e : c["env"]) {
      std::string value;
      if (e["valueFrom"]) {
        EXPECT_EQ(Str(e["valueFrom"]["fieldRef"]["fieldPath"]),
                  "metadata.annotations['batch.kubernetes.io/job-completion-index']")
            << Str(e["name"]);
        value = std::to_string(index);
      } else {
        value = ExpandKubeletVars(Str(e["value"]), defined);
      }
      defined[Str(e["name"])] = value;
    }
    for (auto& [name, value] : defined) env[name] = RemapPaths(value, mounts);
    std::vector<std::string> argv;
    for (const auto& part : Strings(c["command"])) argv.push_back(part);
    for (const auto& part : Strings(c["args"])) argv.push_back(part);
    for (auto& part : argv) part = RemapPaths(ExpandKubeletVars(part, defined), mounts);
    if (is_import) {
      EXPECT_EQ(argv.at(0), "ppa-import");
      argv[0] = PPA_IMPORT_BINARY;
      run.report_file = FlagValues(argv, "--json").empty() ? "" : FlagValues(argv, "--json")[0];
    }
    std::string cwd = c["workingDir"] ? RemapPaths(Str(c["workingDir"]), mounts) : pod_dir;
    return test::RunProcess(argv, std::nullopt, env, cwd);
  };

  for (const auto& init : spec["initContainers"]) {
    run.has_init = true;
    run.init = run_container(init, false);
    if (run.init.exit_code != 0) return run;  // the pod fails: its containers never start
  }
  run.main = run_container(ContainerNamed(spec["containers"], "ppa-import"), true);
  run.main_ran = true;
  return run;
}

// The last line of `text`, without its newline.
std::string LastLine(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

// ---------------------------------------------------------------- fixture

// One small image per archive, tagged kube/app-K:1.0, distinct layers.
samples::PpaArchiveSpec SmallArchive(int k) {
  samples::ImageSpec image;
  image.repo_tags = {"kube/app-" + std::to_string(k) + ":1.0"};
  samples::LayerSpec layer;
  layer.seed = 100 + static_cast<uint64_t>(k);
  layer.file_count = 2;
  image.layers = {layer};
  samples::PpaArchiveSpec spec;
  spec.images.push_back(
      {"images/app.tar",
       samples::ImageTarballSpec{samples::ImageTarballFormat::kDockerLegacy, false, 6, {image}}});
  return spec;
}

class KubernetesChartTest : public test::LoadFixture {
 protected:
  void SetUp() override {
    helm_ = test::FindHelm();
    if (helm_.empty()) {
      GTEST_SKIP() << "helm not fetched (run scripts/fetch_helm.sh, or set PPA_HELM)";
    }
    StartRegistry({kUser, kPassword});
    fs::create_directories(archives_dir_);
    fs::create_directories(reports_dir_);
    cluster_.claims = {{kArchiveClaim, archives_dir_}, {kReportClaim, reports_dir_}};
    const std::string auth = R"({"auths":{")" + registry_->host() + R"(":{"auth":")" +
                             Base64Encode(std::string(kUser) + ":" + kPassword) + R"("}}})";
    cluster_.secrets[kSecretName] = {{".dockerconfigjson", auth}};
    cluster_.scratch = dir_.Join("pods");
  }

  // Writes `count` archives to the archives claim; returns their names.
  std::vector<std::string> MakeArchives(int count) {
    std::vector<std::string> names;
    for (int k = 0; k < count; ++k) {
      std::string name = "app-" + std::to_string(k) + ".tgz";
      Status s = samples::WritePpaArchive(SmallArchive(k), archives_dir_ + "/" + name);
      EXPECT_TRUE(s.ok()) << s.ToString();
      names.push_back(name);
    }
    return names;
  }

  // The chart's values (JSON is YAML): the registry, namespace and claims of
  // this test, plus `extra` (merged at the top level).
  nlohmann::json Values(const nlohmann::json& extra = nlohmann::json::object()) {
    nlohmann::json v = {{"registry", registry_->host()},
                        {"namespace", "test_ns"},
                        {"reports", {{"claimName", kReportClaim}}},
                        {"extraArgs", {"--plain-http", "--timeout=20"}}};
    v.update(extra, /*merge_objects=*/true);
    return v;
  }

  // `helm ARGS... CHART -f VALUES`.
  ProcessResult Helm(std::vector<std::string> args, const nlohmann::json& values) {
    const std::string file = dir_.Join("values-" + std::to_string(++renders_) + ".json");
    EXPECT_TRUE(test::WriteStringToFile(file, values.dump(2)).ok());
    args.push_back(ChartDir());
    args.push_back("-f");
    args.push_back(file);
    return test::RunHelm(helm_, dir_.Join("helm-home"), args);
  }

  // The rendered Job (the one document of kind Job).
  YAML::Node RenderJob(const nlohmann::json& values) {
    ProcessResult r = Helm({"template", kRelease}, values);
    EXPECT_EQ(r.exit_code, 0) << Output(r);
    YAML::Node job;
    int jobs = 0;
    for (const auto& doc : YAML::LoadAll(r.stdout_text)) {
      if (doc && doc["kind"] && Str(doc["kind"]) == "Job") job = doc, ++jobs;
    }
    EXPECT_EQ(jobs, 1) << r.stdout_text;
    return job;
  }

  // The structure every rendering must have, for `shards` pods.
  void ExpectJobShape(const YAML::Node& job, int shards, bool url_mode, bool with_secret) {
    SCOPED_TRACE(YAML::Dump(job));
    const YAML::Node spec = job["spec"];
    EXPECT_EQ(Str(job["apiVersion"]), "batch/v1");
    EXPECT_EQ(Str(spec["completionMode"]), "Indexed");
    EXPECT_EQ(spec["completions"].as<int>(), shards);
    EXPECT_EQ(spec["parallelism"].as<int>(), std::min(shards, 4));  // maxParallelism default 4
    const YAML::Node pod = spec["template"]["spec"];
    EXPECT_EQ(Str(pod["restartPolicy"]), "Never");
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
    EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 10001);
    const YAML::Node main = ContainerNamed(pod["containers"], "ppa-import");
    ASSERT_TRUE(main.IsDefined() && !main.IsNull());
    EXPECT_FALSE(main["securityContext"]["allowPrivilegeEscalation"].as<bool>());
    EXPECT_TRUE(main["securityContext"]["readOnlyRootFilesystem"].as<bool>());
    const std::vector<std::string> args = Strings(main["args"]);
    ASSERT_FALSE(args.empty());
    EXPECT_EQ(args[0], "load");
    // The one value: completions == the shard count the pods use.
    if (url_mode) {
      EXPECT_EQ(FlagValue(args, "--shard-count"), "") << "the URLs are sharded before";
      const YAML::Node init = ContainerNamed(pod["initContainers"], "download");
      ASSERT_TRUE(init.IsDefined() && !init.IsNull());
      std::string shard_count;
      for (const auto& e : init["env"]) {
        if (Str(e["name"]) == "SHARD_COUNT") shard_count = Str(e["value"]);
      }
      EXPECT_EQ(shard_count, std::to_string(shards));
      EXPECT_NE(FlagValue(args, "--from-list"), "");
    } else {
      EXPECT_FALSE(pod["initContainers"]);
      EXPECT_EQ(FlagValue(args, "--shard-count"), std::to_string(shards));
    }
    // Reports: a file on the reports claim per index, and stdout.
    const auto json = FlagValues(args, "--json");
    ASSERT_EQ(json.size(), 2u);
    EXPECT_NE(json[0].find("$(JOB_COMPLETION_INDEX)"), std::string::npos) << json[0];
    EXPECT_EQ(json[1], "-");
    std::map<std::string, YAML::Node> volumes;
    for (const auto& v : pod["volumes"]) volumes.emplace(Str(v["name"]), YAML::Node(v));
    std::map<std::string, YAML::Node> mounts;
    for (const auto& m : main["volumeMounts"]) mounts.emplace(Str(m["name"]), YAML::Node(m));
    ASSERT_TRUE(volumes.count("reports") && mounts.count("reports"));
    EXPECT_EQ(Str(volumes["reports"]["persistentVolumeClaim"]["claimName"]), kReportClaim);
    EXPECT_EQ(json[0].rfind(Str(mounts["reports"]["mountPath"]) + "/", 0), 0u) << json[0];
    // Archives: read-only; a claim, or an emptyDir the init container fills.
    ASSERT_TRUE(volumes.count("archives") && mounts.count("archives"));
    EXPECT_TRUE(mounts["archives"]["readOnly"].as<bool>());
    if (url_mode) {
      EXPECT_TRUE(volumes["archives"]["emptyDir"]);
    } else {
      EXPECT_EQ(Str(volumes["archives"]["persistentVolumeClaim"]["claimName"]), kArchiveClaim);
      EXPECT_TRUE(volumes["archives"]["persistentVolumeClaim"]["readOnly"].as<bool>());
      EXPECT_EQ(args[1], Str(mounts["archives"]["mountPath"]));
    }
    // Work directory: an emptyDir with a size limit, where --workdir points.
    ASSERT_TRUE(volumes.count("work") && mounts.count("work"));
    EXPECT_FALSE(Str(volumes["work"]["emptyDir"]["sizeLimit"]).empty());
    EXPECT_EQ(FlagValue(args, "--workdir").rfind(Str(mounts["work"]["mountPath"]) + "/", 0), 0u);
    // Credentials: the docker-config Secret, read-only, with --authfile.
    if (with_secret) {
      ASSERT_TRUE(volumes.count("registry-auth") && mounts.count("registry-auth"));
      EXPECT_EQ(Str(volumes["registry-auth"]["secret"]["secretName"]), kSecretName);
      EXPECT_EQ(Str(volumes["registry-auth"]["secret"]["items"][0]["key"]), ".dockerconfigjson");
      EXPECT_TRUE(mounts["registry-auth"]["readOnly"].as<bool>());
      EXPECT_EQ(FlagValue(args, "--authfile"),
                Str(mounts["registry-auth"]["mountPath"]) + "/" +
                    Str(volumes["registry-auth"]["secret"]["items"][0]["path"]));
    } else {
      EXPECT_FALSE(volumes.count("registry-auth"));
      EXPECT_EQ(FlagValue(args, "--authfile"), "");
    }
  }

  // Runs every pod; checks each one's report (file and last stdout line)
  // and returns the archives each report names (file names).
  std::multiset<std::string> RunAllPods(const YAML::Node& job, int shards) {
    std::multiset<std::string> imported;
    for (int index = 0; index < shards; ++index) {
      SCOPED_TRACE("pod " + std::to_string(index));
      PodRun pod = RunPod(job, index, cluster_);
      if (pod.has_init) {
        EXPECT_EQ(pod.init.exit_code, 0) << Output(pod.init);
      }
      EXPECT_TRUE(pod.main_ran);
      if (!pod.main_ran) continue;
      EXPECT_EQ(pod.main.exit_code, 0) << Output(pod.main);
      ExpectReportKept(pod);
      auto j = nlohmann::json::parse(test::ReadFileOr(pod.report_file), nullptr, false);
      if (!j.is_object()) continue;
      for (const auto& a : j["archives"]) {
        // URL mode names files NNNNNN-<name>; the PVC mode the name itself.
        std::string name = fs::path(a["archive"].get<std::string>()).filename().string();
        imported.insert(std::regex_replace(name, std::regex("^[0-9]{6}-"), ""));
        EXPECT_EQ(a["status"], "ok") << a.dump();
      }
    }
    return imported;
  }

  // The report is on the reports folder as <release>-<index>.json and is the
  // last line of stdout, the same JSON.
  void ExpectReportKept(const PodRun& pod) {
    EXPECT_EQ(pod.report_file,
              reports_dir_ + "/" + kRelease + "-" + std::to_string(pod.index) + ".json");
    ASSERT_TRUE(fs::exists(pod.report_file)) << pod.report_file << "\n" << Output(pod.main);
    auto from_file = nlohmann::json::parse(test::ReadFileOr(pod.report_file), nullptr, false);
    ASSERT_FALSE(from_file.is_discarded());
    auto from_log = nlohmann::json::parse(LastLine(pod.main.stdout_text), nullptr, false);
    ASSERT_FALSE(from_log.is_discarded()) << "the log's last line is not JSON:\n"
                                          << Output(pod.main);
    EXPECT_EQ(from_log, from_file);
    EXPECT_EQ(from_log["exit_code"], pod.main.exit_code);
  }

  void ExpectEachOnce(const std::multiset<std::string>& imported,
                      const std::vector<std::string>& names) {
    EXPECT_EQ(imported, std::multiset<std::string>(names.begin(), names.end()));
  }

  std::string helm_;
  std::string archives_dir_ = dir_.Join("claims/archives");
  std::string reports_dir_ = dir_.Join("claims/reports");
  Cluster cluster_;
  int renders_ = 0;
};

TEST_F(KubernetesChartTest, LintStrictAndTemplateSucceed) {
  const nlohmann::json values = Values({{"archives", {{"claimName", kArchiveClaim}}},
                                        {"credentials", {{"secretName", kSecretName}}}});
  ProcessResult lint = Helm({"lint", "--strict"}, values);
  EXPECT_EQ(lint.exit_code, 0) << Output(lint);
  EXPECT_NE(lint.stdout_text.find("0 chart(s) failed"), std::string::npos) << Output(lint);
  // URL mode too.
  ProcessResult lint_urls = Helm(
      {"lint", "--strict"},
      Values({{"archives", {{"urls", {"https://a.example/a.tgz", "https://b.example/b.tgz"}}}}}));
  EXPECT_EQ(lint_urls.exit_code, 0) << Output(lint_urls);
}

TEST_F(KubernetesChartTest, RefusesValuesThatCannotRun) {
  struct Case {
    nlohmann::json values;
    std::string error;
  };
  const nlohmann::json both = {{"claimName", kArchiveClaim}, {"urls", {"https://a.example/a.tgz"}}};
  const Case cases[] = {
      {Values(), "archives.claimName"},            // no archives
      {Values({{"archives", both}}), "not both"},  // both
      {Values({{"archives", {{"claimName", kArchiveClaim}}}, {"registry", ""}}),
       "registry is required"},
      {Values({{"archives", {{"claimName", kArchiveClaim}}}, {"namespace", ""}}),
       "namespace is required"},
      {Values({{"archives", {{"claimName", kArchiveClaim}}}, {"reports", {{"claimName", ""}}}}),
       "reports.claimName is required"},
      {Values({{"archives", {{"claimName", kArchiveClaim}}}, {"shards", 0}}), "shards"},
      {Values({{"archives", {{"urls", {"ftp://a.example/a.tgz"}}}}}), "urls"},
      {Values({{"archives", {{"claimName", kArchiveClaim}}}, {"sharts", 2}}), "sharts"},
  };
  for (const auto& c : cases) {
    ProcessResult r = Helm({"template", kRelease}, c.values);
    EXPECT_NE(r.exit_code, 0) << c.values.dump() << "\n" << Output(r);
    EXPECT_NE(r.stderr_text.find(c.error), std::string::npos) << c.values.dump() << "\n"
                                                              << Output(r);
  }
}

TEST_F(KubernetesChartTest, OneShardsValueSetsCompletionsParallelismAndShardCount) {
  for (int shards : {1, 3, 4, 7}) {
    SCOPED_TRACE(shards);
    YAML::Node job =
        RenderJob(Values({{"archives", {{"claimName", kArchiveClaim}}}, {"shards", shards}}));
    ExpectJobShape(job, shards, /*url_mode=*/false, /*with_secret=*/false);
  }
  YAML::Node capped = RenderJob(Values(
      {{"archives", {{"claimName", kArchiveClaim}}}, {"shards", 10}, {"maxParallelism", 2}}));
  EXPECT_EQ(capped["spec"]["completions"].as<int>(), 10);
  EXPECT_EQ(capped["spec"]["parallelism"].as<int>(), 2);
}

TEST_F(KubernetesChartTest, RetriesAreCountedPerIndexWhenAsked) {
  YAML::Node job = RenderJob(Values({{"archives", {{"claimName", kArchiveClaim}}}}));
  EXPECT_EQ(job["spec"]["backoffLimit"].as<int>(), 6);
  EXPECT_FALSE(job["spec"]["backoffLimitPerIndex"]);
  YAML::Node per_index = RenderJob(Values({{"archives", {{"claimName", kArchiveClaim}}},
                                           {"backoffLimitPerIndex", 2},
                                           {"maxFailedIndexes", 1}}));
  EXPECT_EQ(per_index["spec"]["backoffLimitPerIndex"].as<int>(), 2);
  EXPECT_EQ(per_index["spec"]["maxFailedIndexes"].as<int>(), 1);
  EXPECT_FALSE(per_index["spec"]["backoffLimit"]);
  // Older clusters do not have it: refused, not ignored.
  ProcessResult old =
      Helm({"template", kRelease, "--kube-version", "1.28.0"},
           Values({{"archives", {{"claimName", kArchiveClaim}}}, {"backoffLimitPerIndex", 2}}));
  EXPECT_NE(old.exit_code, 0) << Output(old);
  EXPECT_NE(old.stderr_text.find("1.29"), std::string::npos) << Output(old);
}

// The statuses README's "Exit status" table gives 2 and 3 (a retry cannot
// help) fail the Job at once; 1 (an item failed; a re-run sends only what
// is missing) is retried; disruptions are not counted.
TEST_F(KubernetesChartTest, PodFailurePolicyFollowsTheReadmeExitStatuses) {
  auto readme = test::ReadFileToString(SourceRoot() + "/README.md");
  ASSERT_TRUE(readme.ok());
  size_t section = readme->find("\n### Exit status\n");
  ASSERT_NE(section, std::string::npos);
  std::string table = readme->substr(section, readme->find("\n### ", section + 1) - section);
  std::map<int, std::string> meaning;
  std::regex row(R"(\n\| (\d+) \| ([^|\n]*))");
  for (std::sregex_iterator it(table.begin(), table.end(), row), end; it != end; ++it) {
    meaning[std::stoi((*it)[1])] = (*it)[2];
  }
  ASSERT_TRUE(meaning.count(1) && meaning.count(2) && meaning.count(3)) << table;
  EXPECT_NE(meaning[1].find("failed"), std::string::npos) << meaning[1];
  EXPECT_NE(meaning[2].find("usage or configuration error"), std::string::npos) << meaning[2];
  EXPECT_NE(meaning[3].find("unreadable or unsafe"), std::string::npos) << meaning[3];
  EXPECT_EQ(kExitItemFailed, 1);
  EXPECT_EQ(kExitUsage, 2);
  EXPECT_EQ(kExitBadArchive, 3);

  YAML::Node job = RenderJob(Values({{"archives", {{"claimName", kArchiveClaim}}}}));
  const YAML::Node rules = job["spec"]["podFailurePolicy"]["rules"];
  ASSERT_TRUE(rules.IsSequence()) << YAML::Dump(job["spec"]);
  std::set<int> fail_job;
  bool ignores_disruption = false;
  for (const auto& rule : rules) {
    const std::string action = Str(rule["action"]);
    if (rule["onExitCodes"]) {
      EXPECT_EQ(Str(rule["onExitCodes"]["containerName"]), "ppa-import");
      EXPECT_EQ(Str(rule["onExitCodes"]["operator"]), "In");
      EXPECT_EQ(action, "FailJob");
      for (const auto& code : rule["onExitCodes"]["values"]) fail_job.insert(code.as<int>());
    }
    if (rule["onPodConditions"]) {
      EXPECT_EQ(Str(rule["onPodConditions"][0]["type"]), "DisruptionTarget");
      EXPECT_EQ(action, "Ignore");
      ignores_disruption = true;
    }
  }
  EXPECT_EQ(fail_job, (std::set<int>{kExitUsage, kExitBadArchive}));
  EXPECT_FALSE(fail_job.count(kExitItemFailed)) << "exit 1 must be retried";
  EXPECT_TRUE(ignores_disruption);
  EXPECT_GE(job["spec"]["backoffLimit"].as<int>(), 1) << "exit 1 needs retries";
  EXPECT_EQ(Str(job["spec"]["template"]["spec"]["restartPolicy"]), "Never")
      << "podFailurePolicy needs restartPolicy Never";
}

TEST_F(KubernetesChartTest, PvcModeThreeShardsEachArchiveImportedByOnePod) {
  const auto names = MakeArchives(5);
  YAML::Node job = RenderJob(Values({{"archives", {{"claimName", kArchiveClaim}}},
                                     {"credentials", {{"secretName", kSecretName}}},
                                     {"shards", 3}}));
  ExpectJobShape(job, 3, /*url_mode=*/false, /*with_secret=*/true);
  ExpectEachOnce(RunAllPods(job, 3), names);
  for (int k = 0; k < 5; ++k) {
    ExpectVerified("kube/app-" + std::to_string(k) + ":1.0", registry_->creds());
  }
  // The reports: one per index, nothing else on the volume.
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(reports_dir_)) files.insert(e.path().filename());
  EXPECT_EQ(files, (std::set<std::string>{"batch-0.json", "batch-1.json", "batch-2.json"}));
}

TEST_F(KubernetesChartTest, PvcModeOneShardImportsEverything) {
  const auto names = MakeArchives(3);
  YAML::Node job = RenderJob(Values({{"archives", {{"claimName", kArchiveClaim}}},
                                     {"credentials", {{"secretName", kSecretName}}},
                                     {"shards", 1}}));
  ExpectJobShape(job, 1, false, true);
  ExpectEachOnce(RunAllPods(job, 1), names);
}

// A pod whose shard holds no archive (more shards than archives) succeeds
// and still keeps a report, as every other pod does.
TEST_F(KubernetesChartTest, PvcModeMoreShardsThanArchivesEveryPodKeepsAReport) {
  const auto names = MakeArchives(2);
  YAML::Node job = RenderJob(Values({{"archives", {{"claimName", kArchiveClaim}}},
                                     {"credentials", {{"secretName", kSecretName}}},
                                     {"shards", 3}}));
  ExpectEachOnce(RunAllPods(job, 3), names);
  auto last =
      nlohmann::json::parse(test::ReadFileOr(reports_dir_ + "/batch-2.json"), nullptr, false);
  ASSERT_TRUE(last.is_object());
  EXPECT_TRUE(last["archives"].empty()) << last.dump();
}

TEST_F(KubernetesChartTest, WithoutTheSecretThePushIsRefusedAndRetried) {
  MakeArchives(1);
  YAML::Node job = RenderJob(Values({{"archives", {{"claimName", kArchiveClaim}}}, {"shards", 1}}));
  ExpectJobShape(job, 1, false, false);
  PodRun pod = RunPod(job, 0, cluster_);
  ASSERT_TRUE(pod.main_ran);
  EXPECT_EQ(pod.main.exit_code, 1) << "a refused login is exit 1 (retried)\n" << Output(pod.main);
  ExpectReportKept(pod);
}

TEST_F(KubernetesChartTest, UrlModeEachPodDownloadsAndImportsOnlyItsShare) {
  // Five archives served on loopback; listed out of order (the chart sorts).
  const auto names = MakeArchives(5);
  auto server = test::HostileHttpServer::Start(
      {.tls = false, .lifetime = std::chrono::seconds(240), .max_requests = 50});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::vector<test::HostileRoute> routes;
  nlohmann::json urls = nlohmann::json::array();
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    auto bytes = test::ReadFileToString(archives_dir_ + "/" + *it);
    ASSERT_TRUE(bytes.ok());
    routes.push_back({.method = "GET", .path_prefix = "/files/" + *it, .body = *bytes});
    urls.push_back((*server)->url() + "/files/" + *it + "?token=secret-token");
  }
  routes.push_back({.method = "", .path_prefix = "", .status = 404, .body = "not found"});
  (*server)->SetRoutes(routes);
  cluster_.claims.erase(kArchiveClaim);  // no archive claim in URL mode

  YAML::Node job = RenderJob(Values({{"archives", {{"urls", urls}}},
                                     {"credentials", {{"secretName", kSecretName}}},
                                     {"shards", 3}}));
  ExpectJobShape(job, 3, /*url_mode=*/true, /*with_secret=*/true);
  ExpectEachOnce(RunAllPods(job, 3), names);
  // Each URL fetched once, by the pod whose share it is.
  std::multiset<std::string> fetched;
  for (const auto& request : (*server)->Requests()) fetched.insert(request.path);
  std::multiset<std::string> expected;
  for (const auto& name : names) expected.insert("/files/" + name + "?token=secret-token");
  EXPECT_EQ(fetched, expected);
  for (int k = 0; k < 5; ++k) {
    ExpectVerified("kube/app-" + std::to_string(k) + ":1.0", registry_->creds());
  }
}

TEST_F(KubernetesChartTest, UrlModeAMissingFileFailsItsPodAndAnEmptyShardSucceeds) {
  const auto names = MakeArchives(1);
  auto server = test::HostileHttpServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto bytes = test::ReadFileToString(archives_dir_ + "/" + names[0]);
  ASSERT_TRUE(bytes.ok());
  (*server)->SetRoutes({{.method = "GET", .path_prefix = "/a-present.tgz", .body = *bytes},
                        {.method = "", .path_prefix = "", .status = 404, .body = "gone"}});
  // Sorted: a-present (pod 0), b-missing (pod 1); pod 2 has no URL.
  YAML::Node job = RenderJob(Values(
      {{"archives",
        {{"urls", {(*server)->url() + "/b-missing.tgz", (*server)->url() + "/a-present.tgz"}}}},
       {"credentials", {{"secretName", kSecretName}}},
       {"shards", 3}}));
  ExpectJobShape(job, 3, true, true);

  PodRun ok = RunPod(job, 0, cluster_);
  EXPECT_EQ(ok.init.exit_code, 0) << Output(ok.init);
  EXPECT_EQ(ok.main.exit_code, 0) << Output(ok.main);
  ExpectReportKept(ok);

  PodRun missing = RunPod(job, 1, cluster_);
  EXPECT_NE(missing.init.exit_code, 0) << "curl --fail on a 404\n" << Output(missing.init);
  EXPECT_FALSE(missing.main_ran);
  EXPECT_EQ(Output(missing.init).find("/b-missing.tgz"), std::string::npos)
      << "URLs (and their tokens) stay out of the log\n"
      << Output(missing.init);

  PodRun empty = RunPod(job, 2, cluster_);
  EXPECT_EQ(empty.init.exit_code, 0) << Output(empty.init);
  EXPECT_EQ(empty.main.exit_code, 0) << Output(empty.main);
  ExpectReportKept(empty);
  auto j = nlohmann::json::parse(LastLine(empty.main.stdout_text), nullptr, false);
  ASSERT_TRUE(j.is_object()) << Output(empty.main);
  EXPECT_TRUE(j["archives"].empty()) << j.dump();
  EXPECT_EQ(j["exit_code"], 0) << j.dump();
}

// Values the API server rejects are refused when the chart renders, with
// the value named: maxFailedIndexes above the number of indexes (the
// review's --set example), and maxFailedIndexes without backoffLimitPerIndex
// (it used to be dropped silently).
TEST_F(KubernetesChartTest, MaxFailedIndexesTheApiServerWouldRejectIsRefused) {
  const nlohmann::json pvc = {{"archives", {{"claimName", kArchiveClaim}}}};
  struct Case {
    std::vector<std::string> sets;
    std::string error;  // "" = renders
  };
  const Case cases[] = {
      {{"backoffLimitPerIndex=1", "maxFailedIndexes=9", "shards=2"}, "maxFailedIndexes (9)"},
      {{"backoffLimitPerIndex=0", "maxFailedIndexes=4", "shards=3"}, "maxFailedIndexes (4)"},
      {{"maxFailedIndexes=1"}, "backoffLimitPerIndex"},
      {{"maxFailedIndexes=0", "shards=2"}, "backoffLimitPerIndex"},
      {{"backoffLimitPerIndex=1", "maxFailedIndexes=2", "shards=2"}, ""},  // the bound itself
      {{"backoffLimitPerIndex=1", "maxFailedIndexes=0", "shards=1"}, ""},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"template", kRelease};
    for (const auto& s : c.sets) args.insert(args.end(), {"--set", s});
    SCOPED_TRACE(::testing::PrintToString(c.sets));
    ProcessResult r = Helm(args, Values(pvc));
    if (c.error.empty()) {
      EXPECT_EQ(r.exit_code, 0) << Output(r);
      continue;
    }
    EXPECT_NE(r.exit_code, 0) << Output(r);
    EXPECT_NE(r.stderr_text.find(c.error), std::string::npos) << Output(r);
  }
}

// The minimum Kubernetes version is that of the newest feature the chart
// and its notes need: the pod label batch.kubernetes.io/job-completion-index
// (Kubernetes 1.28) that NOTES.txt and the README select pods by. Chart.yaml
// says it, helm refuses older clusters, and the README states it.
TEST_F(KubernetesChartTest, KubeVersionCoversThePodIndexLabelTheNotesSelectBy) {
  auto chart = test::ReadFileToString(ChartDir() + "/Chart.yaml");
  auto notes = test::ReadFileToString(ChartDir() + "/templates/NOTES.txt");
  auto readme = test::ReadFileToString(SourceRoot() + "/README.md");
  ASSERT_TRUE(chart.ok() && notes.ok() && readme.ok());
  const std::string kube_version = Str(YAML::Load(*chart)["kubeVersion"]);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(kube_version, m, std::regex(R"(>=1\.(\d+)\.0-0)"))) << kube_version;
  const int minor = std::stoi(m[1]);
  const std::string label = "batch.kubernetes.io/job-completion-index=";
  const size_t section = readme->find("\n### Batches and Kubernetes\n");
  ASSERT_NE(section, std::string::npos);
  const std::string text = readme->substr(section, readme->find("\n## ", section) - section);
  if (notes->find(label) != std::string::npos || text.find(label) != std::string::npos) {
    EXPECT_GE(minor, 28) << "pods carry the label " << label << " from Kubernetes 1.28";
  }
  EXPECT_NE(text.find("Kubernetes 1." + std::to_string(minor) + " or later"), std::string::npos)
      << "the README states the minimum version";
  const nlohmann::json values = Values({{"archives", {{"claimName", kArchiveClaim}}}});
  const std::string oldest = "1." + std::to_string(minor) + ".0";
  const std::string older = "1." + std::to_string(minor - 1) + ".15";
  ProcessResult ok = Helm({"template", kRelease, "--kube-version", oldest}, values);
  EXPECT_EQ(ok.exit_code, 0) << Output(ok);
  ProcessResult refused = Helm({"template", kRelease, "--kube-version", older}, values);
  EXPECT_NE(refused.exit_code, 0) << Output(refused);
  EXPECT_NE(refused.stderr_text.find("kubeVersion"), std::string::npos) << Output(refused);
}

// Both PersistentVolumeClaims are read or written by pods on several nodes:
// values.yaml and the README say which access mode each one needs.
TEST_F(KubernetesChartTest, ValuesAndReadmeNameTheAccessModeOfEveryClaim) {
  auto values = test::ReadFileToString(ChartDir() + "/values.yaml");
  auto readme = test::ReadFileToString(SourceRoot() + "/README.md");
  ASSERT_TRUE(values.ok() && readme.ok());
  const size_t section = readme->find("\n### Batches and Kubernetes\n");
  ASSERT_NE(section, std::string::npos);
  // White space collapsed: a phrase may be wrapped.
  const std::string text = std::regex_replace(
      readme->substr(section, readme->find("\n## ", section) - section), std::regex(R"(\s+)"), " ");
  // The comment block of each claim: from the end of the previous key to
  // the key itself.
  auto comment_before = [&](const std::string& doc, const std::string& key) {
    size_t at = doc.find(key);
    EXPECT_NE(at, std::string::npos) << key;
    if (at == std::string::npos) return std::string();
    std::string comment;
    for (size_t end = at; end > 0;) {  // `end` is at the newline ending a line
      size_t start = doc.rfind('\n', end - 1);
      start = start == std::string::npos ? 0 : start + 1;
      const std::string line = doc.substr(start, end - start);
      if (line.find_first_not_of(' ') == std::string::npos ||
          line[line.find_first_not_of(' ')] != '#')
        break;
      comment = line + "\n" + comment;
      end = start == 0 ? 0 : start - 1;
    }
    return comment;
  };
  const std::string archives = comment_before(*values, "\n  claimName: \"\"\n  # Or a list");
  EXPECT_NE(archives.find("ReadOnlyMany"), std::string::npos) << archives;
  EXPECT_NE(archives.find("ReadWriteMany"), std::string::npos) << archives;
  const std::string reports = comment_before(*values, "\nreports:\n");
  EXPECT_NE(reports.find("ReadWriteMany"), std::string::npos) << reports;
  // The README: the bullet of each claim names its mode(s).
  auto bullet = [&](const std::string& start) {
    size_t at = text.find(" - **" + start);
    EXPECT_NE(at, std::string::npos) << start;
    return at == std::string::npos ? std::string()
                                   : text.substr(at, text.find(" - **", at + 1) - at);
  };
  const std::string archives_bullet = bullet("Archives**");
  EXPECT_NE(archives_bullet.find("ReadOnlyMany or ReadWriteMany"), std::string::npos)
      << archives_bullet;
  const std::string reports_bullet = bullet("Reports are kept**");
  EXPECT_NE(reports_bullet.find("ReadWriteMany"), std::string::npos) << reports_bullet;
}

// values.yaml's comment, the schema and the downloader agree on the URL
// schemes: http:// and https:// (curl --proto '=https,http'); others are
// refused by the schema.
TEST_F(KubernetesChartTest, UrlSchemesOfTheCommentTheSchemaAndCurlAgree) {
  auto values = test::ReadFileToString(ChartDir() + "/values.yaml");
  auto script = test::ReadFileToString(ChartDir() + "/templates/download-script.tpl");
  ASSERT_TRUE(values.ok() && script.ok());
  EXPECT_NE(script->find("--proto '=https,http'"), std::string::npos);
  const size_t urls = values->find("\n  urls: []");
  ASSERT_NE(urls, std::string::npos);
  const size_t from = values->rfind("claimName", urls);
  const std::string comment = values->substr(from, urls - from);
  EXPECT_NE(comment.find("http://"), std::string::npos) << comment;
  EXPECT_NE(comment.find("https://"), std::string::npos) << comment;
  EXPECT_NE(comment.find("http:// or https:// URLs"), std::string::npos) << comment;
  auto readme = test::ReadFileToString(SourceRoot() + "/README.md");
  ASSERT_TRUE(readme.ok());
  const size_t section = readme->find("\n### Batches and Kubernetes\n");
  ASSERT_NE(section, std::string::npos);
  const std::string text = std::regex_replace(
      readme->substr(section, readme->find("\n## ", section) - section), std::regex(R"(\s+)"), " ");
  EXPECT_NE(text.find("`http://` or `https://` URLs"), std::string::npos) << text;
  for (const std::string url : {"http://a.example/a.tgz", "https://a.example/a.tgz"}) {
    ProcessResult r = Helm({"template", kRelease}, Values({{"archives", {{"urls", {url}}}}}));
    EXPECT_EQ(r.exit_code, 0) << url << "\n" << Output(r);
  }
  for (const std::string url : {"ftp://a.example/a.tgz", "file:///etc/passwd", "a.example/a"}) {
    ProcessResult r = Helm({"template", kRelease}, Values({{"archives", {{"urls", {url}}}}}));
    EXPECT_NE(r.exit_code, 0) << url << "\n" << Output(r);
  }
}

// Values that may be all digits (a namespace "2024", an image tag, the
// names of Kubernetes objects, a flag's value in extraArgs) are numbers to
// `--set` and to YAML; the chart accepts them and renders them as the
// strings the API server needs.
TEST_F(KubernetesChartTest, AllDigitValuesAreRenderedAsStrings) {
  cluster_.claims["42"] = archives_dir_;
  cluster_.claims["77"] = reports_dir_;
  cluster_.secrets["123"] = cluster_.secrets[kSecretName];
  MakeArchives(1);
  auto check = [&](const YAML::Node& job) {
    const YAML::Node pod = job["spec"]["template"]["spec"];
    const YAML::Node main = ContainerNamed(pod["containers"], "ppa-import");
    EXPECT_EQ(Str(main["image"]), "registry.example.com/tools/ppa-import:2024");
    std::map<std::string, YAML::Node> env;
    for (const auto& e : main["env"]) env.emplace(Str(e["name"]), YAML::Node(e["value"]));
    // A quoted scalar: yaml-cpp tags it "!", a plain one "?".
    EXPECT_EQ(Str(env["PPA_IMPORT_NAMESPACE"]), "2024");
    EXPECT_EQ(env["PPA_IMPORT_NAMESPACE"].Tag(), "!");
    EXPECT_EQ(Str(env["PPA_IMPORT_TIMEOUT"]), "60");
    EXPECT_EQ(env["PPA_IMPORT_TIMEOUT"].Tag(), "!");
    const auto args = Strings(main["args"]);
    EXPECT_EQ(std::count(args.begin(), args.end(), "60"), 1) << YAML::Dump(main["args"]);
    for (const auto& a : main["args"]) {
      if (Str(a) == "60") {
        EXPECT_EQ(a.Tag(), "!");
      }
    }
    std::map<std::string, YAML::Node> volumes;
    for (const auto& v : pod["volumes"]) volumes.emplace(Str(v["name"]), YAML::Node(v));
    for (const auto& [volume, name] :
         std::map<std::string, std::string>{{"archives", "42"}, {"reports", "77"}}) {
      const YAML::Node claim = volumes[volume]["persistentVolumeClaim"]["claimName"];
      EXPECT_EQ(Str(claim), name);
      EXPECT_EQ(claim.Tag(), "!") << volume;
    }
    const YAML::Node secret = volumes["registry-auth"]["secret"]["secretName"];
    EXPECT_EQ(Str(secret), "123");
    EXPECT_EQ(secret.Tag(), "!");
  };
  // --set makes them int64.
  ProcessResult set =
      Helm({"template", kRelease, "--set", "namespace=2024", "--set", "image.tag=2024", "--set",
            "archives.claimName=42", "--set", "reports.claimName=77", "--set",
            "credentials.secretName=123", "--set", "extraArgs={--plain-http,--timeout,60}", "--set",
            "env[0].name=PPA_IMPORT_TIMEOUT", "--set", "env[0].value=60"},
           Values({{"extraArgs", nlohmann::json::array()}}));
  ASSERT_EQ(set.exit_code, 0) << Output(set);
  YAML::Node job;
  for (const auto& doc : YAML::LoadAll(set.stdout_text)) {
    if (doc && Str(doc["kind"]) == "Job") job = doc;
  }
  ASSERT_TRUE(job) << set.stdout_text;
  check(job);
  // A values file makes them float64 (JSON numbers).
  YAML::Node from_file =
      RenderJob(Values({{"namespace", 2024},
                        {"image", {{"tag", 2024}}},
                        {"archives", {{"claimName", 42}}},
                        {"reports", {{"claimName", 77}}},
                        {"credentials", {{"secretName", 123}}},
                        {"extraArgs", {"--plain-http", "--timeout", 60}},
                        {"env", {{{"name", "PPA_IMPORT_TIMEOUT"}, {"value", 60}}}}}));
  check(from_file);
  // A number too long for a float64 to keep is refused, not mangled.
  ProcessResult long_number = Helm(
      {"template", kRelease},
      Values({{"archives", {{"claimName", kArchiveClaim}}}, {"namespace", 12345678901234567}}));
  EXPECT_NE(long_number.exit_code, 0) << Output(long_number);
  EXPECT_NE(long_number.stderr_text.find("namespace"), std::string::npos) << Output(long_number);
  // And the namespace "2024" imports (the tool allows a leading digit).
  PodRun pod = RunPod(from_file, 0, cluster_);
  ASSERT_TRUE(pod.main_ran);
  EXPECT_EQ(pod.main.exit_code, 0) << Output(pod.main);
  EXPECT_NE(pod.main.stdout_text.find("/2024/kube/app-0"), std::string::npos) << Output(pod.main);
}

// The kubelet expands $(NAME) of the container's variables and turns $$
// into $ in command, args and env values. Every value a user gives the chart
// for those places arrives as written: URLs, registry, namespace,
// extraArgs, env values.
TEST_F(KubernetesChartTest, DollarSignsInUserValuesArriveAsWritten) {
  const std::string tricky = "$(JOB_COMPLETION_INDEX)$(HOME)$(SHARD_COUNT)$$x$";
  const std::string url = "https://a.example/a.tgz?q=" + tricky;
  const std::string registry = "r.example/p" + tricky;
  const std::string ns = "ns" + tricky;
  const std::string arg = "--namespace-rules=^a$" + tricky;
  const std::string env_value = "v" + tricky;
  YAML::Node job = RenderJob(Values({{"archives", {{"urls", {url}}}},
                                     {"registry", registry},
                                     {"namespace", ns},
                                     {"extraArgs", {arg}},
                                     {"env", {{{"name", "EXTRA"}, {"value", env_value}}}}}));
  const YAML::Node pod = job["spec"]["template"]["spec"];
  for (const std::string container : {"download", "ppa-import"}) {
    SCOPED_TRACE(container);
    const YAML::Node c = ContainerNamed(
        container == "download" ? pod["initContainers"] : pod["containers"], container);
    ASSERT_TRUE(c.IsDefined() && !c.IsNull());
    std::map<std::string, std::string> defined = {{"JOB_COMPLETION_INDEX", "0"}};
    std::map<std::string, std::string> env;
    for (const auto& e : c["env"]) {
      if (e["valueFrom"]) continue;  // the index: "0" above
      env[Str(e["name"])] = ExpandKubeletVars(Str(e["value"]), defined);
      defined[Str(e["name"])] = env[Str(e["name"])];
    }
    std::vector<std::string> argv = Strings(c["command"]);
    for (const auto& a : Strings(c["args"])) argv.push_back(a);
    for (auto& a : argv) a = ExpandKubeletVars(a, defined);
    if (container == "download") {
      EXPECT_NE(std::find(argv.begin(), argv.end(), url), argv.end()) << url;
      // The chart's own script has nothing the kubelet would change.
      EXPECT_EQ(argv.at(2), Strings(c["command"]).at(2));
    } else {
      EXPECT_EQ(env["PPA_IMPORT_REGISTRY"], registry);
      EXPECT_EQ(env["PPA_IMPORT_NAMESPACE"], ns);
      EXPECT_EQ(env["EXTRA"], env_value);
      EXPECT_NE(std::find(argv.begin(), argv.end(), arg), argv.end()) << arg;
      // The chart's own reference is still expanded.
      EXPECT_EQ(FlagValues(argv, "--json").at(0), "/reports/batch-0.json");
    }
  }
}

// End to end: a URL whose query holds $(HOME), $(SHARD_COUNT) and $$
// reaches the server exactly as written, through the kubelet's expansion,
// the init container's script and curl.
TEST_F(KubernetesChartTest, UrlModeAUrlWithDollarSignsReachesCurlUnchanged) {
  const auto names = MakeArchives(1);
  auto server = test::HostileHttpServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto bytes = test::ReadFileToString(archives_dir_ + "/" + names[0]);
  ASSERT_TRUE(bytes.ok());
  (*server)->SetRoutes({{.method = "GET", .path_prefix = "/files/", .body = *bytes},
                        {.method = "", .path_prefix = "", .status = 404, .body = "gone"}});
  const std::string path = "/files/" + names[0] + "?a=$(HOME)&b=$$&c=$(SHARD_COUNT)&d=$$(HOME)";
  cluster_.claims.erase(kArchiveClaim);
  YAML::Node job = RenderJob(Values({{"archives", {{"urls", {(*server)->url() + path}}}},
                                     {"credentials", {{"secretName", kSecretName}}},
                                     {"shards", 1}}));
  PodRun pod = RunPod(job, 0, cluster_);
  EXPECT_EQ(pod.init.exit_code, 0) << Output(pod.init);
  EXPECT_EQ(pod.main.exit_code, 0) << Output(pod.main);
  std::vector<std::string> fetched;
  for (const auto& request : (*server)->Requests()) fetched.push_back(request.path);
  EXPECT_EQ(fetched, std::vector<std::string>{path});
}

// With backoffLimitPerIndex, an unsafe archive (exit 3) fails only its
// index (FailIndex: the other shards go on; the Job ends failed); a usage
// error (exit 2) is the same for every pod and still fails the Job. Without
// it, FailIndex is not allowed: both fail the Job.
TEST_F(KubernetesChartTest, PerIndexAnUnsafeArchiveFailsOnlyItsIndex) {
  auto actions = [](const YAML::Node& job) {
    std::map<int, std::string> by_code;
    for (const auto& rule : job["spec"]["podFailurePolicy"]["rules"]) {
      if (!rule["onExitCodes"]) continue;
      EXPECT_EQ(Str(rule["onExitCodes"]["containerName"]), "ppa-import");
      EXPECT_EQ(Str(rule["onExitCodes"]["operator"]), "In");
      for (const auto& code : rule["onExitCodes"]["values"]) {
        EXPECT_FALSE(by_code.count(code.as<int>())) << "one rule per exit code";
        by_code[code.as<int>()] = Str(rule["action"]);
      }
    }
    return by_code;
  };
  const nlohmann::json pvc = {{"archives", {{"claimName", kArchiveClaim}}}};
  EXPECT_EQ(actions(RenderJob(Values(pvc))),
            (std::map<int, std::string>{{kExitUsage, "FailJob"}, {kExitBadArchive, "FailJob"}}));
  nlohmann::json per_index = Values(pvc);
  per_index["backoffLimitPerIndex"] = 1;
  EXPECT_EQ(actions(RenderJob(per_index)),
            (std::map<int, std::string>{{kExitUsage, "FailJob"}, {kExitBadArchive, "FailIndex"}}));
}

// samples/kubernetes/batch-import.sh, the cron variant, as its comment
// says to run it: credentials and registry from the environment.
class BatchImportScriptTest : public test::LoadFixture {
 protected:
  void SetUp() override { StartRegistry({kUser, kPassword}); }
};

TEST_F(BatchImportScriptTest, ImportsADirectoryAndKeepsTheNightsReport) {
  const std::string archives = dir_.Join("ppa");
  fs::create_directories(archives);
  for (int k = 0; k < 2; ++k) {
    Status s =
        samples::WritePpaArchive(SmallArchive(k), archives + "/app-" + std::to_string(k) + ".tgz");
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  const std::string bin = dir_.Join("bin");
  fs::create_directories(bin);
  fs::create_symlink(PPA_IMPORT_BINARY, bin + "/ppa-import");
  const char* path = std::getenv("PATH");
  ProcessResult r = test::RunProcess(
      {"bash", SourceRoot() + "/samples/kubernetes/batch-import.sh", archives, "test_ns"},
      std::nullopt,
      {{"PATH", bin + ":" + (path ? path : "/usr/bin:/bin")},
       {"HOME", dir_.path()},
       {"PPA_IMPORT_REGISTRY", registry_->host()},
       {"PPA_IMPORT_PLAIN_HTTP", "true"},
       {"PPA_IMPORT_USERNAME", kUser},
       {"PPA_IMPORT_PASSWORD", kPassword}},
      dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  std::vector<std::string> reports;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    if (std::regex_match(e.path().filename().string(),
                         std::regex(R"(ppa-import-[0-9]{8}\.json)"))) {
      reports.push_back(e.path());
    }
  }
  ASSERT_EQ(reports.size(), 1u) << Output(r);
  auto from_file = nlohmann::json::parse(test::ReadFileOr(reports[0]), nullptr, false);
  EXPECT_EQ(from_file["archives"].size(), 2u) << from_file.dump();
  EXPECT_EQ(nlohmann::json::parse(LastLine(r.stdout_text), nullptr, false), from_file) << Output(r);
  ExpectVerified("kube/app-1:1.0", registry_->creds());
}

}  // namespace
}  // namespace ppa
