#include "tests/support/cosign_vector.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"
#include "tests/support/skopeo.h"
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

bool OpensslVerifies(const std::string& pub, const std::string& signature,
                     const std::string& data_file) {
  TempDir scratch("ppa-cosign-openssl");
  const std::string sig_file = scratch.Join("signature");
  EXPECT_TRUE(WriteStringToFile(sig_file, signature).ok());
  ProcessResult check =
      RunProcess({"openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig_file, data_file});
  return check.exit_code == 0 && check.stdout_text.find("Verified OK") != std::string::npos;
}

int CountCosignSignatures(const std::string& sig_ref, const std::string& pub,
                          const std::string& reference, const std::string& digest) {
  TempDir out("ppa-cosign-verify");
  if (!SkopeoCopyToDir(sig_ref, out.Join("sig")).ok()) return 0;
  auto text = ReadFileToString(out.Join("sig/manifest.json"));
  auto manifest = nlohmann::json::parse(text.ok() ? *text : "", nullptr, false);
  if (manifest.is_discarded() || !manifest.contains("layers")) return 0;
  int verified = 0;
  for (const auto& layer : manifest["layers"]) {
    if (layer["mediaType"] != "application/vnd.dev.cosign.simplesigning.v1+json") continue;
    const std::string blob = out.Join("sig/" + layer["digest"].get<std::string>().substr(7));
    auto bytes = ReadFileToString(blob);
    auto payload = nlohmann::json::parse(bytes.ok() ? *bytes : "", nullptr, false);
    if (payload.is_discarded()) continue;
    const auto& critical = payload["critical"];
    if (critical["type"] != "cosign container image signature" ||
        critical["identity"]["docker-reference"] != reference ||
        critical["image"]["docker-manifest-digest"] != digest) {
      continue;
    }
    auto signature =
        Base64Decode(layer["annotations"]["dev.cosignproject.cosign/signature"].get<std::string>());
    if (signature && OpensslVerifies(pub, *signature, blob)) ++verified;
  }
  return verified;
}

}  // namespace ppa::test
