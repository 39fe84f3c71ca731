// JsonMatch: the JSON field-equality filter of the C API. A filter such as
// {"tag": "ai", "year": 2024} accepts an item whose metadata is a JSON
// object whose fields "tag" and "year" equal those values (numbers compare
// by value, objects and arrays structurally, object key order ignored).
//
// Parsing is strict JSON, depth-limited and never trusts lengths: metadata
// is whatever callers stored, and filters come from callers too.
#ifndef SNKV_VECTOR_JSON_MATCH_H
#define SNKV_VECTOR_JSON_MATCH_H

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snkv::vector {

// Parses a JSON object into (field, canonical value) pairs sorted by field.
// The canonical form of two values is equal iff the values are equal.
// False if `text` is not a JSON object (or nests deeper than 64).
bool ParseJsonObject(std::string_view text,
                     std::vector<std::pair<std::string, std::string>>* fields);

// True if `text` is one well-formed JSON value.
bool IsValidJson(std::string_view text);

class JsonMatch {
 public:
  // False (and an error text) if `filter` is not a JSON object.
  bool Parse(std::string_view filter, std::string* error);
  // True if `metadata` is an object holding every field of the filter. An
  // item without metadata, or with metadata that is not a JSON object,
  // matches only the empty filter {}.
  bool Matches(const std::string_view* metadata) const;

 private:
  std::vector<std::pair<std::string, std::string>> want_;
};

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_JSON_MATCH_H
