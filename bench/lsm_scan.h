// Scans shared by the LevelDB and RocksDB backends, whose iterators have the
// same interface (SeekToFirst, SeekToLast, Seek, Next, Prev, Valid, key,
// value). Each returns the number of entries visited; the caller checks the
// iterator's status, whose type differs between the two libraries.
#ifndef SNKV_BENCH_LSM_SCAN_H
#define SNKV_BENCH_LSM_SCAN_H

#include <cstdint>
#include <string_view>

#include "backend.h"

namespace bench {

template <class Slice>
std::string_view LsmView(const Slice& s) {
  return {s.data(), s.size()};
}

// Visits entries from the iterator's position, moving with step(), while
// more(key, visited so far) holds and visit() asks for more.
template <class Iter, class Step, class More>
uint64_t LsmWalk(Iter& it, Step step, More more, const Visit& visit) {
  uint64_t n = 0;
  for (; it->Valid() && more(LsmView(it->key()), n); step()) {
    ++n;
    if (!visit(LsmView(it->key()), LsmView(it->value()))) break;
  }
  return n;
}

template <class Iter>
uint64_t LsmScan(Iter& it, const Visit& visit) {
  it->SeekToFirst();
  return LsmWalk(
      it, [&] { it->Next(); }, [](std::string_view, uint64_t) { return true; },
      visit);
}

template <class Iter>
uint64_t LsmReverseScan(Iter& it, const Visit& visit) {
  it->SeekToLast();
  return LsmWalk(
      it, [&] { it->Prev(); }, [](std::string_view, uint64_t) { return true; },
      visit);
}

template <class Iter>
uint64_t LsmPrefixScan(Iter& it, std::string_view prefix, const Visit& visit) {
  using Slice = decltype(it->key());
  it->Seek(Slice(prefix.data(), prefix.size()));
  return LsmWalk(
      it, [&] { it->Next(); },
      [&](std::string_view key, uint64_t) { return key.starts_with(prefix); },
      visit);
}

template <class Iter>
uint64_t LsmRange(Iter& it, std::string_view start, uint64_t limit,
                  const Visit& visit) {
  using Slice = decltype(it->key());
  it->Seek(Slice(start.data(), start.size()));
  return LsmWalk(
      it, [&] { it->Next(); },
      [&](std::string_view, uint64_t n) { return n < limit; }, visit);
}

}  // namespace bench

#endif  // SNKV_BENCH_LSM_SCAN_H
