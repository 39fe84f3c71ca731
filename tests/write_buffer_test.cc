// WriteBuffer on its own: the order it hands puts out in, which put of a
// key survives, and what it holds on to.
#include "kv/write_buffer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "kv/store_core.h"

namespace snkv::internal {
namespace {

std::shared_ptr<ColumnFamilyState> Family(int64_t id) {
  auto cf = std::make_shared<ColumnFamilyState>();
  cf->id = id;
  return cf;
}

// (family id, key, value) of each put Sorted() hands out.
std::vector<std::string> Describe(WriteBuffer& buffer) {
  std::vector<std::string> out;
  for (const WriteBuffer::Put& put : buffer.Sorted()) {
    out.push_back(std::to_string(put.family->id) + ":" + put.key.ToString() +
                  (put.erase ? std::string(" erased")
                             : "=" + put.value.ToString() + "@" +
                                   std::to_string(put.expires)));
  }
  return out;
}

TEST(WriteBuffer, HandsPutsOutByFamilyThenKey) {
  auto a = Family(1);
  auto b = Family(2);
  WriteBuffer buffer;
  buffer.Add(*b, "m", "1", 0);
  buffer.Add(*a, "z", "2", 0);
  buffer.Add(*b, "c", "3", 0);
  buffer.Add(*a, "b", "4", 7);
  EXPECT_EQ(Describe(buffer), (std::vector<std::string>{"2:c=3@0", "2:m=1@0",
                                                        "1:b=4@7", "1:z=2@0"}));
}

TEST(WriteBuffer, OnlyTheLastPutOfAKeyRemains) {
  auto a = Family(1);
  auto b = Family(2);
  WriteBuffer buffer;
  buffer.Add(*a, "k", "first", 5);
  buffer.Add(*b, "k", "other family", 0);
  buffer.Add(*a, "j", "x", 0);
  buffer.Add(*a, "k", "second", 0);
  buffer.Add(*a, "k", "third", 9);
  EXPECT_EQ(Describe(buffer),
            (std::vector<std::string>{"1:j=x@0", "1:k=third@9",
                                      "2:k=other family@0"}));
}

// Puts that arrive in order skip the sort; the first one out of order, a
// repeated key or a family seen before must still be handled.
TEST(WriteBuffer, PutsThatStopArrivingInOrderAreStillSorted) {
  auto a = Family(1);
  auto b = Family(2);
  WriteBuffer repeated;
  repeated.Add(*a, "a", "1", 0);
  repeated.Add(*a, "b", "2", 0);
  repeated.Add(*a, "b", "3", 0);
  EXPECT_EQ(Describe(repeated),
            (std::vector<std::string>{"1:a=1@0", "1:b=3@0"}));

  WriteBuffer families;
  families.Add(*a, "x", "1", 0);
  families.Add(*b, "a", "2", 0);
  families.Add(*a, "y", "3", 0);
  EXPECT_EQ(Describe(families),
            (std::vector<std::string>{"1:x=1@0", "1:y=3@0", "2:a=2@0"}));

  WriteBuffer reused;
  reused.Add(*a, "b", "1", 0);
  reused.Add(*a, "a", "2", 0);
  EXPECT_EQ(Describe(reused), (std::vector<std::string>{"1:a=2@0", "1:b=1@0"}));
  reused.Clear();  // in order again from here
  reused.Add(*a, "c", "3", 0);
  reused.Add(*a, "c", "4", 0);
  EXPECT_EQ(Describe(reused), (std::vector<std::string>{"1:c=4@0"}));
}

TEST(WriteBuffer, KeysCompareAsUnsignedBytes) {
  auto a = Family(1);
  WriteBuffer buffer;
  buffer.Add(*a, std::string("\xff", 1), "ff", 0);
  buffer.Add(*a, std::string("a\0b", 3), "a0b", 0);
  buffer.Add(*a, "a", "a", 0);
  buffer.Add(*a, "", "empty", 0);
  buffer.Add(*a, std::string("\x80", 1), "80", 0);
  std::vector<std::string> values;
  for (const auto& put : buffer.Sorted())
    values.push_back(put.value.ToString());
  EXPECT_EQ(values,
            (std::vector<std::string>{"empty", "a", "a0b", "80", "ff"}));
}

TEST(WriteBuffer, ValuesSurviveTheArenaGrowing) {
  auto a = Family(1);
  WriteBuffer buffer;
  for (int i = 999; i >= 0; --i) {
    std::string key = "key" + std::to_string(10000 + i);
    buffer.Add(*a, key, std::string(static_cast<size_t>(i % 300), 'v'), 0);
  }
  auto puts = buffer.Sorted();
  ASSERT_EQ(puts.size(), 1000u);
  for (size_t i = 0; i < puts.size(); ++i) {
    EXPECT_EQ(puts[i].key.ToString(), "key" + std::to_string(10000 + i));
    EXPECT_EQ(puts[i].value.size(), i % 300);
  }
}

TEST(WriteBuffer, CountsItsMemoryAndReleasesFamiliesOnClear) {
  auto a = Family(1);
  WriteBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.memory(), 0u);
  buffer.Add(*a, "key", std::string(1000, 'v'), 0);
  EXPECT_EQ(buffer.size(), 1u);
  EXPECT_GE(buffer.memory(), 1003u);
  EXPECT_EQ(a.use_count(), 2);  // the buffer keeps the family alive
  buffer.Clear();
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.memory(), 0u);
  EXPECT_EQ(a.use_count(), 1);
  EXPECT_TRUE(buffer.Sorted().empty());
}

TEST(WriteBuffer, AnEraseAndAPutOfAKeyEndAsTheLastOne) {
  auto a = Family(1);
  auto b = Family(2);
  WriteBuffer buffer;
  buffer.Add(*a, "k", "1", 0);
  buffer.AddErase(*a, "k");  // put, then erase: erased
  buffer.AddErase(*a, "j");
  buffer.Add(*a, "j", "2", 4);  // erase, then put: put
  buffer.AddErase(*b, "k");     // another family's key is its own
  buffer.AddErase(*a, "a");
  EXPECT_EQ(Describe(buffer),
            (std::vector<std::string>{"1:a erased", "1:j=2@4", "1:k erased",
                                      "2:k erased"}));
}

TEST(WriteBuffer, FindTellsTheLastWriteOfAKey) {
  auto a = Family(1);
  auto b = Family(2);
  WriteBuffer buffer;
  int64_t expires = -1;
  EXPECT_EQ(buffer.Find(*a, "k", &expires), WriteBuffer::Last::kNothing);
  buffer.Add(*a, "k", "1", 0);
  buffer.Add(*a, "t", "2", 77);
  // The first Find indexes what is there; later adds are indexed as made.
  EXPECT_EQ(buffer.Find(*a, "t", &expires), WriteBuffer::Last::kPut);
  EXPECT_EQ(expires, 77);
  EXPECT_EQ(buffer.Find(*b, "k", &expires), WriteBuffer::Last::kNothing);
  buffer.AddErase(*a, "k");
  EXPECT_EQ(buffer.Find(*a, "k", &expires), WriteBuffer::Last::kErase);
  buffer.Add(*a, "k", "3", 5);
  EXPECT_EQ(buffer.Find(*a, "k", &expires), WriteBuffer::Last::kPut);
  EXPECT_EQ(expires, 5);
  EXPECT_EQ(buffer.Find(*a, "absent", &expires), WriteBuffer::Last::kNothing);
  // Enough keys to grow the index many times, in an order that sorts.
  for (int i = 5000; i > 0; --i) {
    if (i % 3 == 0)
      buffer.AddErase(*b, "key" + std::to_string(i));
    else
      buffer.Add(*b, "key" + std::to_string(i), "v", i);
  }
  for (int i = 1; i <= 5000; ++i) {
    const WriteBuffer::Last last =
        buffer.Find(*b, "key" + std::to_string(i), &expires);
    if (i % 3 == 0) {
      ASSERT_EQ(last, WriteBuffer::Last::kErase) << i;
    } else {
      ASSERT_EQ(last, WriteBuffer::Last::kPut) << i;
      ASSERT_EQ(expires, i);
    }
  }
  // Sorted() reorders the entries; Find still answers, and Clear forgets.
  EXPECT_EQ(buffer.Sorted().size(), 5002u);
  EXPECT_EQ(buffer.Find(*a, "k", &expires), WriteBuffer::Last::kPut);
  EXPECT_EQ(buffer.Find(*b, "key3", &expires), WriteBuffer::Last::kErase);
  buffer.Clear();
  EXPECT_EQ(buffer.Find(*a, "k", &expires), WriteBuffer::Last::kNothing);
}

}  // namespace
}  // namespace snkv::internal
