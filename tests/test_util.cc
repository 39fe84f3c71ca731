#include "test_util.h"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace snkv::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/snkv-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::file(const std::string& name) const {
  return path_ + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool FileExists(const std::string& path) {
  return std::filesystem::exists(path);
}

}  // namespace snkv::test

namespace snkv::test {

std::string StoredValueSql(sqlite3* db, int64_t cf_id) {
  const std::string t = "kv_" + std::to_string(cf_id);
  sqlite3_stmt* st = nullptr;
  bool out_of_line = false;
  if (sqlite3_prepare_v2(db,
                         "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
                         -1, &st, nullptr) == SQLITE_OK) {
    const std::string values = t + "_values";
    sqlite3_bind_text(st, 1, values.c_str(), -1, SQLITE_TRANSIENT);
    out_of_line =
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == 1;
  }
  sqlite3_finalize(st);
  if (!out_of_line) return "v";
  return "CASE typeof(v) WHEN 'integer' THEN (SELECT x.v FROM " + t +
         "_values x WHERE x.id = " + t + ".v) ELSE v END";
}

}  // namespace snkv::test
