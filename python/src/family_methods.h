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
#include "raw_args.h"
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
  return std::make_unique<PyIterator>(
      std::move(it), self.epoch(),
      pybind11::reinterpret_borrow<pybind11::object>(self_h));
}

// Direct entry points (raw_call.h) for the calls a program makes by the
// million: get, exists, put, db[key], key in db, iterator(). pybind11's
// generic dispatch (argument vectors, casters, default values, the
// overload loop, keep_alive bookkeeping) cost 10-25 % of each; these bind
// their arguments as Python does (raw_args.h) and call the same code.

// get(key, default=None).
template <class Self>
PyObject* FastGet(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                  PyObject* kwnames) noexcept {
  return RawCall([&]() -> PyObject* {
    PyObject* a[2] = {nullptr, Py_None};
    if (!BindArgs("get", args, nargs, kwnames, {"key", "default"}, 1, 2, a)) {
      return nullptr;
    }
    return GetOr<Self>(self, a[0],
                       pybind11::reinterpret_borrow<pybind11::object>(a[1]),
                       false)
        .release()
        .ptr();
  });
}

// exists(key).
template <class Self>
PyObject* FastExists(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                     PyObject* kwnames) noexcept {
  return RawCall([&]() -> PyObject* {
    PyObject* key = nullptr;
    if (!BindArgs("exists", args, nargs, kwnames, {"key"}, 1, 1, &key)) {
      return nullptr;
    }
    return PyBool_FromLong(Exists<Self>(self, key));
  });
}

// put(key, value, ttl=None).
template <class Self>
PyObject* FastPut(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                  PyObject* kwnames) noexcept {
  return RawCall([&]() -> PyObject* {
    PyObject* a[3] = {nullptr, nullptr, Py_None};
    if (!BindArgs("put", args, nargs, kwnames, {"key", "value", "ttl"}, 2, 3,
                  a)) {
      return nullptr;
    }
    PutWithTtl<Self>(self, a[0], a[1], a[2]);
    Py_RETURN_NONE;
  });
}

// db[key] (METH_O).
template <class Self>
PyObject* FastGetItem(PyObject* self, PyObject* key) noexcept {
  return RawCall([&]() -> PyObject* {
    return GetOr<Self>(self, key, pybind11::none(), true).release().ptr();
  });
}

// key in db (METH_O).
template <class Self>
PyObject* FastContains(PyObject* self, PyObject* key) noexcept {
  return RawCall(
      [&]() -> PyObject* { return PyBool_FromLong(Exists<Self>(self, key)); });
}

// iterator(*, reverse=False, prefix=None).
template <class Self>
PyObject* FastIterator(PyObject* self, PyObject* const* args, Py_ssize_t nargs,
                       PyObject* kwnames) noexcept {
  return RawCall([&]() -> PyObject* {
    PyObject* a[2] = {Py_False, Py_None};
    if (!BindArgs("iterator", args, nargs, kwnames, {"reverse", "prefix"}, 0, 0,
                  a)) {
      return nullptr;
    }
    // As pybind11's bool caster without conversion: True or False only.
    if (!PyBool_Check(a[0])) {
      PyErr_Format(PyExc_TypeError, "reverse must be a bool, not %s",
                   Py_TYPE(a[0])->tp_name);
      return nullptr;
    }
    return pybind11::cast(NewPyIterator<Self>(self, a[0] == Py_True, a[1]))
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
         "delete", [](S self, BytesLike key) { Delete<Self>(self, key); },
         arg("key"),
         "Removes key. NotFoundError if it is absent or already expired.")
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
          "__iter__",
          [](S self) { return NewPyIterator<Self>(self, false, py::none()); },
          "for key, value in db: every row, ascending, as (bytes, bytes).")
      .def(
          "prefix_iterator",
          [](S self, BytesLike prefix) {
            return NewPyIterator<Self>(self, false, prefix);
          },
          arg("prefix"),
          "iterator(prefix=prefix): ascending over keys starting with "
          "prefix.")
      .def(
          "reverse_iterator",
          [](S self) { return NewPyIterator<Self>(self, true, py::none()); },
          "iterator(reverse=True).")
      .def(
          "reverse_prefix_iterator",
          [](S self, BytesLike prefix) {
            return NewPyIterator<Self>(self, true, prefix);
          },
          arg("prefix"), "iterator(reverse=True, prefix=prefix).");
  // The hot methods, as direct entry points; the text signature at the
  // start of each docstring gives help() their parameters. (Each Self gets
  // its own static table: InstallRawMethod needs it to live.)
  static PyMethodDef raw_defs[] = {
      {"get",
       reinterpret_cast<PyCFunction>(
           reinterpret_cast<void (*)()>(&FastGet<Self>)),
       METH_FASTCALL | METH_KEYWORDS,
       "get($self, /, key, default=None)\n--\n\n"
       "The value of key (str | bytes) as bytes, or default when the key is "
       "absent or expired. A missing key never raises (db[key] does); a "
       "dropped family raises NotFoundError, a closed handle snkv.Error."},
      {"exists",
       reinterpret_cast<PyCFunction>(
           reinterpret_cast<void (*)()>(&FastExists<Self>)),
       METH_FASTCALL | METH_KEYWORDS,
       "exists($self, /, key)\n--\n\n"
       "True if key is present (and not expired)."},
      {"put",
       reinterpret_cast<PyCFunction>(
           reinterpret_cast<void (*)()>(&FastPut<Self>)),
       METH_FASTCALL | METH_KEYWORDS,
       "put($self, /, key, value, ttl=None)\n--\n\n"
       "Stores value under key, replacing any old value. ttl: seconds until "
       "the key expires (int or float, not bool), None for never; 0 "
       "expires it at once. Keys and values may be str (stored as UTF-8), "
       "bytes, bytearray or memoryview."},
      {"__getitem__", reinterpret_cast<PyCFunction>(&FastGetItem<Self>), METH_O,
       "__getitem__($self, key, /)\n--\n\n"
       "db[key]: the value as bytes; NotFoundError (a KeyError) if absent "
       "or expired."},
      {"__contains__", reinterpret_cast<PyCFunction>(&FastContains<Self>),
       METH_O,
       "__contains__($self, key, /)\n--\n\n"
       "key in db: as exists(key)."},
      {"iterator",
       reinterpret_cast<PyCFunction>(
           reinterpret_cast<void (*)()>(&FastIterator<Self>)),
       METH_FASTCALL | METH_KEYWORDS,
       "iterator($self, /, *, reverse=False, prefix=None)\n--\n\n"
       "A new Iterator: descending if reverse, and only over keys that "
       "start with prefix if one is given."},
  };
  for (PyMethodDef& def : raw_defs) InstallRawMethod(cls, &def);
}

}  // namespace snkv::python

#endif  // SNKV_PYTHON_FAMILY_METHODS_H
