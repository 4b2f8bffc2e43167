#include "tests/support/cosign_vector.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"
#include "docker_io/image/digest.h"

namespace ppa::test {

std::string DssePae(const std::string& payload_type, const std::string& payload) {
  return "DSSEv1 " + std::to_string(payload_type.size()) + " " + payload_type + " " +
         std::to_string(payload.size()) + " " + payload;
}

CosignVector LoadCosignVector() {
  const std::string dir = std::string(PPA_TEST_DATA_DIR) + "/cosign/";
  CosignVector v;
  auto pem = ReadFileToString(dir + "dsse-vector.pub");
  auto envelope_text = ReadFileToString(dir + "dsse-vector.json");
  EXPECT_TRUE(pem.ok() && envelope_text.ok());
  if (!pem.ok() || !envelope_text.ok()) return v;
  auto envelope = nlohmann::json::parse(*envelope_text);
  auto payload = Base64Decode(envelope.at("payload").get<std::string>());
  auto signature = Base64Decode(envelope.at("signatures").at(0).at("sig").get<std::string>());
  EXPECT_TRUE(payload && signature);
  if (!payload || !signature) return v;
  v.public_pem = *pem;
  v.payload = *payload;
  v.payload_type = envelope.at("payloadType").get<std::string>();
  v.signed_bytes = DssePae(v.payload_type, v.payload);
  v.signature = *signature;
  return v;
}

}  // namespace ppa::test
