// The data methods KVStore (its default family) and ColumnFamily share:
// put/get/delete/exists, TTL, put_if_absent, clear/count, the dict
// interface and the iterator constructors. Defined once, for any bound
// class whose C++ type has `ColumnFamily& family()` (which raises when the
// handle may not be used).
#ifndef SNKV_PYTHON_FAMILY_METHODS_H
#define SNKV_PYTHON_FAMILY_METHODS_H

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>

#include "bytes_arg.h"
#include "errors.h"
#include "py_iterator.h"
#include "py_store.h"
#include "self_arg.h"
#include "ttl.h"

namespace snkv::python {

// Gets `key` into a per-thread buffer (reused, so a get allocates only the
// result bytes) and returns it as bytes, or `fallback` when absent.
inline pybind11::object GetOr(ColumnFamily& cf, pybind11::handle key,
                              pybind11::object fallback, bool raise_missing) {
  thread_local std::string buf;
  BytesArg k(key, "key");
  Status s = NoGil([&] { return cf.Get(k.slice(), &buf); });
  if (s.IsNotFound() && !raise_missing) return fallback;
  if (!s.ok()) ThrowStatus(s);
  pybind11::object out = ToBytes(buf);
  if (buf.capacity() > (1u << 20)) std::string().swap(buf);  // keep it small
  return out;
}

inline void PutWithTtl(ColumnFamily& cf, pybind11::handle key,
                       pybind11::handle value, pybind11::handle ttl) {
  BytesArg k(key, "key");
  BytesArg v(value, "value");
  int64_t expire_at = ExpiryFromTtl(ttl);
  Status s = NoGil([&] { return cf.Put(k.slice(), v.slice(), expire_at); });
  if (!s.ok()) ThrowStatus(s);
}

template <class Self>
std::unique_ptr<PyIterator> NewPyIterator(Self& self, bool reverse,
                                          pybind11::handle prefix) {
  IteratorOptions options;
  options.reverse = reverse;
  if (!prefix.is_none()) {
    BytesArg p(prefix, "prefix");
    options.prefix = std::string(p.view());
  }
  ColumnFamily& cf = self.family();
  Iterator it = NoGil([&] { return cf.NewIterator(options); });
  return std::make_unique<PyIterator>(std::move(it));
}

template <class Self, class... Extra>
void DefineFamilyMethods(pybind11::class_<Self, Extra...>& cls) {
  namespace py = pybind11;
  using py::arg;
  cls.def(
         "put",
         [](py::handle self_h, py::handle key, py::handle value,
            py::handle ttl) {
           auto& self = Unwrap<Self>(self_h);
           PutWithTtl(self.family(), key, value, ttl);
         },
         arg("key"), arg("value"), arg("ttl") = py::none(),
         "Stores value under key, replacing any old value. ttl: seconds "
         "until the key expires (int or float), None for never; 0 expires "
         "it at once. Keys and values may be str (stored as UTF-8), bytes, "
         "bytearray or memoryview.")
      .def(
          "get",
          [](py::handle self_h, py::handle key, py::object fallback) {
            auto& self = Unwrap<Self>(self_h);
            return GetOr(self.family(), key, std::move(fallback), false);
          },
          arg("key"), arg("default") = py::none(),
          "The value of key as bytes, or default when the key is absent or "
          "expired. Never raises NotFoundError (db[key] does).")
      .def(
          "delete",
          [](py::handle self_h, py::handle key) {
            auto& self = Unwrap<Self>(self_h);
            BytesArg k(key, "key");
            ColumnFamily& cf = self.family();
            Status s = NoGil([&] { return cf.Delete(k.slice()); });
            if (!s.ok()) ThrowStatus(s);
          },
          arg("key"),
          "Removes key. NotFoundError if it is absent or already expired.")
      .def(
          "exists",
          [](py::handle self_h, py::handle key) {
            auto& self = Unwrap<Self>(self_h);
            BytesArg k(key, "key");
            ColumnFamily& cf = self.family();
            bool found = false;
            Status s = NoGil([&] { return cf.Exists(k.slice(), &found); });
            if (!s.ok()) ThrowStatus(s);
            return found;
          },
          arg("key"), "True if key is present (and not expired).")
      .def(
          "ttl",
          [](py::handle self_h, py::handle key) {
            auto& self = Unwrap<Self>(self_h);
            BytesArg k(key, "key");
            ColumnFamily& cf = self.family();
            int64_t remaining = 0;
            Status s =
                NoGil([&] { return cf.TtlRemaining(k.slice(), &remaining); });
            if (!s.ok()) ThrowStatus(s);
            return TtlToPython(remaining);
          },
          arg("key"),
          "Seconds until key expires as a float; None if it never expires; "
          "0.0 if it has just expired (it is deleted now). NotFoundError if "
          "the key is absent.")
      .def(
          "purge_expired",
          [](py::handle self_h) {
            auto& self = Unwrap<Self>(self_h);
            ColumnFamily& cf = self.family();
            int64_t deleted = 0;
            Status s = NoGil([&] { return cf.PurgeExpired(&deleted); });
            if (!s.ok()) ThrowStatus(s);
            return deleted;
          },
          "Deletes every expired key of this family in one transaction and "
          "returns how many there were. Costs O(expired keys).")
      .def(
          "put_if_absent",
          [](py::handle self_h, py::handle key, py::handle value,
             py::handle ttl) {
            auto& self = Unwrap<Self>(self_h);
            BytesArg k(key, "key");
            BytesArg v(value, "value");
            int64_t expire_at = ExpiryFromTtl(ttl);
            ColumnFamily& cf = self.family();
            bool inserted = false;
            Status s = NoGil([&] {
              return cf.PutIfAbsent(k.slice(), v.slice(), expire_at, &inserted);
            });
            if (!s.ok()) ThrowStatus(s);
            return inserted;
          },
          arg("key"), arg("value"), arg("ttl") = py::none(),
          "Stores value only if key is absent or expired, atomically. "
          "Returns True if it was stored, False if the key was there.")
      .def(
          "clear",
          [](py::handle self_h) {
            auto& self = Unwrap<Self>(self_h);
            ColumnFamily& cf = self.family();
            Status s = NoGil([&] { return cf.Clear(); });
            if (!s.ok()) ThrowStatus(s);
          },
          "Removes every key of this family in one transaction, in "
          "O(pages).")
      .def(
          "count",
          [](py::handle self_h) {
            auto& self = Unwrap<Self>(self_h);
            ColumnFamily& cf = self.family();
            int64_t n = 0;
            Status s = NoGil([&] { return cf.Count(&n); });
            if (!s.ok()) ThrowStatus(s);
            return n;
          },
          "Number of keys in this family, in O(pages). Expired keys not yet "
          "purged are counted.")
      .def(
          "__getitem__",
          [](py::handle self_h, py::handle key) {
            auto& self = Unwrap<Self>(self_h);
            return GetOr(self.family(), key, py::none(), true);
          },
          "db[key]: the value as bytes; NotFoundError (a KeyError) if "
          "absent or expired.")
      .def(
          "__setitem__",
          [](py::handle self_h, py::handle key, py::handle value) {
            auto& self = Unwrap<Self>(self_h);
            // db[key, ttl] = value arrives as a (key, ttl) tuple.
            if (PyTuple_Check(key.ptr())) {
              if (PyTuple_GET_SIZE(key.ptr()) != 2) {
                throw py::type_error(
                    "a tuple index must be (key, ttl_seconds)");
              }
              PutWithTtl(self.family(), PyTuple_GET_ITEM(key.ptr(), 0), value,
                         PyTuple_GET_ITEM(key.ptr(), 1));
              return;
            }
            PutWithTtl(self.family(), key, value, py::none());
          },
          "db[key] = value stores without expiry; db[key, ttl] = value "
          "expires after ttl seconds.")
      .def(
          "__delitem__",
          [](py::handle self_h, py::handle key) {
            auto& self = Unwrap<Self>(self_h);
            BytesArg k(key, "key");
            ColumnFamily& cf = self.family();
            Status s = NoGil([&] { return cf.Delete(k.slice()); });
            if (!s.ok()) ThrowStatus(s);
          },
          "del db[key]; NotFoundError (a KeyError) if absent.")
      .def(
          "__contains__",
          [](py::handle self_h, py::handle key) {
            auto& self = Unwrap<Self>(self_h);
            BytesArg k(key, "key");
            ColumnFamily& cf = self.family();
            bool found = false;
            Status s = NoGil([&] { return cf.Exists(k.slice(), &found); });
            if (!s.ok()) ThrowStatus(s);
            return found;
          },
          "key in db: as exists(key).")
      .def(
          "__iter__",
          [](py::handle self_h) {
            auto& self = Unwrap<Self>(self_h);
            return NewPyIterator(self, false, py::none());
          },
          py::keep_alive<0, 1>(),
          "for key, value in db: every row, ascending, as (bytes, bytes).")
      .def(
          "iterator",
          [](py::handle self_h, bool reverse, py::handle prefix) {
            auto& self = Unwrap<Self>(self_h);
            return NewPyIterator(self, reverse, prefix);
          },
          py::kw_only(), arg("reverse") = false, arg("prefix") = py::none(),
          py::keep_alive<0, 1>(),
          "A new Iterator: descending if reverse, and only over keys that "
          "start with prefix if one is given.")
      .def(
          "prefix_iterator",
          [](py::handle self_h, py::handle prefix) {
            auto& self = Unwrap<Self>(self_h);
            return NewPyIterator(self, false, prefix);
          },
          arg("prefix"), py::keep_alive<0, 1>(),
          "iterator(prefix=prefix): ascending over keys starting with "
          "prefix.")
      .def(
          "reverse_iterator",
          [](py::handle self_h) {
            auto& self = Unwrap<Self>(self_h);
            return NewPyIterator(self, true, py::none());
          },
          py::keep_alive<0, 1>(), "iterator(reverse=True).")
      .def(
          "reverse_prefix_iterator",
          [](py::handle self_h, py::handle prefix) {
            auto& self = Unwrap<Self>(self_h);
            return NewPyIterator(self, true, prefix);
          },
          arg("prefix"), py::keep_alive<0, 1>(),
          "iterator(reverse=True, prefix=prefix).");
}

}  // namespace snkv::python

#endif  // SNKV_PYTHON_FAMILY_METHODS_H
