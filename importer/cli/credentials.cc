#include "importer/cli/credentials.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <utility>

#include "base/ascii.h"
#include "importer/cli/interrupt.h"
#include "importer/load/pipeline.h"

namespace ppa {
namespace {

// One line of `in` without its line ending.
std::string ReadLine(std::istream& in) {
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}


// "--username (user 'bob', password from PPA_IMPORT_PASSWORD)".
std::string DescribeFlagSource(const std::string& user_from, const std::string& user,
                               const std::string& password_from) {
  return user_from + " (user '" + user + "', password from " + password_from + ")";
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// The hint for a user name that has no password source.
constexpr const char* kPasswordSourcesHint =
    "pass the password with --password-stdin (e.g. `printf '%s\\n' \"$PASS\" | ppa-import ... "
    "--password-stdin`), set PPA_IMPORT_PASSWORD, or use --creds USER:PASSWORD; on a terminal "
    "ppa-import asks for it";

// The password for `user` when no flag or variable gave one: asked on a
// terminal, a usage error elsewhere.
Result<std::string> AskPassword(const std::string& user, const std::string& host,
                                const std::string& user_from, const CredentialIo& io) {
  if (!io.stdin_is_tty || !io.read_secret) {
    return InvalidInput(user_from + " gives user '" + user +
                            "' but no password was given and standard input is not a terminal "
                            "to ask for one",
                        kPasswordSourcesHint);
  }
  PPA_ASSIGN_OR_RETURN(std::string password,
                       io.read_secret("Password for " + user + "@" + host + ": "));
  if (password.empty()) return InvalidInput("no password entered for user '" + user + "'");
  return password;
}

// --password-stdin: a line of standard input, asked for without echo when
// standard input is a terminal.
Result<std::string> PasswordFromStdin(const std::string& user, const std::string& host,
                                      const CredentialIo& io) {
  std::string password;
  if (io.stdin_is_tty && io.read_secret) {
    std::string who = user.empty() ? std::string("the registry") : user;
    if (!host.empty()) who += "@" + host;
    PPA_ASSIGN_OR_RETURN(password, io.read_secret("Password for " + who + ": "));
  } else if (io.in != nullptr) {
    password = ReadLine(*io.in);
  }
  if (password.empty()) return InvalidInput("--password-stdin given but standard input is empty");
  return password;
}

// Step 1: --creds, --username / PPA_IMPORT_USERNAME and their password.
// Empty credentials when none of them is given.
Result<ResolvedCredentials> FromFlags(const CredentialRequest& r, const CredentialIo& io) {
  std::string user = r.username, user_from = "--username";
  std::string password = r.password, password_from = r.password_source;
  if (!r.creds.empty()) {
    if (!user.empty()) {
      return InvalidInput("--creds and --username both give a user name",
                          "pass one of them: --creds USER[:PASSWORD] or --username USER");
    }
    size_t colon = r.creds.find(':');
    user = r.creds.substr(0, colon);
    user_from = "--creds";
    if (user.empty()) {
      return InvalidInput("--creds has no user name before ':'", "use --creds USER[:PASSWORD]");
    }
    if (colon != std::string::npos) {
      password = r.creds.substr(colon + 1);
      password_from = "--creds";
      if (password.empty()) {
        return InvalidInput("--creds USER: has an empty password",
                            "use --creds USER (asked for, or --password-stdin, "
                            "PPA_IMPORT_PASSWORD) or --creds USER:PASSWORD");
      }
    }
  }
  if (user.empty() && !(user = io.getenv("PPA_IMPORT_USERNAME")).empty()) {
    user_from = "PPA_IMPORT_USERNAME";
  }
  if (r.password_stdin && password.empty()) {
    PPA_ASSIGN_OR_RETURN(password, PasswordFromStdin(user, r.host, io));
    password_from = "--password-stdin";
  }
  if (password.empty() && !(password = io.getenv("PPA_IMPORT_PASSWORD")).empty()) {
    password_from = "PPA_IMPORT_PASSWORD";
  }
  if (user.empty()) {
    if (!password.empty()) {
      return InvalidInput("a password was given (" + password_from + ") without a user name",
                          "pass --username USER or --creds USER, or set PPA_IMPORT_USERNAME");
    }
    return ResolvedCredentials{};
  }
  if (password.empty()) {
    if (r.host.empty()) {  // registry not known yet (or a layout): nothing is asked
      Credentials c(user, "");
      c.source = user_from + " (user '" + user + "', no password yet)";
      std::string source = c.source;
      return ResolvedCredentials{.credentials = std::move(c), .source = std::move(source)};
    }
    PPA_ASSIGN_OR_RETURN(password, AskPassword(user, r.host, user_from, io));
    password_from = "the terminal prompt";
  }
  std::string source = DescribeFlagSource(user_from, user, password_from);
  Credentials c(user, password);
  c.source = source;
  return ResolvedCredentials{.credentials = std::move(c), .source = std::move(source)};
}

// Step 4: the first auth file with an entry for the repository.
Result<ResolvedCredentials> FromAuthFiles(const CredentialRequest& r, const CredentialIo& io,
                                          std::vector<std::string>* looked_in) {
  std::string repository = r.host;
  if (!r.repository_path.empty()) repository += "/" + r.repository_path;
  for (const AuthFilePath& file : AuthFileSearchPath(r.authfile, io.getenv)) {
    looked_in->push_back(file.display);
    PPA_ASSIGN_OR_RETURN(std::optional<DockerConfigEntry> entry,
                         LoadAuthFile(file.path, repository, io.run_helper));
    if (!entry) continue;
    std::string source = file.display + " (" + entry->matched + ")";
    if (entry->kind == DockerConfigEntry::Kind::kHelper) {
      source = "docker-credential-" + entry->helper + " (" + entry->matched + " in " +
               file.display + ")";
    }
    Credentials c = entry->credentials;
    c.source = source;
    return ResolvedCredentials{.credentials = std::move(c), .source = std::move(source)};
  }
  return ResolvedCredentials{};
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

std::string ProcessEnv(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

Result<std::string> ReadSecretFromTerminal(const std::string& prompt) {
  Fd tty{.fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)};
  if (tty.fd < 0) {
    return InvalidInput("cannot open the terminal to ask for a password: " +
                            std::string(std::strerror(errno)),
                        kPasswordSourcesHint);
  }
  termios saved{};
  const bool is_terminal = tcgetattr(tty.fd, &saved) == 0;
  if (is_terminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    RestoreTerminalOnInterrupt(tty.fd, &saved);  // Ctrl-C here must not leave echo off
    tcsetattr(tty.fd, TCSANOW, &quiet);
  }
  ssize_t ignored = write(tty.fd, prompt.data(), prompt.size());
  (void)ignored;
  std::string line;
  char c;
  ssize_t n;
  while ((n = read(tty.fd, &c, 1)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || c == '\n') break;
    if (c != '\r') line.push_back(c);
    if (line.size() > 64 * 1024) break;
  }
  if (is_terminal) {
    tcsetattr(tty.fd, TCSANOW, &saved);
    RestoreTerminalOnInterrupt(-1, nullptr);
  }
  return line;
}

void SetRegistryOfRequest(const std::string& registry, bool plain_http,
                          const std::string& target_namespace, CredentialRequest* request) {
  const bool layout =
      registry.empty() || (registry.rfind("oci:", 0) == 0 && registry.rfind("oci://", 0) != 0);
  if (layout) return;
  Result<RegistryAddress> address = ParseRegistryAddress(registry, plain_http);
  if (!address.ok()) return;
  request->host = address->endpoint.host;
  request->userinfo = address->userinfo;
  std::string path = address->prefix;
  if (!target_namespace.empty()) path += (path.empty() ? "" : "/") + target_namespace;
  request->repository_path = path;
}

CredentialIo DefaultCredentialIo() {
  CredentialIo io;
  io.getenv = ProcessEnv;
  io.in = &std::cin;
  io.stdin_is_tty = isatty(STDIN_FILENO) == 1;
  io.read_secret = ReadSecretFromTerminal;
  io.run_helper = RunCredentialHelper;
  return io;
}

bool IsIbmCloudRegistryHost(std::string_view host_port) {
  std::string host = AsciiLower(host_port.substr(0, host_port.find(':')));
  if (host == "icr.io" || host.ends_with(".icr.io")) return true;
  return host.ends_with(".bluemix.net") && (host.rfind("registry.", 0) == 0);
}

std::vector<AuthFilePath> AuthFileSearchPath(const std::string& authfile,
                                             const GetEnvFn& getenv) {
  const std::string home = getenv("HOME");
  auto display = [&home](const std::string& path) {
    if (!home.empty() && path.rfind(home + "/", 0) == 0) return "~" + path.substr(home.size());
    return path;
  };
  std::vector<AuthFilePath> out;
  auto add = [&](const std::string& path, const std::string& shown) {
    out.push_back({.path = path, .display = shown.empty() ? display(path) : shown});
  };
  std::string given = authfile;
  std::string given_from = "--authfile ";
  if (given.empty()) {
    given = getenv("REGISTRY_AUTH_FILE");
    given_from = "REGISTRY_AUTH_FILE=";
  }
  if (!given.empty()) {  // skopeo and podman then read this file only
    add(given, given_from + display(given));
    return out;
  }
  std::string runtime = getenv("XDG_RUNTIME_DIR");
  if (runtime.empty()) runtime = "/run/user/" + std::to_string(getuid());
  add(runtime + "/containers/auth.json", "");
  std::string config = getenv("XDG_CONFIG_HOME");
  if (config.empty() && !home.empty()) config = home + "/.config";
  if (!config.empty()) add(config + "/containers/auth.json", "");
  std::string docker = getenv("DOCKER_CONFIG");
  if (!docker.empty()) {
    add(docker + "/config.json", "");
  } else if (!home.empty()) {
    add(home + "/.docker/config.json", "");
  }
  return out;
}

Result<ResolvedCredentials> ResolveCredentials(const CredentialRequest& request,
                                               const CredentialIo& io) {
  std::vector<std::string> looked_in = {"--creds/--username", "PPA_IMPORT_USERNAME"};
  PPA_ASSIGN_OR_RETURN(ResolvedCredentials found, FromFlags(request, io));
  if (!found.credentials.empty() || request.host.empty()) return found;
  if (!request.userinfo.empty()) {
    Credentials c = request.userinfo;
    c.source = "the user info in --registry (user '" + c.username + "')";
    std::string source = c.source;
    return ResolvedCredentials{.credentials = std::move(c), .source = std::move(source)};
  }
  looked_in.push_back("IBMCLOUD_API_KEY");
  const std::string api_key = io.getenv("IBMCLOUD_API_KEY");
  if (!api_key.empty() && IsIbmCloudRegistryHost(request.host)) {
    Credentials c("iamapikey", api_key);
    c.source = "IBMCLOUD_API_KEY (user 'iamapikey')";
    std::string source = c.source;
    return ResolvedCredentials{.credentials = std::move(c), .source = std::move(source)};
  }
  if (!api_key.empty()) looked_in.back() += " (set, but only for IBM Cloud registries)";
  PPA_ASSIGN_OR_RETURN(found, FromAuthFiles(request, io, &looked_in));
  if (!found.credentials.empty()) return found;
  found.source = "looked in: " + Join(looked_in);
  found.credentials.source = found.source;
  return found;
}

Result<ResolvedCredentials> ResolveRegistryCredentials(const Credentials& given,
                                                       bool password_stdin, std::istream& in,
                                                       const GetEnvFn& getenv,
                                                       const std::string& creds) {
  CredentialIo io;
  io.getenv = getenv;
  io.in = &in;
  io.stdin_is_tty = &in == &std::cin && isatty(STDIN_FILENO) == 1;
  io.read_secret = ReadSecretFromTerminal;
  CredentialRequest request;
  request.creds = creds;
  request.username = given.username;
  request.password = given.password;
  request.password_source = given.password.empty() ? "" : "the configuration";
  request.password_stdin = password_stdin;
  // No host: nothing is asked for and no file is read yet.
  return ResolveCredentials(request, io);
}

}  // namespace ppa
