// Status: the result of every snkv C++ call that can fail.
//
// A Status is either OK or carries a Code (numerically equal to the C API's
// KVSTORE_* codes) and a message for humans. Success is cheap: an OK Status
// holds no allocation.
#ifndef SNKV_STATUS_H
#define SNKV_STATUS_H

#include <memory>
#include <string>
#include <string_view>

namespace snkv {

enum class Code : int {
  kOk = 0,
  kError = 1,
  kBusy = 5,
  kLocked = 6,
  kNoMem = 7,
  kReadOnly = 8,
  kCorrupt = 11,
  kNotFound = 12,
  kAuthFailed = 13,
  kProtocol = 15,
  // Vector store codes (snkv/vector.h), equal to the C API's KVVEC_*.
  kDimMismatch = 20,    // reopened with another dimension
  kDtypeMismatch = 21,  // reopened with another index precision
  kSpaceMismatch = 22,  // reopened with another distance space
  kIndexDropped = 23,   // the vector index was dropped
  kIndexEmpty = 24,     // nothing to search
  kBadVector = 25,      // wrong length, NaN or infinity
};

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;
  Status(Code code, std::string_view message);

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status Error(std::string_view msg) { return {Code::kError, msg}; }
  static Status NotFound(std::string_view msg) {
    return {Code::kNotFound, msg};
  }
  static Status ReadOnly(std::string_view msg) {
    return {Code::kReadOnly, msg};
  }
  static Status Corrupt(std::string_view msg) { return {Code::kCorrupt, msg}; }
  static Status AuthFailed(std::string_view msg) {
    return {Code::kAuthFailed, msg};
  }

  bool ok() const noexcept { return state_ == nullptr; }
  bool IsNotFound() const noexcept { return code() == Code::kNotFound; }
  bool IsBusy() const noexcept { return code() == Code::kBusy; }

  Code code() const noexcept { return state_ ? state_->code : Code::kOk; }
  // The C code value (KVSTORE_*).
  int raw_code() const noexcept { return static_cast<int>(code()); }
  // "not an error" when ok().
  const std::string& message() const noexcept;
  // "<code name>: <message>", for logs.
  std::string ToString() const;

 private:
  struct State {
    Code code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

// Name of a code, e.g. "NOTFOUND".
std::string_view CodeName(Code code) noexcept;

}  // namespace snkv

#endif  // SNKV_STATUS_H
