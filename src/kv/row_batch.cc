#include "kv/row_batch.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

namespace snkv::internal {

namespace {

// Byte-wise three-way comparison (as Slice::compare) inlined, a word at a
// time: for keys of a few bytes the call into memcmp and its set-up cost
// more than the comparison (its samples were 6 % of a full scan, and the
// prefix check's as much again in a prefix scan).
int CompareKeys(Slice a, Slice b) noexcept {
  const size_t n = std::min(a.size(), b.size());
  const char* p = a.data();
  const char* q = b.data();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x = 0;
    uint64_t y = 0;
    std::memcpy(&x, p + i, 8);
    std::memcpy(&y, q + i, 8);
    if (x != y) {
      if constexpr (std::endian::native == std::endian::little) {
        x = __builtin_bswap64(x);  // the first byte decides: most significant
        y = __builtin_bswap64(y);
      }
      return x < y ? -1 : 1;
    }
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    const auto d = static_cast<unsigned char>(q[i]);
    if (c != d) return c < d ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

bool StartsWith(Slice key, Slice prefix) noexcept {
  return key.size() >= prefix.size() &&
         CompareKeys(Slice(key.data(), prefix.size()), prefix) == 0;
}

Slice ValueBytes(sqlite3_value* v) {
  const void* data = sqlite3_value_blob(v);
  const int size = sqlite3_value_bytes(v);
  if (data == nullptr || size <= 0) return Slice();
  return Slice(static_cast<const char*>(data), static_cast<size_t>(size));
}

void Collect(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  RowBatch* batch = *static_cast<RowBatch**>(sqlite3_user_data(ctx));
  if (batch == nullptr) {
    sqlite3_result_error(ctx, "snkv_collect: no batch is being filled", -1);
    return;
  }
  const bool has_expiry =
      argc == 3 && sqlite3_value_type(argv[2]) != SQLITE_NULL;
  const int64_t expires = has_expiry ? sqlite3_value_int64(argv[2]) : 0;
  if (batch->full()) {
    // SQLite went on after we asked it to stop: never drop a row.
    sqlite3_result_error(ctx, "snkv_collect: called on a full batch", -1);
    return;
  }
  try {
    bool stop = false;
    switch (sqlite3_value_type(argv[1])) {
      case SQLITE_BLOB:
        stop = batch->Collect(ValueBytes(argv[0]), ValueBytes(argv[1]),
                              has_expiry, expires);
        break;
      case SQLITE_INTEGER: {  // out of line: resolved after the step
        const int64_t ref = sqlite3_value_int64(argv[1]);
        char bytes[sizeof ref];
        std::memcpy(bytes, &ref, sizeof ref);
        stop = batch->Collect(ValueBytes(argv[0]), Slice(bytes, sizeof bytes),
                              has_expiry, expires, RowBatch::ValueKind::kRef);
        break;
      }
      default:
        stop = batch->Collect(ValueBytes(argv[0]), Slice(), has_expiry, expires,
                              RowBatch::ValueKind::kBad);
        break;
    }
    sqlite3_result_int(ctx, stop ? 1 : 0);
  } catch (const std::bad_alloc&) {  // never unwind through SQLite
    sqlite3_result_error_nomem(ctx);
  }
}

}  // namespace

void RowBatch::Start(Slice prefix, int64_t now_ms, Direction direction,
                     size_t max_rows) {
  Clear();
  forward_ = direction == Direction::kForward;
  prefix_ = prefix;
  now_ms_ = now_ms;
  max_rows_ = std::clamp<size_t>(max_rows, 1, kMaxRows);
}

void RowBatch::RaiseLimit() noexcept {
  max_rows_ = std::min(max_rows_ * 2, kMaxRows);
}

void RowBatch::Clear() noexcept {
  // A huge row grew the buffer: give that memory back rather than keep it
  // for the iterator's life.
  if (capacity_ > 4 * kMaxBytes) {
    bytes_.reset();
    capacity_ = 0;
  }
  used_ = 0;
  count_ = 0;
  first_disorder_ = kMaxRows;
  at_end_ = false;
  has_refs_ = false;
  error_ = Status::OK();
}

RowBatch::Row RowBatch::row(size_t i) const noexcept {
  const Offsets& o = rows_[i];
  const char* key = bytes_.get() + o.key;
  return {Slice(key, o.key_size), Slice(key + o.key_size, o.value_size)};
}

Slice RowBatch::Span(size_t first, size_t n) const noexcept {
  const Offsets& last = rows_[first + n - 1];
  const size_t begin = rows_[first].key;
  const size_t end = last.key + last.key_size + last.value_size;
  return Slice(bytes_.get() + begin, end - begin);
}

void RowBatch::Grow(size_t more) {
  size_t capacity = std::max(capacity_ * 2, kMaxBytes * 2);
  while (capacity - used_ < more) capacity *= 2;
  auto bytes = std::make_unique_for_overwrite<char[]>(capacity);
  if (used_ > 0) std::memcpy(bytes.get(), bytes_.get(), used_);
  bytes_ = std::move(bytes);
  capacity_ = capacity;
}

bool RowBatch::Collect(Slice key, Slice value, bool has_expiry, int64_t expires,
                       ValueKind kind) {
  // In key order, every row after one outside the prefix is outside too.
  if (!prefix_.empty() && !StartsWith(key, prefix_)) {
    at_end_ = true;
    return true;
  }
  if (has_expiry && expires <= now_ms_) return false;  // invisible
  const size_t size = key.size() + value.size();
  if (bytes_ == nullptr || capacity_ - used_ < size) Grow(size);
  char* out = bytes_.get() + used_;
  std::memcpy(out, key.data(), key.size());
  std::memcpy(out + key.size(), value.data(), value.size());
  if (count_ > 0 && first_disorder_ == kMaxRows) {
    // Compares the copies: both keys are in the batch's buffer, in cache.
    const Offsets& prev = rows_[count_ - 1];
    const int c = CompareKeys(Slice(out, key.size()),
                              Slice(bytes_.get() + prev.key, prev.key_size));
    if (forward_ ? c <= 0 : c >= 0) first_disorder_ = count_;
  }
  rows_[count_++] = {used_, key.size(), value.size(), kind};
  if (kind != ValueKind::kBlob) has_refs_ = true;
  used_ += size;
  return count_ == max_rows_ || used_ >= kMaxBytes;
}

void RowBatch::ResolveRefs(
    const std::function<Status(int64_t ref, std::string* out)>& resolve) {
  if (!has_refs_) return;
  // Rebuilt into a new buffer, rows back to back as Span() needs them;
  // offsets change only once it is complete.
  std::string resolved;
  std::string fresh;
  std::array<Offsets, kMaxRows> rows = rows_;
  size_t kept = 0;
  Status error;
  for (; kept < count_; ++kept) {
    Offsets& o = rows[kept];
    const char* key = bytes_.get() + o.key;
    if (o.kind == ValueKind::kBad) {
      error = Status::Corrupt(
          "a column family row has a value of a type snkv never writes");
      break;
    }
    if (o.kind == ValueKind::kRef) {
      int64_t ref = 0;
      std::memcpy(&ref, key + o.key_size, sizeof ref);
      error = resolve(ref, &resolved);
      if (!error.ok()) break;
    }
    const size_t key_at = fresh.size();
    fresh.append(key, o.key_size);
    if (o.kind == ValueKind::kRef) {
      fresh.append(resolved);
      o.value_size = resolved.size();
      o.kind = ValueKind::kBlob;
    } else {
      fresh.append(key + o.key_size, o.value_size);
    }
    o.key = key_at;
  }
  auto bytes = std::make_unique_for_overwrite<char[]>(fresh.size() + 1);
  std::memcpy(bytes.get(), fresh.data(), fresh.size());
  rows_ = rows;
  bytes_ = std::move(bytes);
  capacity_ = fresh.size() + 1;
  used_ = fresh.size();
  count_ = kept;
  // first_disorder_ stays right: rows were only dropped from the end.
  has_refs_ = false;
  if (!error.ok()) {
    error_ = std::move(error);
    at_end_ = true;
  }
}

Status RegisterCollectFunction(sqlite3* db, RowBatch** slot) {
  // Not deterministic (it has a side effect), and callable only from our
  // own statements, never from a schema object of a crafted file.
  const int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
  for (int args : {2, 3}) {
    int rc = sqlite3_create_function_v2(db, "snkv_collect", args, flags, slot,
                                        Collect, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return Status::Error(std::string("cannot register snkv_collect: ") +
                           sqlite3_errstr(rc));
    }
  }
  return Status::OK();
}

}  // namespace snkv::internal
