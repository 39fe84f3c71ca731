// The data methods KVStore (its default family) and ColumnFamily share:
// put/get/delete/exists, TTL, put_if_absent, clear/count, the dict
// interface and the iterator constructors. Defined once, for any bound
// class whose C++ type has `ColumnFamily& family()` (which raises when the
// handle may not be used) and `epoch()` (the store's WriteEpoch).
#ifndef SNKV_PYTHON_FAMILY_METHODS_H
#define SNKV_PYTHON_FAMILY_METHODS_H

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>

#include "arg_types.h"
#include "bytes_arg.h"
#include "errors.h"
#include "py_iterator.h"
#include "py_store.h"
#include "raw_call.h"
#include "self_arg.h"
#include "ttl.h"

namespace snkv::python {

enum class Effect { kRead, kWrite };

// The shape every data method shares: checks self, runs op(family) without
// the GIL and raises a failed Status. A kWrite call then advances the
// store's write epoch (also when it failed: it may have changed rows
// before failing), so iterators drop rows they hold (see PyIterator).
// Convert the Python arguments before, with the GIL.
template <class Self, class Op>
void CallFamily(pybind11::handle self_h, Effect effect, Op&& op) {
  Self& self = Unwrap<Self>(self_h);
  ColumnFamily& cf = self.family();
  Status s = NoGil([&] { return op(cf); });
  if (effect == Effect::kWrite) self.epoch()->Advance();
  if (!s.ok()) ThrowStatus(s);
}

// Gets `key` into a per-thread buffer (reused, so a get allocates only the
// result bytes) and returns it as bytes. An absent key returns `fallback`,
// or raises NotFoundError if raise_missing. A family that is gone (dropped,
// or the store closed) raises in both cases, as every other method does.
template <class Self>
pybind11::object GetOr(pybind11::handle self_h, pybind11::handle key,
                       pybind11::object fallback, bool raise_missing) {
  thread_local std::string buf;
  Self& self = Unwrap<Self>(self_h);
  BytesArg k(key, "key");
  ColumnFamily& cf = self.family();
  // Get reports "just expired (and deleted now)" as NotFound with 0 ms
  // left, and leaves `remaining` alone for an absent key.
  int64_t remaining = -2;
  Status s = NoGil([&] { return cf.Get(k.slice(), &buf, &remaining); });
  if (s.IsNotFound()) {
    // The expired row was deleted: a write, as iterators must know.
    if (remaining == 0) self.epoch()->Advance();
    if (raise_missing) ThrowStatus(s);
    // Get reports a missing key and a dropped family alike (NotFound);
    // Exists tells them apart: it fails only for the family. This costs a
    // second lookup on misses only.
    bool found = false;
    Status family = NoGil([&] { return cf.Exists(k.slice(), &found); });
    if (!family.ok()) ThrowStatus(family);
    return fallback;
  }
  if (!s.ok()) ThrowStatus(s);
  pybind11::object out = ToBytes(buf);
  if (buf.capacity() > (1u << 20)) std::string().swap(buf);  // keep it small
  return out;
}

template <class Self>
void PutWithTtl(pybind11::handle self_h, pybind11::handle key,
                pybind11::handle value, pybind11::handle ttl) {
  BytesArg k(key, "key");
  BytesArg v(value, "value");
  int64_t expire_at = ExpiryFromTtl(ttl);
  CallFamily<Self>(self_h, Effect::kWrite, [&](ColumnFamily& cf) {
    return cf.Put(k.slice(), v.slice(), expire_at);
  });
}

template <class Self>
bool Exists(pybind11::handle self_h, pybind11::handle key) {
  BytesArg k(key, "key");
  bool found = false;
  CallFamily<Self>(self_h, Effect::kRead, [&](ColumnFamily& cf) {
    return cf.Exists(k.slice(), &found);
  });
  return found;
}

template <class Self>
void Delete(pybind11::handle self_h, pybind11::handle key) {
  BytesArg k(key, "key");
  CallFamily<Self>(self_h, Effect::kWrite,
                   [&](ColumnFamily& cf) { return cf.Delete(k.slice()); });
}

template <class Self>
std::unique_ptr<PyIterator> NewPyIterator(pybind11::handle self_h, bool reverse,
                                          pybind11::handle prefix) {
  IteratorOptions options;
  options.reverse = reverse;
  if (!prefix.is_none()) {
    BytesArg p(prefix, "prefix");
    options.prefix = std::string(p.view());
  }
  Self& self = Unwrap<Self>(self_h);
  ColumnFamily& cf = self.family();
  Iterator it = NoGil([&] { return cf.NewIterator(options); });
  return std::make_unique<PyIterator>(std::move(it), self.epoch());
}

// get(key, default=None) as a METH_FASTCALL method. A get is a few
// microseconds; pybind11's dispatch (argument vectors, default values,
// overload loop) was a tenth of that. Arguments are taken as Python takes
// them: one or two positional, or by name.
template <class Self>
PyObject* FastGet(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                  PyObject* kwnames) noexcept {
  return RawCall([&]() -> PyObject* {
    PyObject* key = nargs > 0 ? args[0] : nullptr;
    PyObject* fallback = nargs > 1 ? args[1] : Py_None;
    if (nargs > 2) {
      PyErr_Format(PyExc_TypeError,
                   "get() takes at most 2 arguments (%zd given)", nargs);
      return nullptr;
    }
    const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < nkw; ++i) {
      PyObject* name = PyTuple_GET_ITEM(kwnames, i);
      PyObject* value = args[nargs + i];
      const bool is_key = PyUnicode_CompareWithASCIIString(name, "key") == 0;
      if (!is_key && PyUnicode_CompareWithASCIIString(name, "default") != 0) {
        PyErr_Format(PyExc_TypeError,
                     "get() got an unexpected keyword argument '%U'", name);
        return nullptr;
      }
      PyObject*& slot = is_key ? key : fallback;
      if ((is_key && key != nullptr) || (!is_key && nargs > 1)) {
        PyErr_Format(PyExc_TypeError,
                     "get() got multiple values for argument '%U'", name);
        return nullptr;
      }
      slot = value;
    }
    if (key == nullptr) {
      PyErr_SetString(PyExc_TypeError, "get() missing required argument 'key'");
      return nullptr;
    }
    return GetOr<Self>(self, key,
                       pybind11::reinterpret_borrow<pybind11::object>(fallback),
                       false)
        .release()
        .ptr();
  });
}

template <class Self, class... Extra>
void DefineFamilyMethods(pybind11::class_<Self, Extra...>& cls) {
  namespace py = pybind11;
  using py::arg;
  using S = SelfOf<Self>;
  cls.def(
         "put",
         [](S self, BytesLike key, BytesLike value, Seconds ttl) {
           PutWithTtl<Self>(self, key, value, ttl);
         },
         arg("key"), arg("value"), arg("ttl") = py::none(),
         "Stores value under key, replacing any old value. ttl: seconds "
         "until the key expires (int or float, not bool), None for never; 0 "
         "expires it at once. Keys and values may be str (stored as UTF-8), "
         "bytes, bytearray or memoryview.")
      .def(
          "delete", [](S self, BytesLike key) { Delete<Self>(self, key); },
          arg("key"),
          "Removes key. NotFoundError if it is absent or already expired.")
      .def(
          "exists",
          [](S self, BytesLike key) { return Exists<Self>(self, key); },
          arg("key"), "True if key is present (and not expired).")
      .def(
          "ttl",
          [](S self, BytesLike key) {
            BytesArg k(key, "key");
            int64_t remaining = 0;
            // A key found expired is deleted: a write.
            CallFamily<Self>(self, Effect::kWrite, [&](ColumnFamily& cf) {
              return cf.TtlRemaining(k.slice(), &remaining);
            });
            return TtlToPython(remaining);
          },
          arg("key"),
          "Seconds until key expires as a float; None if it never expires; "
          "0.0 if it has just expired (it is deleted now). NotFoundError if "
          "the key is absent.")
      .def(
          "purge_expired",
          [](S self) {
            int64_t deleted = 0;
            CallFamily<Self>(self, Effect::kWrite, [&](ColumnFamily& cf) {
              return cf.PurgeExpired(&deleted);
            });
            return deleted;
          },
          "Deletes every expired key of this family in one transaction and "
          "returns how many there were. Costs O(expired keys).")
      .def(
          "put_if_absent",
          [](S self, BytesLike key, BytesLike value, Seconds ttl) {
            BytesArg k(key, "key");
            BytesArg v(value, "value");
            int64_t expire_at = ExpiryFromTtl(ttl);
            bool inserted = false;
            CallFamily<Self>(self, Effect::kWrite, [&](ColumnFamily& cf) {
              return cf.PutIfAbsent(k.slice(), v.slice(), expire_at, &inserted);
            });
            return inserted;
          },
          arg("key"), arg("value"), arg("ttl") = py::none(),
          "Stores value only if key is absent or expired, atomically. "
          "Returns True if it was stored, False if the key was there.")
      .def(
          "clear",
          [](S self) {
            CallFamily<Self>(self, Effect::kWrite,
                             [](ColumnFamily& cf) { return cf.Clear(); });
          },
          "Removes every key of this family in one transaction, in "
          "O(pages).")
      .def(
          "count",
          [](S self) {
            int64_t n = 0;
            CallFamily<Self>(self, Effect::kRead,
                             [&](ColumnFamily& cf) { return cf.Count(&n); });
            return n;
          },
          "Number of keys in this family, in O(pages). Expired keys not yet "
          "purged are counted.")
      .def(
          "__getitem__",
          [](S self, BytesLike key) {
            return GetOr<Self>(self, key, py::none(), true);
          },
          arg("key"),
          "db[key]: the value as bytes; NotFoundError (a KeyError) if "
          "absent or expired.")
      .def(
          "__setitem__",
          [](S self, KeyOrKeyTtl key, BytesLike value) {
            // db[key, ttl] = value arrives as a (key, ttl) tuple.
            if (PyTuple_Check(key.ptr())) {
              if (PyTuple_GET_SIZE(key.ptr()) != 2) {
                throw py::type_error(
                    "a tuple index must be (key, ttl_seconds)");
              }
              PutWithTtl<Self>(self, PyTuple_GET_ITEM(key.ptr(), 0), value,
                               PyTuple_GET_ITEM(key.ptr(), 1));
              return;
            }
            PutWithTtl<Self>(self, key, value, py::none());
          },
          arg("key"), arg("value"),
          "db[key] = value stores without expiry; db[key, ttl] = value "
          "expires after ttl seconds.")
      .def(
          "__delitem__", [](S self, BytesLike key) { Delete<Self>(self, key); },
          arg("key"), "del db[key]; NotFoundError (a KeyError) if absent.")
      .def(
          "__contains__",
          [](S self, BytesLike key) { return Exists<Self>(self, key); },
          arg("key"), "key in db: as exists(key).")
      .def(
          "__iter__",
          [](S self) { return NewPyIterator<Self>(self, false, py::none()); },
          py::keep_alive<0, 1>(),
          "for key, value in db: every row, ascending, as (bytes, bytes).")
      .def(
          "iterator",
          [](S self, bool reverse, OptionalBytesLike prefix) {
            return NewPyIterator<Self>(self, reverse, prefix);
          },
          py::kw_only(), arg("reverse") = false, arg("prefix") = py::none(),
          py::keep_alive<0, 1>(),
          "A new Iterator: descending if reverse, and only over keys that "
          "start with prefix if one is given.")
      .def(
          "prefix_iterator",
          [](S self, BytesLike prefix) {
            return NewPyIterator<Self>(self, false, prefix);
          },
          arg("prefix"), py::keep_alive<0, 1>(),
          "iterator(prefix=prefix): ascending over keys starting with "
          "prefix.")
      .def(
          "reverse_iterator",
          [](S self) { return NewPyIterator<Self>(self, true, py::none()); },
          py::keep_alive<0, 1>(), "iterator(reverse=True).")
      .def(
          "reverse_prefix_iterator",
          [](S self, BytesLike prefix) {
            return NewPyIterator<Self>(self, true, prefix);
          },
          arg("prefix"), py::keep_alive<0, 1>(),
          "iterator(reverse=True, prefix=prefix).");
  static PyMethodDef get_def = {
      "get",
      reinterpret_cast<PyCFunction>(
          reinterpret_cast<void (*)()>(&FastGet<Self>)),
      METH_FASTCALL | METH_KEYWORDS,
      "get($self, /, key, default=None)\n--\n\n"
      "The value of key (str | bytes) as bytes, or default when the key is "
      "absent or expired. A missing key never raises (db[key] does); a "
      "dropped family raises NotFoundError, a closed handle snkv.Error."};
  InstallRawMethod(cls, &get_def);
}

}  // namespace snkv::python

#endif  // SNKV_PYTHON_FAMILY_METHODS_H
