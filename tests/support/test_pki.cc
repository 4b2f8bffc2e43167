#include "tests/support/test_pki.h"

#include "tests/support/process.h"

namespace ppa::test {
namespace {

Status Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = RunProcess(argv);
  if (r.exit_code != 0) return IoError("openssl " + args.front() + " failed: " + r.stderr_text);
  return Status::Ok();
}

// A key and a certificate for `subject`, signed by the CA in `dir`.
Status Issue(const std::string& dir, const std::string& name, const std::string& subject,
             const std::string& extensions, const std::string& days) {
  PPA_RETURN_IF_ERROR(Openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                               dir + "/" + name + ".key", "-out", dir + "/" + name + ".csr",
                               "-subj", subject}));
  PPA_RETURN_IF_ERROR(WriteStringToFile(dir + "/" + name + ".ext", extensions + "\n"));
  return Openssl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/ca.pem",
                  "-CAkey", dir + "/ca.key", "-CAcreateserial", "-out",
                  dir + "/" + name + ".pem", "-days", days, "-extfile",
                  dir + "/" + name + ".ext"});
}

}  // namespace

Result<TestPki> MakeTestPki(const std::string& dir, bool expired_server) {
  PPA_RETURN_IF_ERROR(Openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                               dir + "/ca.key", "-out", dir + "/ca.pem", "-days", "2", "-subj",
                               "/CN=ppa-test-ca"}));
  // -days -1: notAfter a day before notBefore (now), i.e. expired.
  PPA_RETURN_IF_ERROR(Issue(dir, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1",
                            expired_server ? "-1" : "2"));
  PPA_RETURN_IF_ERROR(Issue(dir, "client", "/CN=ppa-test-client",
                            "extendedKeyUsage=clientAuth", "2"));
  return TestPki{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key",
                 dir + "/client.pem", dir + "/client.key"};
}

}  // namespace ppa::test
