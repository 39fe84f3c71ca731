// WriteBuffer (see write_buffer.h).
#include "kv/write_buffer.h"

#include <algorithm>
#include <functional>
#include <string_view>

#include "kv/store_core.h"  // ColumnFamilyState

namespace snkv::internal {

namespace {
// Memory kept by Trim() for the next transaction: one large transaction
// must not pin its memory for the life of the handle.
constexpr size_t kKeepBytes = size_t{1} << 20;
}  // namespace

size_t WriteBuffer::SlotOf(const ColumnFamilyState& family) const noexcept {
  // Writes usually come in runs for one family: look at the last one first.
  const size_t n = families_.size();
  if (n > 0 && families_.back().get() == &family) return n - 1;
  auto it = std::find_if(
      families_.begin(), families_.end(),
      [&family](const auto& known) { return known.get() == &family; });
  return static_cast<size_t>(it - families_.begin());
}

void WriteBuffer::Add(ColumnFamilyState& family, Slice key, Slice value,
                      int64_t expires) {
  Append(family, key, value, expires, /*erase=*/false);
}

void WriteBuffer::AddErase(ColumnFamilyState& family, Slice key) {
  Append(family, key, Slice(), 0, /*erase=*/true);
}

void WriteBuffer::Append(ColumnFamilyState& family, Slice key, Slice value,
                         int64_t expires, bool erase) {
  const size_t slot = SlotOf(family);
  const size_t old_arena = arena_.size();
  const bool new_family = slot == families_.size();
  if (new_family) families_.push_back(family.shared_from_this());
  // Still in order if this entry comes strictly after the previous one.
  const bool follows = entries_.empty() || slot > entries_.back().family ||
                       (slot == entries_.back().family &&
                        KeyOf(entries_.back()).compare(key) < 0);
  try {
    // Room in the index first, so that indexing below cannot fail.
    if (!slots_.empty() && 2 * (entries_.size() + 1) > slots_.size()) {
      Reindex(2 * (entries_.size() + 1));
    }
    arena_.append(key.data(), key.size());
    arena_.append(value.data(), value.size());
    entries_.push_back(
        Entry{static_cast<uint32_t>(slot), static_cast<uint32_t>(key.size()),
              static_cast<uint32_t>(value.size()), expires, old_arena, erase});
  } catch (...) {
    arena_.resize(old_arena);
    if (new_family) families_.pop_back();
    throw;
  }
  in_order_ = in_order_ && follows;
  has_erase_ = has_erase_ || erase;
  if (!slots_.empty()) IndexEntry(static_cast<uint32_t>(entries_.size() - 1));
}

size_t WriteBuffer::HashOf(uint32_t family, Slice key) noexcept {
  const size_t h =
      std::hash<std::string_view>{}(std::string_view(key.data(), key.size()));
  return h ^ (size_t{family} * 0x9E3779B97F4A7C15u);
}

void WriteBuffer::IndexEntry(uint32_t i) noexcept {
  const Entry& e = entries_[i];
  const Slice key = KeyOf(e);
  const size_t mask = slots_.size() - 1;
  for (size_t at = HashOf(e.family, key) & mask;; at = (at + 1) & mask) {
    const uint32_t held = slots_[at];
    if (held == 0 || (entries_[held - 1].family == e.family &&
                      KeyOf(entries_[held - 1]) == key)) {
      slots_[at] = i + 1;
      return;
    }
  }
}

void WriteBuffer::Reindex(size_t entries) {
  size_t size = 64;
  while (size < 2 * entries) size *= 2;
  std::vector<uint32_t> fresh(size, 0);  // may throw: slots_ is unchanged
  slots_.swap(fresh);
  for (uint32_t i = 0; i < entries_.size(); ++i) IndexEntry(i);
}

WriteBuffer::Last WriteBuffer::Find(const ColumnFamilyState& family, Slice key,
                                    int64_t* expires) {
  if (entries_.empty()) return Last::kNothing;
  const size_t slot = SlotOf(family);
  if (slot == families_.size()) return Last::kNothing;
  if (slots_.empty()) Reindex(entries_.size());
  const size_t mask = slots_.size() - 1;
  const auto fam = static_cast<uint32_t>(slot);
  for (size_t at = HashOf(fam, key) & mask;; at = (at + 1) & mask) {
    const uint32_t held = slots_[at];
    if (held == 0) return Last::kNothing;
    const Entry& e = entries_[held - 1];
    if (e.family == fam && KeyOf(e) == key) {
      if (e.erase) return Last::kErase;
      *expires = e.expires;
      return Last::kPut;
    }
  }
}

std::span<const WriteBuffer::Put> WriteBuffer::Sorted() {
  auto before = [this](const Entry& a, const Entry& b) {
    if (a.family != b.family) return a.family < b.family;
    return KeyOf(a).compare(KeyOf(b)) < 0;
  };
  // Puts in key order (sequential loads) are common and need no sorting
  // (measured: the sort was 6% of a sequential load's instructions).
  if (!in_order_) {
    // Stable: of several entries of one key, the last added stays last.
    std::stable_sort(entries_.begin(), entries_.end(), before);
    slots_.clear();  // entry numbers moved; Find() would rebuild it
  }
  sorted_.clear();
  sorted_.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    const bool overwritten = !in_order_ && i + 1 < entries_.size() &&
                             entries_[i + 1].family == e.family &&
                             KeyOf(entries_[i + 1]) == KeyOf(e);
    if (overwritten) continue;
    sorted_.push_back(
        Put{families_[e.family].get(), KeyOf(e),
            Slice(arena_.data() + e.offset + e.key_size, e.value_size),
            e.expires, e.erase});
  }
  return sorted_;
}

void WriteBuffer::Clear() noexcept {
  in_order_ = true;
  has_erase_ = false;
  families_.clear();
  entries_.clear();
  sorted_.clear();
  arena_.clear();
  slots_.clear();
}

void WriteBuffer::Trim() noexcept {
  const size_t held = arena_.capacity() + entries_.capacity() * sizeof(Entry) +
                      sorted_.capacity() * sizeof(Put) +
                      slots_.capacity() * sizeof(uint32_t);
  if (held <= kKeepBytes) return;
  std::string().swap(arena_);
  std::vector<Entry>().swap(entries_);
  std::vector<Put>().swap(sorted_);
  std::vector<uint32_t>().swap(slots_);
}

}  // namespace snkv::internal
