// Certificates for TLS integration tests, made with the `openssl` CLI in a
// folder the caller owns: a CA, a server certificate for 127.0.0.1 signed
// by it (valid, or expired: notAfter a day in the past) and a client pair.
// Thread-compatible.
#pragma once

#include <string>

#include "base/status.h"

namespace ppa::test {

struct TestPki {
  std::string ca_cert;      // PEM, CN=ppa-test-ca
  std::string server_cert;  // SAN IP:127.0.0.1, signed by the CA
  std::string server_key;
  std::string client_cert;  // CN=ppa-test-client, signed by the CA
  std::string client_key;
};

// Writes the files into `dir` (which must exist). `expired_server`: the
// server certificate expired yesterday.
Result<TestPki> MakeTestPki(const std::string& dir, bool expired_server = false);

}  // namespace ppa::test
