#include "snkv/status.h"

namespace snkv {

Status::Status(Code code, std::string_view message) {
  if (code != Code::kOk) {
    state_ = std::make_unique<State>(State{code, std::string(message)});
  }
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  }
  return *this;
}

const std::string& Status::message() const noexcept {
  static const std::string kOkMessage = "not an error";
  return state_ ? state_->message : kOkMessage;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code()));
  out += ": ";
  out += state_->message;
  return out;
}

std::string_view CodeName(Code code) noexcept {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kError:
      return "ERROR";
    case Code::kBusy:
      return "BUSY";
    case Code::kLocked:
      return "LOCKED";
    case Code::kNoMem:
      return "NOMEM";
    case Code::kReadOnly:
      return "READONLY";
    case Code::kCorrupt:
      return "CORRUPT";
    case Code::kNotFound:
      return "NOTFOUND";
    case Code::kAuthFailed:
      return "AUTH_FAILED";
    case Code::kProtocol:
      return "PROTOCOL";
    case Code::kDimMismatch:
      return "DIM_MISMATCH";
    case Code::kDtypeMismatch:
      return "DTYPE_MISMATCH";
    case Code::kSpaceMismatch:
      return "SPACE_MISMATCH";
    case Code::kIndexDropped:
      return "INDEX_DROPPED";
    case Code::kIndexEmpty:
      return "INDEX_EMPTY";
    case Code::kBadVector:
      return "BAD_VECTOR";
  }
  return "UNKNOWN";
}

}  // namespace snkv
