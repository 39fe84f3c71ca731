// Small helpers shared by the test programs.
#ifndef SNKV_TESTS_TEST_UTIL_H
#define SNKV_TESTS_TEST_UTIL_H

#include <string>

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

}  // namespace snkv::test

#endif  // SNKV_TESTS_TEST_UTIL_H
