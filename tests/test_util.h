// Small helpers shared by the test programs.
#ifndef SNKV_TESTS_TEST_UTIL_H
#define SNKV_TESTS_TEST_UTIL_H

#include <cstdint>
#include <string>

struct sqlite3;

namespace snkv::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object is destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(const std::string& name) const;

 private:
  std::string path_;
};

// The whole content of a file ("" if it does not exist).
std::string ReadFile(const std::string& path);
// Replaces the file's content with `bytes`, creating it if need be.
void WriteFile(const std::string& path, const std::string& bytes);
bool FileExists(const std::string& path);

// For tests that read a family's table with a connection of their own: the
// SQL expression for a row's stored bytes in kv_<cf_id>, its v or, for an
// out-of-line value (src/kv/schema.h), the values row v refers to.
std::string StoredValueSql(sqlite3* db, int64_t cf_id);

}  // namespace snkv::test

#endif  // SNKV_TESTS_TEST_UTIL_H
