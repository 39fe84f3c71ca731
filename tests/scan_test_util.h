// Helpers for the tests of scans over keys k00000, k00001, ...: the rows a
// scan hands out, the rows a test expects, and a stepwise drain to compare
// other ways of reading (batches, long scans) against.
#ifndef SNKV_TESTS_SCAN_TEST_UTIL_H
#define SNKV_TESTS_SCAN_TEST_UTIL_H

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "snkv/snkv.h"

namespace snkv::test {

// (key, value) rows in the order a scan handed them out.
using Entries = std::vector<std::pair<std::string, std::string>>;

// "k" and i in five digits, so that keys sort as their numbers do.
inline std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%05d", i);
  return buf;
}

// Key(i) with value_for(i), for i in [from, to), ascending. Each test
// program has its own value_for: the sizes that matter to what it tests.
inline Entries Expected(int from, int to, std::string (*value_for)(int)) {
  Entries out;
  for (int i = from; i < to; ++i) out.emplace_back(Key(i), value_for(i));
  return out;
}

inline Entries Reversed(Entries e) {
  std::reverse(e.begin(), e.end());
  return e;
}

// The rows from the iterator's position to its end, stepping with Next()
// if `forward`, else with Prev() (whatever the iterator's own direction);
// expects the scan to end without an error.
inline Entries Drain(Iterator& it, bool forward) {
  Entries out;
  for (; it.Valid(); forward ? (void)it.Next() : (void)it.Prev()) {
    out.emplace_back(std::string(it.key().view()),
                     std::string(it.value().view()));
  }
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

}  // namespace snkv::test

#endif  // SNKV_TESTS_SCAN_TEST_UTIL_H
