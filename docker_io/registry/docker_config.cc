#include "docker_io/registry/docker_config.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "base/ascii.h"
#include "docker_io/image/digest.h"

extern char** environ;

namespace ppa {
namespace {

constexpr size_t kMaxHelperOutput = 1 << 20;

std::string StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Credentials of one `auths` entry; empty when it holds none.
Result<Credentials> EntryCredentials(const nlohmann::json& entry) {
  Credentials out;
  if (!entry.is_object()) return out;
  std::string auth = StringField(entry, "auth");
  if (!auth.empty()) {
    std::optional<std::string> decoded = Base64Decode(auth);
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return InvalidInput("the 'auth' value of a registry entry is not base64 of "
                          "user:password",
                          "log in again (`podman login`, `docker login`) or fix the entry");
    }
    out.username = decoded->substr(0, colon);
    out.password = decoded->substr(colon + 1);
  }
  if (out.username.empty()) out.username = StringField(entry, "username");
  if (out.password.empty()) out.password = StringField(entry, "password");
  out.identity_token = StringField(entry, "identitytoken");
  return out;
}

// The key of `object` whose normalized form (NormalizeAuthKey) is `wanted`,
// and its value; nullptr when there is none.
const nlohmann::json* FindKey(const nlohmann::json& object, std::string_view wanted,
                              std::string* key) {
  if (!object.is_object()) return nullptr;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (NormalizeAuthKey(it.key()) == wanted) {
      *key = it.key();
      return &it.value();
    }
  }
  return nullptr;
}

std::string ConfigPath() {
  const char* dir = std::getenv("DOCKER_CONFIG");
  if (dir != nullptr && *dir != '\0') return std::string(dir) + "/config.json";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return {};
  return std::string(home) + "/.docker/config.json";
}

struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

// Runs argv with `input` on stdin; returns stdout. stderr is discarded (a
// helper may print secrets-adjacent text there; it is never shown).
Result<std::string> RunCapture(const std::vector<std::string>& argv, const std::string& input,
                               int* exit_code) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe", argv[0], errno);
  Fd in_read{in_pipe[0]}, in_write{in_pipe[1]};
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe", argv[0], errno);
  Fd out_read{out_pipe[0]}, out_write{out_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return NotFound("credential helper " + argv[0] + " cannot be run: " + std::strerror(rc),
                    "install " + argv[0] + " in PATH, or remove it from credHelpers / "
                    "credsStore in the auth file");
  }
  in_read.Close();
  out_write.Close();
  // The input is one host name: it fits in the pipe buffer, no deadlock. A
  // helper that exits without reading must not kill us with SIGPIPE.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t written = write(in_write.fd, input.data(), input.size());
  if (written < 0 && errno == EPIPE) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);  // drop the pending SIGPIPE
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  in_write.Close();
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = read(out_read.fd, buffer, sizeof buffer)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (output.size() < kMaxHelperOutput) output.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return output;
}

}  // namespace

std::string NormalizeRegistryHost(std::string_view server) {
  std::string s = AsciiLower(server);
  size_t scheme = s.find("://");
  if (scheme != std::string::npos) s.erase(0, scheme + 3);
  s = s.substr(0, s.find('/'));
  if (s == "index.docker.io" || s == "registry-1.docker.io" || s == "registry.hub.docker.com") {
    return "docker.io";
  }
  return s;
}

std::string NormalizeAuthKey(std::string_view key) {
  if (key.find("://") != std::string_view::npos) return NormalizeRegistryHost(key);
  std::string_view path;
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) path = key.substr(slash);
  std::string out = NormalizeRegistryHost(key.substr(0, slash));
  out += path;
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

std::vector<std::string> AuthKeysFor(std::string_view repository) {
  std::string key = NormalizeAuthKey(repository);
  std::vector<std::string> out;
  while (!key.empty()) {
    out.push_back(key);
    size_t slash = key.rfind('/');
    if (slash == std::string::npos) break;
    key.resize(slash);
  }
  return out;
}

Result<DockerConfigEntry> LookupAuthConfig(std::string_view json, std::string_view repository) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidInput("not a JSON object as auth files are",
                        "fix the file, or log in again (`podman login`, `docker login`)");
  }
  const std::vector<std::string> keys = AuthKeysFor(repository);
  DockerConfigEntry out;
  if (keys.empty()) return out;
  std::string key;
  auto helpers = doc.find("credHelpers");
  if (helpers != doc.end()) {
    if (const nlohmann::json* helper = FindKey(*helpers, keys.back(), &key);
        helper != nullptr && helper->is_string() && !helper->get<std::string>().empty()) {
      out.kind = DockerConfigEntry::Kind::kHelper;
      out.helper = helper->get<std::string>();
      out.matched = "credHelpers '" + key + "'";
      return out;
    }
  }
  auto auths = doc.find("auths");
  if (auths != doc.end()) {
    for (const std::string& wanted : keys) {
      const nlohmann::json* entry = FindKey(*auths, wanted, &key);
      if (entry == nullptr) continue;
      Result<Credentials> creds = EntryCredentials(*entry);
      if (!creds.ok()) return creds.status().WithContext("auths '" + key + "'");
      if (creds->empty()) continue;
      out.kind = DockerConfigEntry::Kind::kInline;
      out.credentials = std::move(creds).value();
      out.matched = "auths '" + key + "'";
      return out;
    }
  }
  std::string store = StringField(doc, "credsStore");
  if (!store.empty()) {
    out.kind = DockerConfigEntry::Kind::kHelper;
    out.helper = store;
    out.matched = "credsStore";
  }
  return out;
}

Result<DockerConfigEntry> LookupDockerConfig(std::string_view json, std::string_view host) {
  return LookupAuthConfig(json, NormalizeRegistryHost(host));
}

Result<Credentials> ParseCredentialHelperOutput(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidInput("credential helper output is not a JSON object");
  }
  std::string user = StringField(doc, "Username");
  std::string secret = StringField(doc, "Secret");
  if (secret.empty()) return InvalidInput("credential helper output has no 'Secret'");
  if (user == "<token>") return Credentials{"", "", secret};
  return Credentials{user, secret};
}

Result<Credentials> RunCredentialHelper(const std::string& helper, const std::string& server) {
  const std::string program = "docker-credential-" + helper;
  if (helper.empty() || helper.find('/') != std::string::npos) {
    return InvalidInput("credential helper " + program + ": the name must not be empty or "
                        "contain '/'",
                        "fix credHelpers / credsStore in the auth file");
  }
  int exit_code = -1;
  PPA_ASSIGN_OR_RETURN(std::string output, RunCapture({program, "get"}, server, &exit_code));
  if (exit_code != 0) {
    // "credentials not found in native keychain" and the like: no credentials.
    if (output.find("not found") != std::string::npos) return Credentials{};
    return IoError("credential helper " + program + " failed: `" + program +
                       " get` exited with status " + std::to_string(exit_code),
                   "check the helper with `" + program + " list`, or log in again");
  }
  Result<Credentials> creds = ParseCredentialHelperOutput(output);
  if (!creds.ok()) {
    return IoError("credential helper " + program + " failed: " + creds.status().message(),
                   "check the helper with `" + program + " list`, or log in again");
  }
  return creds;
}

std::string HelperServerName(std::string_view host) {
  std::string server = NormalizeRegistryHost(host);
  return server == "docker.io" ? "https://index.docker.io/v1/" : server;
}

Result<std::optional<DockerConfigEntry>> LoadAuthFile(const std::string& path,
                                                      std::string_view repository,
                                                      const CredentialHelperFn& run_helper) {
  std::ifstream in(path);
  if (!in) return std::optional<DockerConfigEntry>();  // no such file
  std::stringstream text;
  text << in.rdbuf();
  Result<DockerConfigEntry> entry = LookupAuthConfig(text.str(), repository);
  if (!entry.ok()) return entry.status().WithContext("auth file '" + path + "'");
  if (entry->kind == DockerConfigEntry::Kind::kNone) return std::optional<DockerConfigEntry>();
  if (entry->kind == DockerConfigEntry::Kind::kHelper) {
    std::string host(repository.substr(0, repository.find('/')));
    Result<Credentials> creds = run_helper(entry->helper, HelperServerName(host));
    if (!creds.ok()) {  // the helper's failure, named first, then where it was configured
      const Status& failed = creds.status();
      return Status(failed.code(),
                    failed.message() + " (" + entry->matched + " in '" + path + "')",
                    failed.hint());
    }
    if (creds->empty()) return std::optional<DockerConfigEntry>();
    entry->credentials = std::move(creds).value();
  }
  return std::optional<DockerConfigEntry>(std::move(entry).value());
}

Result<Credentials> LoadDockerCredentials(const std::string& host) {
  const std::string path = ConfigPath();
  if (path.empty()) return Credentials{};
  PPA_ASSIGN_OR_RETURN(std::optional<DockerConfigEntry> entry,
                       LoadAuthFile(path, NormalizeRegistryHost(host), RunCredentialHelper));
  return entry ? entry->credentials : Credentials{};
}

}  // namespace ppa
