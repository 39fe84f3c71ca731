// The Python class snkv._snkv.Store (snkv.KVStore's base): opening,
// column families, transactions, encryption, maintenance. The data methods
// come from family_methods.h.
#include <pybind11/stl.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "arg_types.h"
#include "errors.h"
#include "family_methods.h"
#include "interrupt.h"
#include "py_store.h"

namespace snkv::python {

namespace py = pybind11;

namespace {

// options[name] as a C int, or `fallback` when the dict has no such key.
// TypeError for a value that is not an int in range.
int IntOption(const py::dict& options, const char* name, int fallback) {
  PyObject* v = PyDict_GetItemString(options.ptr(), name);  // borrowed
  if (v == nullptr) return fallback;
  if (!PyLong_Check(v) || PyBool_Check(v)) {
    throw py::type_error(std::string(name) + " must be an int, not " +
                         Py_TYPE(v)->tp_name);
  }
  int overflow = 0;
  const long n = PyLong_AsLongAndOverflow(v, &overflow);
  if (overflow != 0 || n < std::numeric_limits<int>::min() ||
      n > std::numeric_limits<int>::max()) {
    throw py::value_error(std::string(name) + " is out of range");
  }
  return static_cast<int>(n);
}

}  // namespace

Options MakeOptions(py::handle options) {
  Options o;
  o.keep_waiting = &KeepWaiting;
  if (options.is_none()) return o;
  if (!PyDict_Check(options.ptr())) {
    throw py::type_error("store options must be a dict");
  }
  const auto d = py::reinterpret_borrow<py::dict>(options);
  const int journal_mode = IntOption(d, "journal_mode", 1);
  const int sync_level = IntOption(d, "sync_level", 1);
  if (journal_mode != 0 && journal_mode != 1) {
    throw py::value_error("journal_mode must be JOURNAL_DELETE or JOURNAL_WAL");
  }
  if (sync_level < 0 || sync_level > 2) {
    throw py::value_error(
        "sync_level must be SYNC_OFF, SYNC_NORMAL or SYNC_FULL");
  }
  o.journal_mode = static_cast<JournalMode>(journal_mode);
  o.sync_level = static_cast<SyncLevel>(sync_level);
  o.cache_size_pages = IntOption(d, "cache_size", o.cache_size_pages);
  o.page_size = IntOption(d, "page_size", o.page_size);
  o.busy_timeout_ms = IntOption(d, "busy_timeout", o.busy_timeout_ms);
  o.wal_size_limit = IntOption(d, "wal_size_limit", o.wal_size_limit);
  if (PyObject* ro = PyDict_GetItemString(d.ptr(), "read_only")) {
    const int truth = PyObject_IsTrue(ro);
    if (truth < 0) throw py::error_already_set();
    o.read_only = truth != 0;
  }
  return o;
}

namespace {

py::dict StatsDict(const Stats& s) {
  py::dict d;
  d["puts"] = s.puts;
  d["gets"] = s.gets;
  d["deletes"] = s.deletes;
  d["iterations"] = s.iterations;
  d["errors"] = s.errors;
  d["bytes_read"] = s.bytes_read;
  d["bytes_written"] = s.bytes_written;
  d["wal_commits"] = s.wal_commits;
  d["checkpoints"] = s.checkpoints;
  d["ttl_expired"] = s.ttl_expired;
  d["ttl_purged"] = s.ttl_purged;
  d["db_pages"] = s.db_pages;
  return d;
}

// A column family name from Python: str (as UTF-8) or bytes. TypeError
// for other types, ValueError for a str with lone surrogates (not UTF-8).
std::string FamilyName(py::handle name) {
  PyObject* o = name.ptr();
  if (PyUnicode_Check(o)) {
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(o, &size);
    if (utf8 == nullptr) {
      PyErr_Clear();
      throw py::value_error(
          "column family name is not valid Unicode text (it has lone "
          "surrogates, which have no UTF-8 form)");
    }
    return std::string(utf8, static_cast<size_t>(size));
  }
  if (PyBytes_Check(o)) {
    return std::string(PyBytes_AS_STRING(o),
                       static_cast<size_t>(PyBytes_GET_SIZE(o)));
  }
  throw py::type_error(std::string("column family name must be str, not ") +
                       Py_TYPE(o)->tp_name);
}

std::unique_ptr<PyColumnFamily> OpenFamily(PyStore& self,
                                           const std::string& name,
                                           bool create) {
  ColumnFamily cf;
  self.Call([&](Store& store) {
    return create ? store.CreateColumnFamily(name, &cf)
                  : store.OpenColumnFamily(name, &cf);
  });
  return std::make_unique<PyColumnFamily>(std::move(cf), self.epoch());
}

}  // namespace

void RegisterStore(py::module_& m) {
  using py::arg;
  using Self = SelfOf<PyStore>;
  py::class_<PyStore> cls(
      m, "Store",
      "The C++ store behind snkv.KVStore (use KVStore, which adds the "
      "context manager, os.PathLike paths and open_encrypted).");
  cls.def(py::init([](std::optional<std::string> path, StoreOptionsArg options,
                      py::object password) {
            return std::make_unique<PyStore>(path, MakeOptions(options),
                                             password);
          }),
          arg("path") = py::none(), arg("options") = py::none(),
          arg("password") = py::none());
  SetBoundType<PyStore>(cls);
  DefineFamilyMethods(cls);
  cls.def(
         "begin",
         [](Self self_h, bool write) {
           auto& self = Unwrap<PyStore>(self_h);
           self.Call([&](Store& s) {
             return s.Begin(write ? TxnMode::kWrite : TxnMode::kRead);
           });
         },
         arg("write") = false,
         "Starts a transaction on this store handle: a write transaction if "
         "write, else a read transaction (one snapshot; writes in it raise "
         "ReadOnlyError). Every thread using the handle is inside it.")
      .def(
          "commit",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            self.Write([](Store& s) { return s.Commit(); });
          },
          "Commits the open transaction. A failed commit (e.g. BusyError) "
          "leaves it open to retry or roll back.")
      .def(
          "rollback",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            self.Write([](Store& s) { return s.Rollback(); });
          },
          "Rolls back the open transaction.")
      .def(
          "create_column_family",
          [](Self self_h, NameArg name_arg) {
            auto& self = Unwrap<PyStore>(self_h);
            return OpenFamily(self, FamilyName(name_arg), true);
          },
          arg("name"), py::keep_alive<0, 1>(),
          "Creates the column family name (1-255 bytes, at most 64 families "
          "with 'default') and returns it. Error if it exists.")
      .def(
          "open_column_family",
          [](Self self_h, NameArg name_arg) {
            auto& self = Unwrap<PyStore>(self_h);
            return OpenFamily(self, FamilyName(name_arg), false);
          },
          arg("name"), py::keep_alive<0, 1>(),
          "Returns the existing column family name; NotFoundError if there "
          "is none.")
      .def(
          "default_column_family",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            return std::make_unique<PyColumnFamily>(self.family(),
                                                    self.epoch());
          },
          py::keep_alive<0, 1>(),
          "The family the store's own put/get/... use, as a ColumnFamily.")
      .def(
          "list_column_families",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            std::vector<std::string> names;
            self.Call([&](Store& s) { return s.ListColumnFamilies(&names); });
            return names;
          },
          "Names of all column families, 'default' included.")
      .def(
          "drop_column_family",
          [](Self self_h, NameArg name_arg) {
            auto& self = Unwrap<PyStore>(self_h);
            std::string name = FamilyName(name_arg);
            self.Write([&](Store& s) { return s.DropColumnFamily(name); });
          },
          arg("name"),
          "Deletes the column family name and all its data. Its handles "
          "fail from then on. 'default' cannot be dropped.")
      .def(
          "sync",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            self.Call([](Store& s) { return s.Sync(); });
          },
          "Makes every commit durable on disk (an fsync of the WAL).")
      .def(
          "vacuum",
          [](Self self_h, int n_pages) {
            auto& self = Unwrap<PyStore>(self_h);
            if (n_pages < 0) throw py::value_error("n_pages must be >= 0");
            self.Call([&](Store& s) { return s.IncrementalVacuum(n_pages); });
          },
          arg("n_pages") = 0,
          "Returns up to n_pages free pages to the file system (0: all).")
      .def(
          "integrity_check",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            std::string problems;
            self.Call([&](Store& s) {
              Status st = s.IntegrityCheck(&problems);
              if (st.code() == Code::kCorrupt && !problems.empty()) {
                return Status(Code::kCorrupt, problems);
              }
              return st;
            });
          },
          "Checks the whole file; CorruptError with SQLite's report if it "
          "finds damage, else returns None.")
      .def(
          "checkpoint",
          [](Self self_h, int mode) {
            auto& self = Unwrap<PyStore>(self_h);
            if (mode < 0 || mode > 3) {
              throw py::value_error("mode must be one of CHECKPOINT_*");
            }
            CheckpointResult r;
            self.Call([&](Store& s) {
              return s.Checkpoint(static_cast<CheckpointMode>(mode), &r);
            });
            return py::make_tuple(r.log_frames, r.checkpointed_frames);
          },
          arg("mode") = 0,
          "Copies WAL frames into the database file. mode is one of the "
          "CHECKPOINT_* constants (PASSIVE by default). Returns (frames in "
          "the WAL, frames checkpointed).")
      .def(
          "stats",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            Stats st;
            self.Call([&](Store& s) { return s.GetStats(&st); });
            return StatsDict(st);
          },
          "The handle's counters as a dict: puts, gets, deletes, "
          "iterations, errors, bytes_read, bytes_written, wal_commits, "
          "checkpoints, ttl_expired, ttl_purged, db_pages.")
      .def(
          "stats_reset",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            self.Call([](Store& s) { return s.ResetStats(); });
          },
          "Zeroes the counters (db_pages is a live gauge and stays).")
      .def_property_readonly(
          "errmsg",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            std::string msg;
            self.Call([&](Store& s) {
              msg = s.last_error_message();
              return Status::OK();
            });
            return msg;
          },
          "The message of the last failed call on this store or its "
          "families and iterators ('not an error' if none).")
      .def(
          "is_encrypted",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            bool encrypted = false;
            self.Call([&](Store& s) {
              encrypted = s.is_encrypted();
              return Status::OK();
            });
            return encrypted;
          },
          "True if values are stored encrypted.")
      .def(
          "reencrypt",
          [](Self self_h, BytesLike new_password) {
            auto& self = Unwrap<PyStore>(self_h);
            BytesArg pw(new_password, "password");
            self.Call([&](Store& s) { return s.Reencrypt(pw.slice()); });
          },
          arg("new_password"),
          "Changes the password, re-sealing every value in one transaction. "
          "Also encrypts a plain store. Not inside a transaction.")
      .def(
          "remove_encryption",
          [](Self self_h) {
            auto& self = Unwrap<PyStore>(self_h);
            self.Call([](Store& s) { return s.RemoveEncryption(); });
          },
          "Decrypts every value in one transaction; the file then opens "
          "with KVStore(path). Not inside a transaction.")
      .def_property_readonly(
          "closed", [](Self h) { return Unwrap<PyStore>(h).closed(); },
          "True once close() was called.")
      .def(
          "close", [](Self h) { Unwrap<PyStore>(h).Close(); },
          "Rolls back an open transaction, checkpoints and closes the "
          "file. Iterators and column families of the store fail with "
          "snkv.Error afterwards. Closing twice does nothing.");
}

}  // namespace snkv::python
