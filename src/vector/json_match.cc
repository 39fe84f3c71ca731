// JsonMatch: a small strict JSON parser producing canonical forms.
#include "vector/json_match.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace snkv::vector {

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  // Parses one value into its canonical form `out`.
  bool Value(std::string* out, int depth) {
    if (depth > kMaxDepth) return false;
    Space();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') return Object(out, nullptr, depth);
    if (c == '[') return Array(out, depth);
    if (c == '"') {
      std::string str;
      if (!String(&str)) return false;
      *out = "s" + str;
      return true;
    }
    if (Literal("true")) return *out = "t", true;
    if (Literal("false")) return *out = "f", true;
    if (Literal("null")) return *out = "z", true;
    return Number(out);
  }

  // An object; its fields also go to `fields` when given.
  bool Object(std::string* out,
              std::vector<std::pair<std::string, std::string>>* fields,
              int depth) {
    if (depth > kMaxDepth || !Eat('{')) return false;
    std::vector<std::pair<std::string, std::string>> f;
    Space();
    if (!Eat('}')) {
      for (;;) {
        Space();
        std::string key, value;
        if (!String(&key)) return false;
        Space();
        if (!Eat(':') || !Value(&value, depth + 1)) return false;
        f.emplace_back(std::move(key), std::move(value));
        Space();
        if (Eat('}')) break;
        if (!Eat(',')) return false;
      }
    }
    // Later duplicates win, as in most JSON readers.
    std::stable_sort(f.begin(), f.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
    std::vector<std::pair<std::string, std::string>> unique;
    for (auto& kv : f) {
      if (!unique.empty() && unique.back().first == kv.first) {
        unique.back().second = std::move(kv.second);
      } else {
        unique.push_back(std::move(kv));
      }
    }
    out->assign("{");
    for (const auto& [k, v] : unique) {
      Length(out, k);
      Length(out, v);
    }
    out->push_back('}');
    if (fields) *fields = std::move(unique);
    return true;
  }

  bool AtEnd() {
    Space();
    return i_ == s_.size();
  }

 private:
  // Length-prefixed pieces keep canonical forms unambiguous.
  static void Length(std::string* out, const std::string& piece) {
    *out += std::to_string(piece.size());
    out->push_back(':');
    *out += piece;
  }

  bool Array(std::string* out, int depth) {
    if (!Eat('[')) return false;
    out->assign("[");
    Space();
    if (Eat(']')) return out->push_back(']'), true;
    for (;;) {
      std::string v;
      if (!Value(&v, depth + 1)) return false;
      Length(out, v);
      Space();
      if (Eat(']')) break;
      if (!Eat(',')) return false;
    }
    out->push_back(']');
    return true;
  }

  bool String(std::string* out) {
    if (!Eat('"')) return false;
    out->clear();
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          unsigned cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {  // surrogate pair
            unsigned lo;
            if (!Eat('\\') || !Eat('u') || !Hex4(&lo) || lo < 0xdc00 ||
                lo >= 0xe000) {
              return false;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return false;
          }
          Utf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool Hex4(unsigned* cp) {
    if (s_.size() - i_ < 4) return false;
    *cp = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      *cp <<= 4;
      if (h >= '0' && h <= '9')
        *cp |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f')
        *cp |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        *cp |= unsigned(h - 'A' + 10);
      else
        return false;
    }
    return true;
  }

  static void Utf8(unsigned cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  // A JSON number, canonicalised through its double value so that 1, 1.0
  // and 1e0 are equal.
  bool Number(std::string* out) {
    const size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !Digit(s_[i_])) return false;
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (i_ < s_.size() && Digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (i_ >= s_.size() || !Digit(s_[i_])) return false;
      while (i_ < s_.size() && Digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !Digit(s_[i_])) return false;
      while (i_ < s_.size() && Digit(s_[i_])) ++i_;
    }
    const std::string text(s_.substr(start, i_ - start));
    double d = std::strtod(text.c_str(), nullptr);
    if (d == 0) d = 0;  // -0 equals 0
    char buf[40];
    std::snprintf(buf, sizeof buf, "n%.17g", d);
    *out = buf;
    return true;
  }

  static bool Digit(char c) { return c >= '0' && c <= '9'; }

  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' ||
                              s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

bool ParseJsonObject(std::string_view text,
                     std::vector<std::pair<std::string, std::string>>* fields) {
  Parser p(text);
  std::string canon;
  p.AtEnd();  // skip leading space
  return p.Object(&canon, fields, 0) && p.AtEnd();
}

bool IsValidJson(std::string_view text) {
  Parser p(text);
  std::string canon;
  return p.Value(&canon, 0) && p.AtEnd();
}

bool JsonMatch::Parse(std::string_view filter, std::string* error) {
  if (!ParseJsonObject(filter, &want_)) {
    *error = "filter is not a JSON object";
    return false;
  }
  return true;
}

bool JsonMatch::Matches(const std::string_view* metadata) const {
  if (want_.empty()) return true;
  if (metadata == nullptr) return false;
  std::vector<std::pair<std::string, std::string>> have;
  if (!ParseJsonObject(*metadata, &have)) return false;
  // Both lists are sorted by field: one merge pass.
  size_t j = 0;
  for (const auto& [field, value] : want_) {
    while (j < have.size() && have[j].first < field) ++j;
    if (j == have.size() || have[j].first != field || have[j].second != value) {
      return false;
    }
  }
  return true;
}

}  // namespace snkv::vector
