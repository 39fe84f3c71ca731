#include "py_store.h"

#include <mutex>

#include "bytes_arg.h"
#include "errors.h"

namespace snkv::python {

namespace py = pybind11;

void PyStore::ThrowStatus(const Status& s) { python::ThrowStatus(s); }

PyStore::PyStore(const std::optional<std::string>& path, const Options& options,
                 py::handle password)
    : handle_(std::in_place) {
  std::optional<BytesArg> pw;
  if (!password.is_none()) pw.emplace(password, "password");
  Store& store = handle_->store;
  Status s = NoGil([&] {
    if (pw) {
      return Store::OpenEncrypted(path ? *path : std::string(":memory:"),
                                  pw->slice(), options, &store);
    }
    if (path) return Store::Open(*path, options, &store);
    return Store::OpenInMemory(options, &store);
  });
  if (!s.ok()) ThrowStatus(s);
  handle_->default_cf = store.DefaultColumnFamily();
}

PyStore::~PyStore() {
  if (handle_.generation() != ForkGeneration()) return;  // leaked, untouched
  // A checkpoint may run: let other threads go on meanwhile.
  try {
    NoGilUnlessFinalizing([&] {
      std::unique_lock<std::shared_mutex> lock(handle_->mu);
      (void)handle_->store.Close();
    });
  } catch (...) {  // a failed lock: ~Store closes it anyway
  }
}

void PyStore::Close() {
  // In a forked child the parent's connection must be left alone: close()
  // there only forgets it (the with-statement's exit stays harmless).
  if (handle_.generation() != ForkGeneration()) return;
  // Iterators must stop serving the rows they hold.
  epoch_->Advance();
  Status s = NoGil([&] {
    std::unique_lock<std::shared_mutex> lock(handle_->mu);
    return handle_->store.Close();
  });
  if (!s.ok()) ThrowStatus(s);
}

bool PyStore::closed() {
  if (handle_.generation() != ForkGeneration()) return true;
  return NoGil([&] {
    std::shared_lock<std::shared_mutex> lock(handle_->mu);
    return !handle_->store.is_open();
  });
}

ColumnFamily& PyColumnFamily::family() {
  CheckSameProcess(cf_.generation());
  if (closed()) ThrowError("column family is closed");
  return *cf_;
}

}  // namespace snkv::python
