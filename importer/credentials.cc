#include "importer/credentials.h"

#include <cstdlib>
#include <utility>

#include "docker_io/docker_config.h"

namespace ppa {
namespace {

// One line of `in` without its line ending.
std::string ReadLine(std::istream& in) {
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// "user 'u' from A, password from B" (or "..., no password").
std::string DescribeSource(const Credentials& c, const std::string& user_from,
                           const std::string& password_from) {
  std::string text = "user '" + c.username + "' from " + user_from;
  if (c.password.empty()) return text + ", no password";
  return text + ", password from " + password_from;
}

}  // namespace

std::string ProcessEnv(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

Result<ResolvedCredentials> ResolveRegistryCredentials(const Credentials& given,
                                                       bool password_stdin, std::istream& in,
                                                       const GetEnvFn& getenv) {
  Credentials c = given;
  std::string user_from = c.username.empty() ? "" : "--username";
  std::string password_from = c.password.empty() ? "" : "the configuration";
  if (password_stdin) {
    c.password = ReadLine(in);
    if (c.password.empty())
      return InvalidInput("--password-stdin given but standard input is empty");
    password_from = "--password-stdin";
  }
  if (c.username.empty() && !(c.username = getenv("PPA_IMPORT_USERNAME")).empty()) {
    user_from = "PPA_IMPORT_USERNAME";
  }
  if (c.password.empty() && !(c.password = getenv("PPA_IMPORT_PASSWORD")).empty()) {
    password_from = "PPA_IMPORT_PASSWORD";
  }
  if (c.empty() && !getenv("IBMCLOUD_API_KEY").empty()) {
    c = Credentials("iamapikey", getenv("IBMCLOUD_API_KEY"));
    return ResolvedCredentials{c, "user 'iamapikey' with the API key from IBMCLOUD_API_KEY"};
  }
  if (!c.password.empty() && c.username.empty()) {
    return InvalidInput("a password was given without a user name",
                        "pass --username or set PPA_IMPORT_USERNAME");
  }
  if (c.empty()) return ResolvedCredentials{};
  std::string source = DescribeSource(c, user_from, password_from);
  return ResolvedCredentials{std::move(c), std::move(source)};
}

Result<ResolvedCredentials> WithDockerConfigCredentials(ResolvedCredentials resolved,
                                                        const std::string& host) {
  if (!resolved.credentials.empty()) return resolved;
  PPA_ASSIGN_OR_RETURN(Credentials found, LoadDockerCredentials(host));
  if (found.empty()) return resolved;
  std::string who =
      found.identity_token.empty() ? "user '" + found.username + "'" : "an identity token";
  return ResolvedCredentials{std::move(found),
                             who + " from the docker config (~/.docker/config.json)"};
}

}  // namespace ppa
