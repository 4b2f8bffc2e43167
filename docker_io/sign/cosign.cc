#include "docker_io/sign/cosign.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "archive/tar/tar_index.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/media_types.h"

namespace ppa {
namespace {

using Json = nlohmann::json;

struct BioDeleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

constexpr char kKeyHint[] =
    "give --sign-key a PEM private key (ECDSA P-256, RSA or Ed25519) or a key from `cosign "
    "generate-key-pair`, and its passphrase in --sign-passphrase-file or COSIGN_PASSWORD";

// The digest for a key's signatures: SHA-256, except Ed25519 (none: the
// message itself is signed).
const EVP_MD* DigestFor(EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

Status CheckKeyKind(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519:
      return Status::Ok();
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) < 2048) {
        return InvalidInput("the RSA signing key has " + std::to_string(EVP_PKEY_get_bits(key)) +
                                " bits; 2048 or more are needed",
                            kKeyHint);
      }
      return Status::Ok();
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1 ||
          (std::strcmp(group, "prime256v1") != 0 && std::strcmp(group, "P-256") != 0)) {
        return InvalidInput(std::string("the ECDSA signing key is on curve '") + group +
                                "'; cosign keys are P-256",
                            kKeyHint);
      }
      return Status::Ok();
    }
    default:
      return InvalidInput("the signing key is neither ECDSA P-256, RSA nor Ed25519", kKeyHint);
  }
}

bool VerifyWith(EVP_PKEY* key, std::string_view payload, std::string_view signature) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(key), nullptr, key) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(payload.data()),
                          payload.size()) == 1;
}

// "sha256:<hex>" of a public key's DER (SubjectPublicKeyInfo); "" when it
// has none.
std::string KeyIdOf(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return "";
  std::string id = Sha256Digest(std::string_view(reinterpret_cast<char*>(der), len));
  OPENSSL_free(der);
  return id;
}

// The PEM block `label` of `text`: its base64 body decoded; nullopt when
// there is no such block.
std::optional<std::string> PemBlock(std::string_view text, const std::string& label) {
  const std::string begin = "-----BEGIN " + label + "-----";
  const std::string end = "-----END " + label + "-----";
  size_t b = text.find(begin);
  if (b == std::string_view::npos) return std::nullopt;
  size_t e = text.find(end, b);
  if (e == std::string_view::npos) return std::nullopt;
  std::string body;
  for (char c : text.substr(b + begin.size(), e - b - begin.size())) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') body += c;
  }
  return Base64Decode(body);
}

// cosign's encrypted key: scrypt(passphrase) keys a NaCl secretbox around
// the PKCS#8 DER key. Returns the DER, in wiped memory.
Result<Secret> DecryptSigstoreKey(std::string_view json_text, const Secret& passphrase) {
  try {
    Json doc = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    auto bad = [](const std::string& what) {
      return InvalidInput("the encrypted sigstore key is malformed: " + what, kKeyHint);
    };
    if (!doc.is_object()) return bad("not JSON");
    const Json& kdf = doc.value("kdf", Json::object());
    const Json& cipher = doc.value("cipher", Json::object());
    if (kdf.value("name", "") != "scrypt") return bad("its kdf is not scrypt");
    if (cipher.value("name", "") != "nacl/secretbox") return bad("its cipher is not nacl/secretbox");
    const Json& params = kdf.value("params", Json::object());
    if (!params.is_object() || !params.value("N", Json()).is_number_unsigned() ||
        !params.value("r", Json()).is_number_unsigned() ||
        !params.value("p", Json()).is_number_unsigned()) {
      return bad("scrypt parameters N, r, p missing");
    }
    const uint64_t n = params["N"], r = params["r"], p = params["p"];
    // Bounded: a hostile key file cannot make scrypt take more than 256 MiB
    // (cosign writes N = 2^15 or 2^16, r = 8, p = 1: 32 or 64 MiB).
    constexpr uint64_t kMaxScryptBytes = 256ull << 20;
    if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0 || p > 16 || r > 64 ||
        128 * n * r > kMaxScryptBytes) {
      return bad("scrypt parameters out of range");
    }
    auto salt = Base64Decode(kdf.value("salt", ""));
    auto nonce = Base64Decode(cipher.value("nonce", ""));
    auto sealed = Base64Decode(doc.value("ciphertext", ""));
    if (!salt || !nonce || nonce->size() != crypto_secretbox_NONCEBYTES || !sealed ||
        sealed->size() < crypto_secretbox_MACBYTES) {
      return bad("salt, nonce or ciphertext");
    }
    unsigned char key[crypto_secretbox_KEYBYTES];
    std::string_view pass = passphrase.view();
    if (EVP_PBE_scrypt(pass.data(), pass.size(), reinterpret_cast<const unsigned char*>(salt->data()),
                       salt->size(), n, r, p, kMaxScryptBytes + (16 << 20), key, sizeof key) != 1) {
      return bad("scrypt failed");
    }
    Secret der;
    std::string& plain = der.buffer();
    plain.resize(sealed->size() - crypto_secretbox_MACBYTES);
    int opened = crypto_secretbox_open_easy(
        reinterpret_cast<unsigned char*>(plain.data()),
        reinterpret_cast<const unsigned char*>(sealed->data()), sealed->size(),
        reinterpret_cast<const unsigned char*>(nonce->data()), key);
    sodium_memzero(key, sizeof key);
    if (opened != 0) {
      return InvalidInput("the passphrase of the signing key is wrong",
                          "check --sign-passphrase-file or COSIGN_PASSWORD");
    }
    return der;
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput(std::string("the encrypted sigstore key is malformed") + std::string(": ") + e.what());
  }
}

// OpenSSL's PEM passphrase callback: the passphrase given, once.
int PassphraseCallback(char* buf, int size, int, void* user) {
  const auto* passphrase = static_cast<const Secret*>(user);
  if (passphrase == nullptr) return -1;  // none given
  std::string_view p = passphrase->view();
  if (static_cast<int>(p.size()) > size) return -1;
  std::memcpy(buf, p.data(), p.size());
  return static_cast<int>(p.size());
}

}  // namespace

std::string CosignPayload(const SignedClaim& claim) {
  // nlohmann's objects are sorted by key, as Go marshals cosign's structs.
  Json payload = {{"critical",
                   {{"identity", {{"docker-reference", claim.reference}}},
                    {"image", {{"docker-manifest-digest", claim.digest}}},
                    {"type", kCosignSignatureType}}},
                  {"optional", nullptr}};
  return payload.dump();
}

Result<SignedClaim> ParseCosignPayload(std::string_view text) {
  try {
    Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("critical") || !doc["critical"].is_object()) {
      return InvalidInput("the cosign payload has no 'critical' section");
    }
    const Json& critical = doc["critical"];
    if (critical.size() != 3 || critical.value("type", Json()) != kCosignSignatureType) {
      return InvalidInput("the cosign payload's critical section is not a cosign signature's");
    }
    const Json& identity = critical.value("identity", Json());
    const Json& image = critical.value("image", Json());
    if (!identity.is_object() || !image.is_object() ||
        !identity.value("docker-reference", Json()).is_string() ||
        !image.value("docker-manifest-digest", Json()).is_string()) {
      return InvalidInput("the cosign payload names no reference or digest");
    }
    return SignedClaim{.reference = identity["docker-reference"],
                       .digest = image["docker-manifest-digest"]};
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput(std::string("the cosign payload is malformed") + std::string(": ") + e.what());
  }
}

std::string CosignSignatureTag(const std::string& digest) {
  return "sha256-" + digest.substr(digest.find(':') + 1) + ".sig";
}

bool IsCosignAttachment(std::string_view reference) {
  const size_t colon = reference.rfind(':');
  const std::string_view tag = colon == std::string_view::npos ? reference : reference.substr(colon + 1);
  constexpr std::string_view kPrefix = "sha256-";
  constexpr size_t kHex = 64;
  if (tag.size() < kPrefix.size() + kHex + 4 || tag.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  for (char c : tag.substr(kPrefix.size(), kHex)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  const std::string_view suffix = tag.substr(kPrefix.size() + kHex);
  return suffix == ".sig" || suffix == ".att" || suffix == ".sbom";
}

Result<std::vector<CosignManifestLayer>> ParseCosignManifest(std::string_view body) {
  try {
    Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || doc.value("schemaVersion", 0) != 2 || !doc.contains("layers") ||
        !doc["layers"].is_array()) {
      return InvalidInput("the signature manifest is no OCI image manifest");
    }
    std::vector<CosignManifestLayer> out;
    for (const Json& layer : doc["layers"]) {
      // A field of another type than cosign writes makes another layer.
      auto field = [&](const char* key) {
        return layer.is_object() && layer.contains(key) ? layer[key] : Json();
      };
      const Json annotations = field("annotations");
      const Json signature = annotations.is_object() && annotations.contains(kCosignSignatureAnnotation)
                                 ? annotations[kCosignSignatureAnnotation]
                                 : Json();
      if (field("mediaType") != kCosignPayloadMediaType || !field("digest").is_string() ||
          !field("size").is_number_unsigned() || !signature.is_string()) {
        continue;
      }
      out.push_back({.digest = field("digest"), .size = field("size"), .signature = signature});
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput(std::string("the signature manifest is malformed") + std::string(": ") + e.what());
  }
}

namespace {

// The config of a signature manifest, as cosign writes it: its layers'
// digests as diff_ids.
std::string CosignConfig(const Json& diff_ids) {
  const Json config = {{"architecture", ""},
                       {"created", "0001-01-01T00:00:00Z"},
                       {"history", Json::array({{{"created", "0001-01-01T00:00:00Z"}}})},
                       {"os", ""},
                       {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                       {"config", Json::object()}};
  return config.dump();
}

}  // namespace

CosignDocuments BuildCosignManifest(const std::vector<CosignManifestLayer>& layers) {
  Json diff_ids = Json::array();
  Json layer_list = Json::array();
  for (const auto& l : layers) {
    diff_ids.push_back(l.digest);
    layer_list.push_back({{"mediaType", kCosignPayloadMediaType},
                          {"size", l.size},
                          {"digest", l.digest},
                          {"annotations", {{kCosignSignatureAnnotation, l.signature}}}});
  }
  CosignDocuments out;
  out.config = CosignConfig(diff_ids);
  nlohmann::ordered_json manifest = {
      {"schemaVersion", 2},
      {"mediaType", std::string(media_types::kOciManifest)},
      {"config",
       {{"mediaType", std::string(media_types::kOciConfig)},
        {"size", out.config.size()},
        {"digest", Sha256Digest(out.config)}}},
      {"layers", layer_list}};
  out.manifest = manifest.dump();
  return out;
}

Result<CosignDocuments> AppendCosignLayer(std::string_view existing,
                                          const CosignManifestLayer& layer) {
  if (existing.empty()) return BuildCosignManifest({layer});
  auto manifest = nlohmann::ordered_json::parse(existing, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || !manifest.contains("layers") || !manifest["layers"].is_array()) {
    return InvalidInput("the signature manifest is no OCI image manifest");
  }
  manifest["layers"].push_back({{"mediaType", kCosignPayloadMediaType},
                                {"size", layer.size},
                                {"digest", layer.digest},
                                {"annotations", {{kCosignSignatureAnnotation, layer.signature}}}});
  // The config lists every layer's digest, as cosign's does; the layers
  // already there stay byte for byte (a keyless signature's certificate and
  // bundle annotations with them).
  Json diff_ids = Json::array();
  for (const auto& l : manifest["layers"]) {
    if (l.is_object() && l.contains("digest") && l["digest"].is_string()) {
      diff_ids.push_back(l["digest"].get<std::string>());
    }
  }
  CosignDocuments out;
  out.config = CosignConfig(diff_ids);
  // An OCI manifest now, whatever it was (cosign can write Docker media
  // types): its config is OCI's, and it is pushed as OCI.
  manifest["mediaType"] = std::string(media_types::kOciManifest);
  manifest["config"] = {{"mediaType", std::string(media_types::kOciConfig)},
                        {"size", out.config.size()},
                        {"digest", Sha256Digest(out.config)}};
  out.manifest = manifest.dump();
  return out;
}

struct SigstoreKey::State {
  Pkey key;
  std::string key_id;
};

SigstoreKey::SigstoreKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
SigstoreKey::~SigstoreKey() = default;

Result<std::unique_ptr<SigstoreKey>> SigstoreKey::Load(const std::string& path,
                                                       const Secret& passphrase,
                                                       bool passphrase_given) {
  if (sodium_init() < 0) return Unsupported("libsodium cannot be initialised");
  auto file = ReadSmallFile(path, 1 << 20);
  if (!file.ok()) return file.status().WithContext("--sign-key").WithHint(kKeyHint);
  Secret text(std::move(*file));
  Pkey key;
  std::optional<std::string> sealed;
  for (const char* label : {"ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"}) {
    if (!sealed) sealed = PemBlock(text.view(), label);
  }
  if (sealed) {
    if (!passphrase_given) {
      return InvalidInput("the signing key '" + path + "' is encrypted and no passphrase is given",
                          "pass it with --sign-passphrase-file FILE or COSIGN_PASSWORD");
    }
    PPA_ASSIGN_OR_RETURN(Secret der, DecryptSigstoreKey(*sealed, passphrase));
    const auto* p = reinterpret_cast<const unsigned char*>(der.view().data());
    key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.view().size())));
  } else {
    Bio bio(BIO_new_mem_buf(text.view().data(), static_cast<int>(text.view().size())));
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, &PassphraseCallback,
                                      passphrase_given ? const_cast<Secret*>(&passphrase)
                                                       : nullptr));
    if (!key && text.view().find("ENCRYPTED PRIVATE KEY") != std::string_view::npos) {
      return InvalidInput(!passphrase_given
                              ? "the signing key '" + path + "' is encrypted and no passphrase is given"
                              : "the passphrase of the signing key '" + path + "' is wrong",
                          "check --sign-passphrase-file or COSIGN_PASSWORD");
    }
  }
  if (!key) return InvalidInput("'" + path + "' holds no private key this tool reads", kKeyHint);
  PPA_RETURN_IF_ERROR(CheckKeyKind(key.get()));
  auto state = std::make_unique<State>();
  state->key_id = KeyIdOf(key.get());
  if (state->key_id.empty()) return InvalidInput("the signing key has no public half", kKeyHint);
  state->key = std::move(key);
  return std::unique_ptr<SigstoreKey>(new SigstoreKey(std::move(state)));
}

Result<std::string> SigstoreKey::Sign(std::string_view payload) const {
  MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY* key = state_->key.get();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(key), nullptr, key) != 1) {
    return Unsupported("OpenSSL cannot sign with this key");
  }
  size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(payload.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, payload.size()) != 1) {
    return Unsupported("OpenSSL cannot sign with this key");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, data,
                     payload.size()) != 1) {
    return Unsupported("OpenSSL failed to sign");
  }
  signature.resize(len);
  return signature;
}

bool SigstoreKey::Verify(std::string_view payload, std::string_view signature) const {
  return VerifyWith(state_->key.get(), payload, signature);
}

std::string SigstoreKey::PublicKeyPem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), state_->key.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

const std::string& SigstoreKey::KeyId() const { return state_->key_id; }

Result<std::string> PublicKeyId(std::string_view public_pem) {
  Bio bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return InvalidInput("not a PEM public key");
  return KeyIdOf(key.get());
}

Result<bool> VerifyWithPublicKey(std::string_view public_pem, std::string_view payload,
                                 std::string_view signature) {
  Bio bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return InvalidInput("not a PEM public key");
  return VerifyWith(key.get(), payload, signature);
}

}  // namespace ppa
