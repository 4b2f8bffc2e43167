#include "tests/support/gnupg.h"

#include <sys/stat.h>

#include <sstream>

#include "tests/support/skopeo.h"

namespace ppa::test {

TestKeyring::TestKeyring() : home_(dir_.Join("gnupg")) {
  mkdir(home_.c_str(), 0700);
}

TestKeyring::~TestKeyring() {
  RunProcess({"gpgconf", "--kill", "gpg-agent"}, std::nullopt, env());
}

ProcessResult TestKeyring::Gpg(const std::vector<std::string>& args,
                               const std::optional<std::string>& stdin_data) const {
  std::vector<std::string> argv = {"gpg", "--batch", "--no-tty"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, stdin_data, env());
}

Result<std::string> TestKeyring::AddKey(const std::string& email, const std::string& passphrase) {
  ProcessResult made = Gpg({"--pinentry-mode", "loopback", "--passphrase", passphrase,
                            "--quick-gen-key", "Test <" + email + ">", "ed25519", "sign", "never"});
  if (made.exit_code != 0) return IoError("gpg --quick-gen-key failed: " + made.stderr_text);
  ProcessResult listed = Gpg({"--with-colons", "--list-secret-keys", email});
  if (listed.exit_code != 0) return IoError("gpg --list-secret-keys failed: " + listed.stderr_text);
  std::istringstream lines(listed.stdout_text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("fpr:", 0) != 0) continue;
    // fpr:::::::::FINGERPRINT:
    size_t end = line.rfind(':');
    size_t start = line.rfind(':', end - 1);
    return line.substr(start + 1, end - start - 1);
  }
  return NotFound("no fingerprint for " + email + " in: " + listed.stdout_text);
}

Status TestKeyring::ExportPublic(const std::string& fingerprint, const std::string& path) {
  ProcessResult r = Gpg({"--output", path, "--export", fingerprint});
  if (r.exit_code != 0) return IoError("gpg --export failed: " + r.stderr_text);
  return Status::Ok();
}

Status SkopeoCopyWithPolicy(const std::string& ref, const std::string& policy_json,
                            const std::string& registries_d, bool all) {
  TempDir work("ppa-skopeo-verify");
  const std::string policy = work.Join("policy.json");
  PPA_RETURN_IF_ERROR(WriteStringToFile(policy, policy_json));
  // The later --policy wins over the permissive one RunSkopeo puts first.
  std::vector<std::string> args = {"--policy", policy};
  if (!registries_d.empty()) args.insert(args.end(), {"--registries.d", registries_d});
  args.insert(args.end(), {"copy", "--quiet", "--src-tls-verify=false"});
  if (all) args.push_back("--all");
  args.insert(args.end(), {ref, "dir:" + work.Join("img")});
  ProcessResult r = RunSkopeo(args);
  if (r.exit_code != 0) return InvalidInput("skopeo refused " + ref + ": " + r.stderr_text);
  return Status::Ok();
}

std::string SignedByPolicy(const std::string& key_path) {
  return R"({"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":")" + key_path +
         R"("}]})";
}

}  // namespace ppa::test
