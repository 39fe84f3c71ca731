#include "crypto/cipher.h"

#include <sodium.h>

#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace snkv::crypto {

static_assert(kSaltSize == crypto_pwhash_argon2id_SALTBYTES);
static_assert(kKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kKeySize >= crypto_pwhash_argon2id_BYTES_MIN);

namespace {

// Additional data, bound into every tag:
//
//   offset 0   7 bytes  "snkv-v1"              (format/version label)
//   offset 7   8 bytes  cf_id, big-endian, two's complement of the int64
//   offset 15  n bytes  the key bytes, verbatim (n = key.size(), may be 0)
//
// The label and cf_id have fixed lengths and the key runs to the end, so
// distinct (cf_id, key) pairs always give distinct AD strings.
constexpr std::string_view kAdLabel = "snkv-v1";
constexpr size_t kAdFixed = kAdLabel.size() + 8;

// The verifier seals this fixed 32-byte plaintext at a location no value can
// have (column family ids are never negative).
constexpr std::string_view kVerifierPlain = "snkv-v1 password verifier block.";
static_assert(kVerifierPlain.size() == 32);
constexpr int64_t kVerifierCf = -1;
constexpr std::string_view kVerifierKey = "snkv-verifier";
constexpr size_t kVerifierSize = kVerifierPlain.size() + kOverhead;

// Runs sodium_init() exactly once per process; true when libsodium is usable.
// sodium_init() is itself idempotent, but call_once makes the result cheap
// to re-check and keeps the first-use cost off later calls.
bool SodiumReady() noexcept {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] { ready = sodium_init() >= 0; });
  return ready;
}

Status NoKey() { return Status::Error("cipher has no key"); }

// Builds the additional data for `where` (layout above). Fails only when the
// key is so long that the AD cannot be represented.
Status BuildAd(const Location& where, std::string* ad) {
  const size_t key_size = where.key.size();
  if (key_size > ad->max_size() - kAdFixed) {
    return Status::Error("key too long for additional data");
  }
  ad->clear();
  ad->reserve(kAdFixed + key_size);
  ad->append(kAdLabel);
  const auto id = static_cast<uint64_t>(where.cf_id);
  for (int shift = 56; shift >= 0; shift -= 8) {
    ad->push_back(static_cast<char>((id >> shift) & 0xff));
  }
  ad->append(where.key.data(), key_size);
  return Status::OK();
}

const unsigned char* U(const char* p) noexcept {
  return reinterpret_cast<const unsigned char*>(p);
}
unsigned char* U(char* p) noexcept {
  return reinterpret_cast<unsigned char*>(p);
}

}  // namespace

// The salt comes from libsodium's CSPRNG (getrandom / /dev/urandom).
// sodium_init() failing is practically impossible; randombytes_buf() never
// returns weak output (it aborts if no entropy source exists), so the salt is
// sound even then, and the failure will surface at Derive().
KdfParams NewKdfParams() {
  (void)SodiumReady();
  KdfParams params;
  randombytes_buf(params.salt.data(), params.salt.size());
  return params;
}

Cipher::~Cipher() {
  // sodium_free() makes the region writable again, zeroes it and unmaps it,
  // so the readonly protection set in Derive() is no obstacle.
  if (key_ != nullptr) sodium_free(key_);
}

// The source is left without a key (has_key() == false).
Cipher::Cipher(Cipher&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)) {}

// Wipes and frees this cipher's key, takes other's; other is left keyless.
Cipher& Cipher::operator=(Cipher&& other) noexcept {
  if (this != &other) {
    if (key_ != nullptr) sodium_free(key_);
    key_ = std::exchange(other.key_, nullptr);
  }
  return *this;
}

// Errors:
//   kError  out is null, libsodium failed to initialise, or `params` are
//           outside Argon2id's limits (ops_limit >= 1; mem_limit between
//           8 KiB and libsodium's maximum) — e.g. a damaged file header;
//   kNoMem  no memory for the key or for Argon2id's working area.
// *out is replaced only on success; on failure it is left as it was.
//
// Key memory: sodium_malloc() places the key between guard pages behind a
// canary and mlock()s it (so it is not swapped out), and sodium_free() wipes
// it. After derivation the page is made read-only for good. It is NOT
// toggled between noaccess and readonly around each use: Seal/Open are const
// and called concurrently from several threads, and page protection is
// per-process state, so one thread re-protecting the page while another
// reads the key would crash the reader. A reference count would fix that,
// but buys little: the key must be readable whenever any value is being
// (de)crypted, which for a busy store is nearly always.
Status Cipher::Derive(Slice password, const KdfParams& params, Cipher* out) {
  if (out == nullptr) return Status::Error("Cipher::Derive: out is null");
  if (!SodiumReady()) return Status::Error("libsodium failed to initialise");

  if (params.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      params.ops_limit > crypto_pwhash_argon2id_OPSLIMIT_MAX) {
    return Status::Error("invalid Argon2id parameters: ops_limit " +
                         std::to_string(params.ops_limit) + " out of range");
  }
  // MEMLIMIT_MAX never exceeds SIZE_MAX, so the size_t cast below is exact.
  if (params.mem_limit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      params.mem_limit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return Status::Error("invalid Argon2id parameters: mem_limit " +
                         std::to_string(params.mem_limit) + " out of range");
  }
  if (password.size() > crypto_pwhash_argon2id_PASSWD_MAX) {
    return Status::Error("password too long");
  }

  Cipher fresh;
  fresh.key_ = static_cast<unsigned char*>(sodium_malloc(kKeySize));
  if (fresh.key_ == nullptr) {
    return {Code::kNoMem, "no memory for the encryption key"};
  }
  // The key is written straight into the guarded region: no copy of it ever
  // sits on the stack or in ordinary heap memory.
  if (crypto_pwhash(fresh.key_, kKeySize, password.data(), password.size(),
                    params.salt.data(), params.ops_limit,
                    static_cast<size_t>(params.mem_limit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // Parameters were validated above, so the only failure left is the
    // allocation of the mem_limit-byte working area.
    return {Code::kNoMem, "not enough memory for Argon2id key derivation"};
  }
  // Hardening only (a stray write faults instead of corrupting the key);
  // nothing depends on it, so a failure is ignored.
  (void)sodium_mprotect_readonly(fresh.key_);
  *out = std::move(fresh);
  return Status::OK();
}

// Errors: kError without a key or when the plaintext is too large to seal.
// *out is replaced only on success. `plaintext` and where.key may point into
// *out.
Status Cipher::Seal(Slice plaintext, const Location& where,
                    std::string* out) const {
  if (key_ == nullptr) return NoKey();
  if (out == nullptr) return Status::Error("Cipher::Seal: out is null");
  const size_t n = plaintext.size();
  if (n > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
      n > out->max_size() - kOverhead) {
    return Status::Error("value too large to encrypt");
  }
  std::string ad;
  if (Status s = BuildAd(where, &ad); !s.ok()) return s;

  std::string sealed(n + kOverhead, '\0');
  unsigned char* nonce = U(sealed.data());
  randombytes_buf(nonce, kNonceSize);
  unsigned long long clen = 0;
  // Cannot fail for in-range lengths; checked regardless.
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(
          nonce + kNonceSize, &clen, U(plaintext.data()), n, U(ad.data()),
          ad.size(), nullptr, nonce, key_) != 0 ||
      clen != n + kTagSize) {
    return Status::Error("encryption failed");
  }
  *out = std::move(sealed);
  return Status::OK();
}

// Errors: kError without a key; kCorrupt when `sealed` is shorter than
// kOverhead or fails authentication. *out is replaced only on success, so it
// never receives unauthenticated plaintext. `sealed` may point into *out.
Status Cipher::Open(Slice sealed, const Location& where,
                    std::string* out) const {
  if (key_ == nullptr) return NoKey();
  if (out == nullptr) return Status::Error("Cipher::Open: out is null");
  if (sealed.size() < kOverhead) {
    return Status::Corrupt(
        "encrypted value too short: " + std::to_string(sealed.size()) +
        " bytes, need at least " + std::to_string(kOverhead));
  }
  std::string ad;
  if (Status s = BuildAd(where, &ad); !s.ok()) return s;

  const unsigned char* nonce = U(sealed.data());
  const size_t clen = sealed.size() - kNonceSize;
  std::string plain(sealed.size() - kOverhead, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          U(plain.data()), &mlen, nullptr, nonce + kNonceSize, clen,
          U(ad.data()), ad.size(), nonce, key_) != 0 ||
      mlen != plain.size()) {
    return Status::Corrupt(
        "encrypted value failed authentication (wrong key, tampered, "
        "truncated, or moved from another key)");
  }
  *out = std::move(plain);
  return Status::OK();
}

// kError without a key. The verifier is kVerifierSize (72) bytes.
Status Cipher::MakeVerifier(std::string* out) const {
  return Seal(kVerifierPlain, Location{kVerifierCf, kVerifierKey}, out);
}

// Errors: kError without a key; kCorrupt when `verifier` does not have a
// verifier's length (it cannot be one, whatever the key); kAuthFailed when
// it does not open under this key, i.e. the password differs (or the
// verifier was damaged in a way indistinguishable from that).
Status Cipher::CheckVerifier(Slice verifier) const {
  if (key_ == nullptr) return NoKey();
  if (verifier.size() != kVerifierSize) {
    return Status::Corrupt("password verifier has the wrong size: " +
                           std::to_string(verifier.size()) + " bytes");
  }
  std::string plain;
  Status s = Open(verifier, Location{kVerifierCf, kVerifierKey}, &plain);
  if (!s.ok() || plain != kVerifierPlain) {
    return Status::AuthFailed("wrong password");
  }
  return Status::OK();
}

}  // namespace snkv::crypto
