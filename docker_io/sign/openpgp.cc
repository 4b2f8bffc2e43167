#include "docker_io/sign/openpgp.h"

#include <gpgme.h>

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <cctype>
#include <mutex>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace ppa {
namespace {

struct ContextDeleter {
  void operator()(gpgme_ctx_t c) const noexcept { gpgme_release(c); }
};
using Context = std::unique_ptr<gpgme_context, ContextDeleter>;
struct KeyDeleter {
  void operator()(gpgme_key_t k) const noexcept { gpgme_key_unref(k); }
};
using Key = std::unique_ptr<_gpgme_key, KeyDeleter>;
struct DataDeleter {
  void operator()(gpgme_data_t d) const noexcept { gpgme_data_release(d); }
};
using Data = std::unique_ptr<gpgme_data, DataDeleter>;

constexpr char kGnupgHint[] =
    "list the keys that can sign with: gpg --list-secret-keys --keyid-format long (GNUPGHOME "
    "selects the keyring)";

// GPGME wants gpgme_check_version once before anything else.
Status InitGpgme() {
  static std::once_flag once;
  static gpgme_error_t engine = 0;
  std::call_once(once, [] {
    gpgme_check_version(nullptr);
    engine = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
  });
  if (engine != 0) {
    return Unsupported(std::string("GnuPG cannot be used: ") + gpgme_strerror(engine),
                       "install gnupg (apt-get install gnupg)");
  }
  return Status::Ok();
}

Status GpgError(const std::string& what, gpgme_error_t err) {
  return Unsupported(err == 0 ? what : what + ": " + gpgme_strerror(err), kGnupgHint);
}

// The bytes of a GPGME memory buffer.
std::string Contents(gpgme_data_t data) {
  std::string out;
  gpgme_data_seek(data, 0, SEEK_SET);
  char buf[16384];
  for (;;) {
    ssize_t n = gpgme_data_read(data, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A GPGME output buffer that takes at most kMaxPayloadBytes: a signed
// message whose (compressed) payload expands past it fails instead of
// filling memory.
constexpr size_t kMaxPayloadBytes = 1 << 20;
struct CappedOutput {
  std::string bytes;
  bool over = false;
  static ssize_t Write(void* handle, const void* buffer, size_t size) {
    auto* self = static_cast<CappedOutput*>(handle);
    if (self->bytes.size() + size > kMaxPayloadBytes) {
      self->over = true;
      errno = EFBIG;
      return -1;
    }
    self->bytes.append(static_cast<const char*>(buffer), size);
    return static_cast<ssize_t>(size);
  }
};

// Reads the signed message `message` with `ctx`: its payload and signer.
Result<VerifiedMessage> VerifyMessage(gpgme_ctx_t ctx, std::string_view message) {
  gpgme_data_t sig = nullptr, plain = nullptr;
  if (gpgme_error_t err = gpgme_data_new_from_mem(&sig, message.data(), message.size(), 0);
      err != 0) {
    return GpgError("reading a signature", err);
  }
  Data sig_owner(sig);
  CappedOutput output;
  static gpgme_data_cbs callbacks{nullptr, &CappedOutput::Write, nullptr, nullptr};
  if (gpgme_error_t err = gpgme_data_new_from_cbs(&plain, &callbacks, &output); err != 0) {
    return GpgError("reading a signature", err);
  }
  Data plain_owner(plain);
  gpgme_error_t err = gpgme_op_verify(ctx, sig, nullptr, plain);
  if (output.over) return InvalidInput("a signed message whose payload is larger than 1 MiB");
  if (err != 0) {
    return InvalidInput(std::string("not an OpenPGP signed message: ") + gpgme_strerror(err));
  }
  gpgme_verify_result_t result = gpgme_op_verify_result(ctx);
  if (result == nullptr || result->signatures == nullptr) {
    return InvalidInput("an OpenPGP message without a signature");
  }
  VerifiedMessage out;
  out.payload = std::move(output.bytes);
  gpgme_signature_t first = result->signatures;
  out.fingerprint = first->fpr != nullptr ? first->fpr : "";
  // As containers/image judges it: one good signature, by a key whose
  // validity is not "never" and that may sign.
  out.valid = gpgme_err_code(first->status) == GPG_ERR_NO_ERROR && first->next == nullptr &&
              !first->wrong_key_usage && first->validity != GPGME_VALIDITY_NEVER;
  return out;
}

}  // namespace

// Forgets what gpg-agent caches for the key parts `keygrips`, so the next
// operation asks for the passphrase (and a wrong one fails instead of the
// agent's cached one signing). Best effort: an agent that cannot be reached
// has cached nothing.
void ForgetCachedPassphrases(const std::vector<std::string>& keygrips) {
  gpgme_ctx_t raw = nullptr;
  if (gpgme_new(&raw) != 0) return;
  Context agent(raw);
  if (gpgme_set_protocol(raw, GPGME_PROTOCOL_ASSUAN) != 0) return;
  for (const auto& grip : keygrips) {
    const std::string command = "CLEAR_PASSPHRASE --mode=normal " + grip;
    gpgme_error_t op_err = 0;
    (void)gpgme_op_assuan_transact_ext(raw, command.c_str(), nullptr, nullptr, nullptr, nullptr,
                                       nullptr, nullptr, &op_err);
  }
}

struct OpenPgpKey::State {
  ~State() {
    // What this run gave the agent does not outlive it.
    if (!passphrase.empty()) ForgetCachedPassphrases(keygrips);
  }

  Mutex mu;
  Context ctx GUARDED_BY(mu);
  Key key GUARDED_BY(mu);
  std::string fingerprint;                // the primary key's; set once by Open
  std::vector<std::string> fingerprints;  // primary and subkeys; set once by Open
  std::vector<std::string> keygrips;      // of the same; set once by Open
  Secret passphrase;                      // read by the callback only, under `mu`
  bool asked GUARDED_BY(mu) = false;    // the agent asked for the passphrase
  bool refused GUARDED_BY(mu) = false;  // ... and refused the one given

  // GPGME's passphrase callback (loopback mode): writes the passphrase once.
  // A second request means the first was wrong: the operation is cancelled
  // rather than retried.
  static gpgme_error_t Callback(void* hook, const char*, const char*, int prev_was_bad,
                                int fd) NO_THREAD_SAFETY_ANALYSIS {  // under `mu`, in a GPGME call
    auto* self = static_cast<State*>(hook);
    self->asked = true;
    if (prev_was_bad) self->refused = true;
    if (prev_was_bad || self->passphrase.empty()) return gpg_error(GPG_ERR_CANCELED);
    std::string_view p = self->passphrase.view();
    if (gpgme_io_writen(fd, p.data(), p.size()) != 0 || gpgme_io_writen(fd, "\n", 1) != 0) {
      return gpg_error(GPG_ERR_CANCELED);
    }
    return 0;
  }

  // The Status for a failed signing operation `err`.
  Status SignError(gpgme_error_t err) REQUIRES(mu) {
    if (refused || gpgme_err_code(err) == GPG_ERR_BAD_PASSPHRASE) {
      return InvalidInput("the passphrase of signing key " + fingerprint + " is wrong",
                          "check the file given to --sign-passphrase-file");
    }
    if (asked && passphrase.empty()) {
      return InvalidInput("signing key " + fingerprint + " is protected by a passphrase",
                          "pass it in a file with --sign-passphrase-file FILE");
    }
    return GpgError("signing with key " + fingerprint + " failed", err);
  }
};

OpenPgpKey::OpenPgpKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
OpenPgpKey::~OpenPgpKey() = default;

Result<std::unique_ptr<OpenPgpKey>> OpenPgpKey::Open(const std::string& key_id,
                                                    Secret passphrase) {
  PPA_RETURN_IF_ERROR(InitGpgme());
  auto state = std::make_unique<State>();
  MutexLock lock(&state->mu);
  gpgme_ctx_t raw = nullptr;
  if (gpgme_error_t err = gpgme_new(&raw); err != 0) return GpgError("GnuPG context", err);
  state->ctx.reset(raw);
  gpgme_ctx_t ctx = state->ctx.get();
  gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
  gpgme_set_armor(ctx, 0);
  gpgme_set_offline(ctx, 1);  // never a key server
  if (gpgme_error_t err = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK); err != 0) {
    return GpgError("GnuPG loopback passphrase mode", err);
  }
  state->passphrase = std::move(passphrase);
  gpgme_set_passphrase_cb(ctx, &State::Callback, state.get());
  gpgme_set_keylist_mode(ctx, gpgme_get_keylist_mode(ctx) | GPGME_KEYLIST_MODE_WITH_KEYGRIP);
  gpgme_key_t key = nullptr;
  gpgme_error_t err = gpgme_get_key(ctx, key_id.c_str(), &key, /*secret=*/1);
  if (gpgme_err_code(err) == GPG_ERR_EOF) {
    return NotFound("no secret key '" + key_id + "' in the GnuPG keyring", kGnupgHint);
  }
  if (gpgme_err_code(err) == GPG_ERR_AMBIGUOUS_NAME) {
    return InvalidInput("'" + key_id + "' names several secret keys",
                        "give the key's full fingerprint to --sign-by");
  }
  if (err != 0) return GpgError("looking up key '" + key_id + "'", err);
  state->key.reset(key);
  if (key->fpr == nullptr) return GpgError("key '" + key_id + "' has no fingerprint", 0);
  state->fingerprint = key->fpr;
  for (gpgme_subkey_t sub = key->subkeys; sub != nullptr; sub = sub->next) {
    if (sub->fpr != nullptr) state->fingerprints.emplace_back(sub->fpr);
    if (sub->keygrip != nullptr) state->keygrips.emplace_back(sub->keygrip);
  }
  // A passphrase given is the one checked: not one the agent remembers.
  if (!state->passphrase.empty()) ForgetCachedPassphrases(state->keygrips);
  std::string why = key->revoked    ? "is revoked"
                    : key->expired  ? "has expired"
                    : key->disabled ? "is disabled"
                    : key->invalid  ? "is invalid"
                    : !key->can_sign ? "cannot sign"
                                     : "";
  if (!why.empty()) {
    return InvalidInput("signing key " + state->fingerprint + " " + why,
                        "give --sign-by a key that can sign (" + std::string(kGnupgHint) + ")");
  }
  gpgme_signers_clear(ctx);
  if (gpgme_error_t add = gpgme_signers_add(ctx, key); add != 0) {
    return GpgError("using key " + state->fingerprint, add);
  }
  return std::unique_ptr<OpenPgpKey>(new OpenPgpKey(std::move(state)));
}

const std::string& OpenPgpKey::fingerprint() const { return state_->fingerprint; }

bool OpenPgpKey::Owns(std::string_view fingerprint) const {
  for (const auto& f : state_->fingerprints) {
    if (f.size() == fingerprint.size() &&
        std::equal(f.begin(), f.end(), fingerprint.begin(),
                   [](char a, char b) { return std::toupper(a) == std::toupper(b); })) {
      return true;
    }
  }
  return false;
}

Result<std::string> OpenPgpKey::Sign(std::string_view payload) {
  State& s = *state_;
  MutexLock lock(&s.mu);
  s.asked = s.refused = false;
  gpgme_data_t in = nullptr, out = nullptr;
  if (gpgme_error_t err = gpgme_data_new_from_mem(&in, payload.data(), payload.size(), 0);
      err != 0) {
    return GpgError("signing", err);
  }
  Data in_owner(in);
  if (gpgme_error_t err = gpgme_data_new(&out); err != 0) return GpgError("signing", err);
  Data out_owner(out);
  gpgme_error_t err = gpgme_op_sign(s.ctx.get(), in, out, GPGME_SIG_MODE_NORMAL);
  if (err != 0) return s.SignError(err);
  gpgme_sign_result_t result = gpgme_op_sign_result(s.ctx.get());
  if (result == nullptr || result->invalid_signers != nullptr || result->signatures == nullptr) {
    return GpgError("signing with key " + s.fingerprint + " made no signature",
                    result && result->invalid_signers ? result->invalid_signers->reason : 0);
  }
  return Contents(out);
}

Status OpenPgpKey::CheckPassphrase() {
  return Sign("ppa-import: signing key check").status();
}

Result<VerifiedMessage> OpenPgpKey::Verify(std::string_view message) {
  MutexLock lock(&state_->mu);
  return VerifyMessage(state_->ctx.get(), message);
}

struct OpenPgpKeyring::State {
  Mutex mu;
  Context ctx GUARDED_BY(mu);
  std::string home;  // the private GnuPG home; removed by the destructor
  ~State() {
    if (home.empty()) return;
    // gpg may have started an agent for this home: it ends with its socket.
    std::error_code ec;
    std::filesystem::remove_all(home, ec);
  }
};

OpenPgpKeyring::OpenPgpKeyring(std::unique_ptr<State> state) : state_(std::move(state)) {}
OpenPgpKeyring::~OpenPgpKeyring() = default;

Result<std::unique_ptr<OpenPgpKeyring>> OpenPgpKeyring::Create() {
  PPA_RETURN_IF_ERROR(InitGpgme());
  auto state = std::make_unique<State>();
  std::string tmpl = (std::filesystem::temp_directory_path() / "ppa-import-keyring-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoError("cannot create", tmpl, errno);
  state->home = tmpl;
  MutexLock lock(&state->mu);
  gpgme_ctx_t raw = nullptr;
  if (gpgme_error_t err = gpgme_new(&raw); err != 0) return GpgError("GnuPG context", err);
  state->ctx.reset(raw);
  gpgme_set_protocol(raw, GPGME_PROTOCOL_OpenPGP);
  gpgme_set_offline(raw, 1);
  if (gpgme_error_t err =
          gpgme_ctx_set_engine_info(raw, GPGME_PROTOCOL_OpenPGP, nullptr, state->home.c_str());
      err != 0) {
    return GpgError("a private GnuPG home", err);
  }
  return std::unique_ptr<OpenPgpKeyring>(new OpenPgpKeyring(std::move(state)));
}

Result<int> OpenPgpKeyring::Import(std::string_view key_data) {
  MutexLock lock(&state_->mu);
  gpgme_data_t data = nullptr;
  if (gpgme_error_t err = gpgme_data_new_from_mem(&data, key_data.data(), key_data.size(), 0);
      err != 0) {
    return GpgError("reading a public key", err);
  }
  Data owner(data);
  if (gpgme_error_t err = gpgme_op_import(state_->ctx.get(), data); err != 0) {
    return InvalidInput(std::string("not an OpenPGP public key: ") + gpgme_strerror(err));
  }
  gpgme_import_result_t result = gpgme_op_import_result(state_->ctx.get());
  int imported = result != nullptr ? result->imported + result->unchanged : 0;
  if (imported == 0) return InvalidInput("no OpenPGP public key in it");
  return imported;
}

Result<VerifiedMessage> OpenPgpKeyring::Verify(std::string_view message) {
  MutexLock lock(&state_->mu);
  return VerifyMessage(state_->ctx.get(), message);
}

}  // namespace ppa
