// Tests for snkv::crypto::Cipher (src/crypto/cipher.h).
//
// Argon2id with the default costs (64 MiB, 3 passes) takes a noticeable
// fraction of a second, so the ciphers with default parameters are derived
// once, lazily, and shared (see Keys()). Tests that only need *a* key use the
// cheapest parameters libsodium accepts.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/cipher.h"

namespace snkv::crypto {
namespace {

constexpr char kPassword[] = "correct horse battery staple";

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Every byte value, NULs included, twice.
std::string AllBytes() {
  std::string s;
  for (int round = 0; round < 2; ++round) {
    for (int b = 0; b < 256; ++b) s.push_back(static_cast<char>(b));
  }
  return s;
}

KdfParams FixedSalt(unsigned char fill) {
  KdfParams p;
  p.salt.fill(fill);
  return p;
}

// The cheapest parameters Argon2id accepts: fast keys for tests that do not
// care about the cost.
KdfParams Cheap(unsigned char fill) {
  KdfParams p = FixedSalt(fill);
  p.ops_limit = 1;
  p.mem_limit = 8192;  // crypto_pwhash_argon2id_MEMLIMIT_MIN
  return p;
}

Cipher MustDerive(Slice password, const KdfParams& params) {
  Cipher c;
  Status s = Cipher::Derive(password, params, &c);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(c.has_key());
  return c;
}

// Ciphers derived with the default (expensive) parameters: 4 derives.
struct DefaultKeys {
  Cipher main = MustDerive(kPassword, FixedSalt(0x11));
  Cipher same = MustDerive(kPassword, FixedSalt(0x11));    // same salt
  Cipher salted = MustDerive(kPassword, FixedSalt(0x22));  // other salt
  Cipher wrong = MustDerive("correct horse battery stapler", FixedSalt(0x11));
};

const DefaultKeys& Keys() {
  static const DefaultKeys keys;
  return keys;
}

std::string MustSeal(const Cipher& c, Slice plain, const Location& where) {
  std::string out;
  Status s = c.Seal(plain, where, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Opens `sealed` and returns the code; *out must be left untouched on
// failure, which is checked here for every failing call.
Code OpenCode(const Cipher& c, Slice sealed, const Location& where) {
  std::string out = "sentinel";
  Status s = c.Open(sealed, where, &out);
  if (!s.ok()) {
    EXPECT_EQ(out, "sentinel") << "output modified on failure";
  }
  return s.code();
}

const Location kHere{7, "user:42"};

TEST(KdfParamsTest, NewHasDefaultCostsAndRandomSalt) {
  KdfParams a = NewKdfParams();
  KdfParams b = NewKdfParams();
  EXPECT_EQ(a.ops_limit, 3u);
  EXPECT_EQ(a.mem_limit, 64ull * 1024 * 1024);
  EXPECT_NE(a.salt, b.salt);
  EXPECT_NE(a.salt, (std::array<unsigned char, kSaltSize>{}));
}

TEST(CipherTest, RoundTrips) {
  const Cipher& c = Keys().main;
  const std::vector<std::string> plains = {
      "",
      "x",
      std::string(1, '\0'),
      AllBytes(),
      RandomBytes(1 << 20, 1),  // 1 MiB
  };
  for (const std::string& plain : plains) {
    std::string sealed = MustSeal(c, plain, kHere);
    std::string back;
    Status s = c.Open(sealed, kHere, &back);
    ASSERT_TRUE(s.ok()) << s.ToString() << " size " << plain.size();
    EXPECT_EQ(back, plain) << "size " << plain.size();
  }
}

TEST(CipherTest, OverheadIsExactly40) {
  static_assert(kOverhead == 40);
  const Cipher& c = Keys().main;
  for (size_t n : {0, 1, 15, 16, 17, 1000, 65536}) {
    EXPECT_EQ(MustSeal(c, std::string(n, 'a'), kHere).size(), n + 40);
  }
}

TEST(CipherTest, NoncesDifferBetweenSeals) {
  const Cipher& c = Keys().main;
  std::string a = MustSeal(c, "same plaintext", kHere);
  std::string b = MustSeal(c, "same plaintext", kHere);
  EXPECT_NE(a.substr(0, kNonceSize), b.substr(0, kNonceSize));
  EXPECT_NE(a.substr(kNonceSize), b.substr(kNonceSize));
  std::string out;
  ASSERT_TRUE(c.Open(a, kHere, &out).ok());
  EXPECT_EQ(out, "same plaintext");
  ASSERT_TRUE(c.Open(b, kHere, &out).ok());
  EXPECT_EQ(out, "same plaintext");
}

TEST(CipherTest, CiphertextDoesNotContainPlaintext) {
  const Cipher& c = Keys().main;
  const std::string plain(256, 'Q');
  std::string sealed = MustSeal(c, plain, kHere);
  EXPECT_EQ(sealed.find("QQQQQQQQ"), std::string::npos);
}

TEST(CipherTest, WrongKeyFails) {
  std::string sealed = MustSeal(Keys().main, "secret", kHere);
  EXPECT_EQ(OpenCode(Keys().wrong, sealed, kHere), Code::kCorrupt);
  EXPECT_EQ(OpenCode(Keys().salted, sealed, kHere), Code::kCorrupt);
  Cipher other = MustDerive(kPassword, Cheap(0x11));  // other costs
  EXPECT_EQ(OpenCode(other, sealed, kHere), Code::kCorrupt);
}

TEST(CipherTest, WrongColumnFamilyFails) {
  const Cipher& c = Keys().main;
  std::string sealed = MustSeal(c, "value", Location{1, "k"});
  for (int64_t cf :
       {int64_t{0}, int64_t{2}, int64_t{-1}, int64_t{256},
        (int64_t{1} << 32) | 1, (int64_t{1} << 56) | 1, INT64_MIN + 1}) {
    EXPECT_EQ(OpenCode(c, sealed, Location{cf, "k"}), Code::kCorrupt)
        << "cf " << cf;
  }
  EXPECT_EQ(OpenCode(c, sealed, Location{1, "k"}), Code::kOk);
}

TEST(CipherTest, WrongKeyBytesFail) {
  const Cipher& c = Keys().main;
  const std::string nul_key("a\0", 2);
  struct Case {
    Slice sealed_at;
    Slice opened_at;
  };
  const Case cases[] = {
      {"a", "b"}, {"a", nul_key}, {nul_key, "a"}, {"", "a"},
      {"a", ""},  {"ab", "a"},    {"a", "ab"},    {"user:42", "user:43"},
      {"A", "a"},
  };
  for (const Case& tc : cases) {
    std::string sealed = MustSeal(c, "v", Location{3, tc.sealed_at});
    EXPECT_EQ(OpenCode(c, sealed, Location{3, tc.opened_at}), Code::kCorrupt)
        << "sealed at '" << tc.sealed_at.ToString() << "' opened at '"
        << tc.opened_at.ToString() << "'";
    EXPECT_EQ(OpenCode(c, sealed, Location{3, tc.sealed_at}), Code::kOk);
  }
  // A long key, differing only in its last byte.
  std::string long_a(10000, 'k');
  std::string long_b = long_a;
  long_b.back() = 'K';
  std::string sealed = MustSeal(c, "v", Location{3, long_a});
  EXPECT_EQ(OpenCode(c, sealed, Location{3, long_b}), Code::kCorrupt);
  EXPECT_EQ(OpenCode(c, sealed, Location{3, long_a}), Code::kOk);
}

TEST(CipherTest, SwappedValuesFail) {
  const Cipher& c = Keys().main;
  std::string v1 = MustSeal(c, "one", Location{0, "k1"});
  std::string v2 = MustSeal(c, "two", Location{0, "k2"});
  EXPECT_EQ(OpenCode(c, v2, Location{0, "k1"}), Code::kCorrupt);
  EXPECT_EQ(OpenCode(c, v1, Location{0, "k2"}), Code::kCorrupt);
}

TEST(CipherTest, AnyBitFlipFails) {
  const Cipher& c = Keys().main;
  const std::string sealed = MustSeal(c, RandomBytes(37, 2), kHere);
  ASSERT_EQ(sealed.size(), 37 + kOverhead);
  // Nonce [0,24), ciphertext [24,61), tag [61,77): every bit of each.
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = sealed;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      ASSERT_EQ(OpenCode(c, bad, kHere), Code::kCorrupt)
          << "byte " << i << " bit " << bit;
    }
  }
  EXPECT_EQ(OpenCode(c, sealed, kHere), Code::kOk);
}

TEST(CipherTest, TruncationAndExtensionFail) {
  const Cipher& c = Keys().main;
  const std::string sealed = MustSeal(c, "twenty bytes of data", kHere);
  for (size_t len = 0; len < sealed.size(); ++len) {
    ASSERT_EQ(OpenCode(c, Slice(sealed.data(), len), kHere), Code::kCorrupt)
        << "length " << len;
  }
  EXPECT_EQ(OpenCode(c, sealed + '\0', kHere), Code::kCorrupt);
  EXPECT_EQ(OpenCode(c, sealed + sealed, kHere), Code::kCorrupt);
  // A sealed empty value is exactly 40 bytes; 39 is too short to even try.
  const std::string empty = MustSeal(c, "", kHere);
  ASSERT_EQ(empty.size(), kOverhead);
  EXPECT_EQ(OpenCode(c, empty, kHere), Code::kOk);
  EXPECT_EQ(OpenCode(c, Slice(empty.data(), kOverhead - 1), kHere),
            Code::kCorrupt);
  EXPECT_EQ(OpenCode(c, std::string(kOverhead - 1, '\0'), kHere),
            Code::kCorrupt);
  EXPECT_EQ(OpenCode(c, std::string(kOverhead, '\0'), kHere), Code::kCorrupt);
}

TEST(CipherTest, InputsMayAliasOutput) {
  const Cipher& c = Keys().main;
  std::string buf = "plaintext held in the output string";
  const std::string plain = buf;
  ASSERT_TRUE(c.Seal(buf, kHere, &buf).ok());
  EXPECT_EQ(buf.size(), plain.size() + kOverhead);
  ASSERT_TRUE(c.Open(buf, kHere, &buf).ok());
  EXPECT_EQ(buf, plain);
}

TEST(CipherTest, NullOutputIsAnError) {
  const Cipher& c = Keys().main;
  EXPECT_EQ(c.Seal("x", kHere, nullptr).code(), Code::kError);
  std::string sealed = MustSeal(c, "x", kHere);
  EXPECT_EQ(c.Open(sealed, kHere, nullptr).code(), Code::kError);
  EXPECT_EQ(c.MakeVerifier(nullptr).code(), Code::kError);
  EXPECT_EQ(Cipher::Derive("pw", Cheap(1), nullptr).code(), Code::kError);
}

TEST(CipherTest, DeriveIsDeterministicPerSalt) {
  const DefaultKeys& k = Keys();
  std::string sealed = MustSeal(k.main, "v", kHere);
  EXPECT_EQ(OpenCode(k.same, sealed, kHere), Code::kOk);
  EXPECT_EQ(OpenCode(k.salted, sealed, kHere), Code::kCorrupt);
  std::string back_the_other_way = MustSeal(k.same, "w", kHere);
  EXPECT_EQ(OpenCode(k.main, back_the_other_way, kHere), Code::kOk);
}

TEST(CipherTest, VerifierAcceptsOnlyTheSamePassword) {
  const DefaultKeys& k = Keys();
  std::string verifier;
  ASSERT_TRUE(k.main.MakeVerifier(&verifier).ok());
  EXPECT_EQ(verifier.size(), 32 + kOverhead);
  EXPECT_TRUE(k.main.CheckVerifier(verifier).ok());
  EXPECT_TRUE(k.same.CheckVerifier(verifier).ok());
  EXPECT_EQ(k.wrong.CheckVerifier(verifier).code(), Code::kAuthFailed);
  EXPECT_EQ(k.salted.CheckVerifier(verifier).code(), Code::kAuthFailed);

  // Fresh nonce each time, yet each verifier checks.
  std::string second;
  ASSERT_TRUE(k.main.MakeVerifier(&second).ok());
  EXPECT_NE(verifier, second);
  EXPECT_TRUE(k.same.CheckVerifier(second).ok());
}

TEST(CipherTest, DamagedVerifierIsRejected) {
  const Cipher& c = Keys().main;
  std::string verifier;
  ASSERT_TRUE(c.MakeVerifier(&verifier).ok());
  for (size_t i = 0; i < verifier.size(); ++i) {
    std::string bad = verifier;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_EQ(c.CheckVerifier(bad).code(), Code::kAuthFailed) << "byte " << i;
  }
  EXPECT_EQ(c.CheckVerifier(verifier.substr(1)).code(), Code::kCorrupt);
  EXPECT_EQ(c.CheckVerifier("").code(), Code::kCorrupt);
  EXPECT_EQ(c.CheckVerifier(verifier + "x").code(), Code::kCorrupt);
}

TEST(CipherTest, VerifierIsNotAValueAndNoValueIsAVerifier) {
  const Cipher& c = Keys().main;
  std::string verifier;
  ASSERT_TRUE(c.MakeVerifier(&verifier).ok());
  // Opening it as an ordinary value anywhere a value can live fails.
  EXPECT_EQ(OpenCode(c, verifier, Location{0, "snkv-verifier"}),
            Code::kCorrupt);
  EXPECT_EQ(OpenCode(c, verifier, Location{1, "snkv-verifier"}),
            Code::kCorrupt);
  // A 32-byte value sealed at a real location does not pass as a verifier.
  std::string value = MustSeal(c, std::string(32, 'v'), Location{0, "k"});
  ASSERT_EQ(value.size(), verifier.size());
  EXPECT_EQ(c.CheckVerifier(value).code(), Code::kAuthFailed);
}

TEST(CipherTest, UnusualPasswordsDerive) {
  // 3 derives with the default costs.
  const std::string binary = AllBytes();
  const std::string huge = RandomBytes(1 << 20, 3);  // 1 MiB
  Cipher empty_c = MustDerive("", FixedSalt(0x33));
  Cipher binary_c = MustDerive(binary, FixedSalt(0x33));
  Cipher huge_c = MustDerive(huge, FixedSalt(0x33));
  const Cipher* all[] = {&empty_c, &binary_c, &huge_c};
  std::string verifiers[3];
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(all[i]->has_key());
    ASSERT_TRUE(all[i]->MakeVerifier(&verifiers[i]).ok());
    std::string sealed = MustSeal(*all[i], binary, kHere);
    std::string back;
    ASSERT_TRUE(all[i]->Open(sealed, kHere, &back).ok());
    EXPECT_EQ(back, binary);
  }
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(all[i]->CheckVerifier(verifiers[j]).code(),
                i == j ? Code::kOk : Code::kAuthFailed)
          << i << " vs " << j;
    }
  }
  // A password differing from the binary one only after a NUL byte is a
  // different password (no C-string truncation).
  std::string binary2 = binary;
  binary2.back() = 'x';
  Cipher binary2_c = MustDerive(binary2, Cheap(0x33));
  Cipher binary_cheap = MustDerive(binary, Cheap(0x33));
  std::string v;
  ASSERT_TRUE(binary_cheap.MakeVerifier(&v).ok());
  EXPECT_EQ(binary2_c.CheckVerifier(v).code(), Code::kAuthFailed);
}

TEST(CipherTest, KeylessCipherFailsCleanly) {
  Cipher none;
  EXPECT_FALSE(none.has_key());
  std::string out = "sentinel";
  EXPECT_EQ(none.Seal("x", kHere, &out).code(), Code::kError);
  EXPECT_EQ(none.Open(std::string(64, 'x'), kHere, &out).code(), Code::kError);
  EXPECT_EQ(none.MakeVerifier(&out).code(), Code::kError);
  EXPECT_EQ(none.CheckVerifier(std::string(72, 'x')).code(), Code::kError);
  EXPECT_EQ(out, "sentinel");
}

TEST(CipherTest, MovedFromCipherFailsCleanly) {
  Cipher a = MustDerive("pw", Cheap(0x44));
  std::string sealed = MustSeal(a, "value", kHere);

  Cipher b(std::move(a));
  EXPECT_FALSE(a.has_key());  // NOLINT(bugprone-use-after-move): the point
  ASSERT_TRUE(b.has_key());
  std::string out = "sentinel";
  EXPECT_EQ(a.Seal("x", kHere, &out).code(), Code::kError);
  EXPECT_EQ(a.Open(sealed, kHere, &out).code(), Code::kError);
  EXPECT_EQ(a.MakeVerifier(&out).code(), Code::kError);
  EXPECT_EQ(out, "sentinel");
  ASSERT_TRUE(b.Open(sealed, kHere, &out).ok());
  EXPECT_EQ(out, "value");

  // Move assignment onto a cipher that already has a (different) key.
  Cipher c = MustDerive("other", Cheap(0x44));
  c = std::move(b);
  EXPECT_FALSE(b.has_key());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.Open(sealed, kHere, &out).code(), Code::kError);
  ASSERT_TRUE(c.Open(sealed, kHere, &out).ok());
  EXPECT_EQ(out, "value");
  std::string verifier;
  ASSERT_TRUE(c.MakeVerifier(&verifier).ok());

  // A moved-from cipher can be given a key again.
  ASSERT_TRUE(Cipher::Derive("pw", Cheap(0x44), &a).ok());
  EXPECT_TRUE(a.CheckVerifier(verifier).ok());
}

TEST(CipherTest, DeriveReplacesAnExistingKey) {
  Cipher c = MustDerive("first", Cheap(0x55));
  std::string sealed = MustSeal(c, "v", kHere);
  ASSERT_TRUE(Cipher::Derive("second", Cheap(0x55), &c).ok());
  EXPECT_EQ(OpenCode(c, sealed, kHere), Code::kCorrupt);
}

TEST(CipherTest, InvalidParametersAreRejectedAndKeepOutput) {
  Cipher c = MustDerive("pw", Cheap(0x66));
  std::string verifier;
  ASSERT_TRUE(c.MakeVerifier(&verifier).ok());

  KdfParams no_passes = Cheap(0x66);
  no_passes.ops_limit = 0;
  KdfParams tiny_mem = Cheap(0x66);
  tiny_mem.mem_limit = 1024;
  KdfParams zero_mem = Cheap(0x66);
  zero_mem.mem_limit = 0;
  KdfParams huge_ops = Cheap(0x66);
  huge_ops.ops_limit = UINT64_MAX;
  KdfParams huge_mem = Cheap(0x66);
  huge_mem.mem_limit = UINT64_MAX;
  for (const KdfParams& p :
       {no_passes, tiny_mem, zero_mem, huge_ops, huge_mem}) {
    Status s = Cipher::Derive("pw", p, &c);
    EXPECT_EQ(s.code(), Code::kError) << s.ToString();
    // The failed derive left the previous key in place.
    ASSERT_TRUE(c.has_key());
    EXPECT_TRUE(c.CheckVerifier(verifier).ok());
  }
}

TEST(CipherTest, ConcurrentUseOfOneCipher) {
  const Cipher& c = Keys().main;
  constexpr int kThreads = 8;
  constexpr int kIterations = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&c, &failures, t] {
      for (int i = 0; i < kIterations; ++i) {
        const std::string key =
            "k" + std::to_string(t) + "/" + std::to_string(i);
        const std::string plain = RandomBytes(
            static_cast<size_t>(i % 300), static_cast<uint32_t>(t * 1000 + i));
        const Location where{t, key};
        std::string sealed;
        std::string back;
        if (!c.Seal(plain, where, &sealed).ok() ||
            !c.Open(sealed, where, &back).ok() || back != plain) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace snkv::crypto
