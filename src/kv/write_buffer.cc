// WriteBuffer (see write_buffer.h).
#include "kv/write_buffer.h"

#include <algorithm>

#include "kv/store_core.h"  // ColumnFamilyState

namespace snkv::internal {

namespace {
// Memory kept by Trim() for the next transaction: one large transaction
// must not pin its memory for the life of the handle.
constexpr size_t kKeepBytes = size_t{1} << 20;
}  // namespace

void WriteBuffer::Add(ColumnFamilyState& family, Slice key, Slice value,
                      int64_t expires) {
  // Puts usually come in runs for one family: look at the last one first.
  auto slot = families_.size();
  if (slot > 0 && families_.back().get() == &family) {
    slot -= 1;
  } else {
    auto it = std::find_if(
        families_.begin(), families_.end(),
        [&family](const auto& known) { return known.get() == &family; });
    slot = static_cast<size_t>(it - families_.begin());
  }
  const size_t old_arena = arena_.size();
  const bool new_family = slot == families_.size();
  if (new_family) families_.push_back(family.shared_from_this());
  // Still in order if this put comes strictly after the previous one.
  const bool follows = entries_.empty() || slot > entries_.back().family ||
                       (slot == entries_.back().family &&
                        KeyOf(entries_.back()).compare(key) < 0);
  try {
    arena_.append(key.data(), key.size());
    arena_.append(value.data(), value.size());
    entries_.push_back(
        Entry{static_cast<uint32_t>(slot), static_cast<uint32_t>(key.size()),
              static_cast<uint32_t>(value.size()), expires, old_arena});
  } catch (...) {
    arena_.resize(old_arena);
    if (new_family) families_.pop_back();
    throw;
  }
  in_order_ = in_order_ && follows;
}

std::span<const WriteBuffer::Put> WriteBuffer::Sorted() {
  auto before = [this](const Entry& a, const Entry& b) {
    if (a.family != b.family) return a.family < b.family;
    return KeyOf(a).compare(KeyOf(b)) < 0;
  };
  // Puts in key order (sequential loads) are common and need no sorting
  // (measured: the sort was 6% of a sequential load's instructions).
  if (!in_order_) {
    // Stable: of several puts to one key, the last added stays last.
    std::stable_sort(entries_.begin(), entries_.end(), before);
  }
  sorted_.clear();
  sorted_.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    const bool overwritten = !in_order_ && i + 1 < entries_.size() &&
                             entries_[i + 1].family == e.family &&
                             KeyOf(entries_[i + 1]) == KeyOf(e);
    if (overwritten) continue;
    sorted_.push_back(Put{
        families_[e.family].get(), KeyOf(e),
        Slice(arena_.data() + e.offset + e.key_size, e.value_size), e.expires});
  }
  return sorted_;
}

void WriteBuffer::Clear() noexcept {
  in_order_ = true;
  families_.clear();
  entries_.clear();
  sorted_.clear();
  arena_.clear();
}

void WriteBuffer::Trim() noexcept {
  const size_t held = arena_.capacity() + entries_.capacity() * sizeof(Entry) +
                      sorted_.capacity() * sizeof(Put);
  if (held <= kKeepBytes) return;
  std::string().swap(arena_);
  std::vector<Entry>().swap(entries_);
  std::vector<Put>().swap(sorted_);
}

}  // namespace snkv::internal
