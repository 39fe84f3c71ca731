// Per-value encryption for encrypted stores (libsodium).
//
// A password becomes a 256-bit key through Argon2id once per open. Every
// value is sealed with XChaCha20-Poly1305 (IETF) under a fresh random
// 24-byte nonce; the sealed form is nonce || ciphertext || 16-byte tag, so
// it is exactly kOverhead bytes longer than the plaintext. The additional
// data names where the value lives (column family id and key), so a sealed
// value copied or swapped to another place fails to open.
#ifndef SNKV_CRYPTO_CIPHER_H
#define SNKV_CRYPTO_CIPHER_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "snkv/slice.h"
#include "snkv/status.h"

namespace snkv::crypto {

inline constexpr size_t kSaltSize = 16;
inline constexpr size_t kKeySize = 32;
inline constexpr size_t kNonceSize = 24;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kOverhead = kNonceSize + kTagSize;  // 40

// Argon2id parameters, stored in the file with the salt.
struct KdfParams {
  std::array<unsigned char, kSaltSize> salt{};
  uint64_t ops_limit = 3;                    // passes
  uint64_t mem_limit = 64ull * 1024 * 1024;  // bytes
};

// Fresh parameters with a random salt and the default costs.
KdfParams NewKdfParams();

// Where a value lives: bound into its authentication tag.
struct Location {
  int64_t cf_id;
  Slice key;
};

class Cipher {
 public:
  Cipher() noexcept = default;  // no key: every call fails
  ~Cipher();                    // wipes and frees the key
  Cipher(Cipher&& other) noexcept;
  Cipher& operator=(Cipher&& other) noexcept;
  Cipher(const Cipher&) = delete;
  Cipher& operator=(const Cipher&) = delete;

  // Derives the key for `password` (any bytes, empty allowed) with
  // `params`. The key lives in guarded memory (sodium_malloc: guard pages,
  // canary, excluded from core dumps), read-only for its whole life so that
  // threads may use it concurrently, and wiped when freed. kNoMem if memory
  // for Argon2id is lacking.
  static Status Derive(Slice password, const KdfParams& params, Cipher* out);

  bool has_key() const noexcept { return key_ != nullptr; }

  // out = nonce || ciphertext || tag for `plaintext` at `where`.
  Status Seal(Slice plaintext, const Location& where, std::string* out) const;
  // The plaintext of `sealed`, or kCorrupt when it fails authentication
  // (tampered, truncated, or moved from another location).
  Status Open(Slice sealed, const Location& where, std::string* out) const;

  // A sealed constant that proves a later Derive used the same password.
  Status MakeVerifier(std::string* out) const;
  // kAuthFailed when `verifier` was not made with this key.
  Status CheckVerifier(Slice verifier) const;

 private:
  unsigned char* key_ = nullptr;  // sodium_malloc'd, kKeySize bytes
};

}  // namespace snkv::crypto

#endif  // SNKV_CRYPTO_CIPHER_H
