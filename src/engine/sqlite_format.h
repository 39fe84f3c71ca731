// Decoding SQLite's on-disk format (its "Database File Format" document,
// fileformat2.html in Debian's sqlite3-doc): big-endian integers, varints
// and record serial types. Every reader is bounds-checked: the bytes may
// come from a damaged file.
#ifndef SNKV_ENGINE_SQLITE_FORMAT_H
#define SNKV_ENGINE_SQLITE_FORMAT_H

#include <cstddef>
#include <cstdint>

namespace snkv::engine::format {

inline uint32_t Get16(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 8) | p[1];
}
inline uint32_t Get32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | p[3];
}

// Reads the varint at p[0..limit) into *v. Returns its length (1-9), or 0
// if it runs past `limit`.
inline size_t GetVarint(const uint8_t* p, size_t limit, uint64_t* v) noexcept {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i) {
    if (i >= limit) return 0;
    x = (x << 7) | (p[i] & 0x7f);
    if ((p[i] & 0x80) == 0) {
      *v = x;
      return i + 1;
    }
  }
  if (limit < 9) return 0;
  *v = (x << 8) | p[8];  // the ninth byte contributes all eight bits
  return 9;
}

// Serial types of a record field.
inline constexpr uint64_t kSerialNull = 0;
inline constexpr uint64_t kSerialFirstBlob = 12;  // even >= 12: blob

inline bool IsBlob(uint64_t serial) noexcept {
  return serial >= kSerialFirstBlob && serial % 2 == 0;
}
inline bool IsInteger(uint64_t serial) noexcept {
  return (serial >= 1 && serial <= 6) || serial == 8 || serial == 9;
}
// Bytes a field of `serial` occupies in the record body (0 for the
// reserved types 10 and 11, which no valid record holds).
inline uint64_t SerialSize(uint64_t serial) noexcept {
  static constexpr uint8_t kFixed[] = {0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0};
  if (serial < 12) return kFixed[serial];
  return (serial - 12) / 2;
}
// The integer of an integer field (IsInteger(serial)); `p` holds
// SerialSize(serial) bytes.
inline int64_t GetInteger(uint64_t serial, const uint8_t* p) noexcept {
  if (serial == 8) return 0;
  if (serial == 9) return 1;
  const uint64_t n = SerialSize(serial);
  // Sign-extend from the first byte, then shift the rest in.
  auto x =
      static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(p[0])));
  for (uint64_t i = 1; i < n; ++i) x = (x << 8) | p[i];
  return static_cast<int64_t>(x);
}

// Layout constants.
inline constexpr size_t kFileHeaderSize = 100;  // page 1 starts with it
inline constexpr size_t kSchemaCookieOffset = 40;
inline constexpr size_t kReservedBytesOffset = 20;
inline constexpr size_t kChangeCounterOffset = 24;
inline constexpr size_t kDbPagesOffset = 28;
inline constexpr size_t kValidForOffset = 92;
inline constexpr size_t kWalHeaderSize = 32;
inline constexpr size_t kWalFrameHeaderSize = 24;
inline constexpr uint8_t kIndexInteriorPage = 0x02;
inline constexpr uint8_t kIndexLeafPage = 0x0a;
inline constexpr uint8_t kTableInteriorPage = 0x05;
inline constexpr uint8_t kTableLeafPage = 0x0d;

}  // namespace snkv::engine::format

#endif  // SNKV_ENGINE_SQLITE_FORMAT_H
