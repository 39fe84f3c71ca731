// The Python class snkv._snkv._VectorStore, the compiled base of
// snkv.vector.VectorStore. snkv/vector.py checks and converts the
// arguments (numpy lives there, never here) and calls the underscored
// methods; the plain key-value ones (get, delete, the dict interface, len)
// are used as they are.
#include <pybind11/stl.h>

#include <cmath>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "arg_types.h"
#include "bytes_arg.h"
#include "errors.h"
#include "floats_arg.h"
#include "py_store.h"
#include "py_vector_store.h"
#include "self_arg.h"
#include "ttl.h"
#include "vector_errors.h"
#include "vector_filter.h"

namespace snkv::python {

namespace py = pybind11;

namespace {

const char* SpaceName(VectorSpace s) {
  switch (s) {
    case VectorSpace::kCosine:
      return "cosine";
    case VectorSpace::kIp:
      return "ip";
    default:
      return "l2";
  }
}

const char* DTypeName(VectorDType d) {
  switch (d) {
    case VectorDType::kF16:
      return "f16";
    case VectorDType::kI8:
      return "i8";
    default:
      return "f32";
  }
}

// Metadata argument of a put: None keeps the stored metadata, b"" clears
// it, other bytes (JSON text made by snkv.vector) replace it. Holds the
// bytes for the call.
class MetadataArg {
 public:
  explicit MetadataArg(py::handle obj) {
    if (!obj.is_none()) bytes_.emplace(obj, "metadata");
  }
  std::optional<Slice> slice() const {
    if (!bytes_) return std::nullopt;
    return bytes_->slice();
  }

 private:
  std::optional<BytesArg> bytes_;
};

// The items of a Python sequence (a list or tuple, or anything
// PySequence_Fast accepts), n of them, or TypeError/ValueError.
py::object FastSequence(py::handle seq, const char* what, Py_ssize_t n) {
  std::string msg = std::string(what) + " must be a sequence";
  PyObject* fast = PySequence_Fast(seq.ptr(), msg.c_str());
  if (fast == nullptr) throw py::error_already_set();
  auto owned = py::reinterpret_steal<py::object>(fast);
  if (n >= 0 && PySequence_Fast_GET_SIZE(fast) != n) {
    throw py::value_error(std::string(what) + " has " +
                          std::to_string(PySequence_Fast_GET_SIZE(fast)) +
                          " items, keys has " + std::to_string(n));
  }
  return owned;
}

// Search options shared by _search and _search_keys; the Python filter (if
// any) lives in *python_filter, which must outlive the search.
SearchOptions MakeSearchOptions(PyVectorStore& self, int top_k, bool rerank,
                                int oversample,
                                std::optional<double> max_distance,
                                int expansion_search, py::handle filter,
                                py::handle json_filter,
                                std::optional<PythonFilter>* python_filter) {
  if (top_k <= 0) throw py::value_error("top_k must be positive");
  if (oversample < 0) throw py::value_error("oversample must be >= 0");
  if (expansion_search < 0) {
    throw py::value_error("expansion_search must be >= 1 (or None)");
  }
  SearchOptions o;
  o.top_k = top_k;
  o.rerank = rerank;
  o.oversample = oversample;
  o.expansion_search = expansion_search;
  if (max_distance) {
    if (std::isnan(*max_distance)) {
      throw py::value_error("max_distance must not be NaN");
    }
    // 0 means "no limit" to the C++ API; for Python it is a real bound
    // (only hits at distance <= 0), applied by the caller.
    o.max_distance = static_cast<float>(*max_distance);
  }
  if (!json_filter.is_none()) {
    BytesArg text(json_filter, "filter");
    o.json_filter = std::string(text.view());
  }
  if (!filter.is_none()) {
    if (!PyCallable_Check(filter.ptr())) {
      throw py::type_error("filter must be a dict or a callable");
    }
    python_filter->emplace(&self, py::reinterpret_borrow<py::object>(filter));
    o.filter = (*python_filter)->AsFilter();
  }
  return o;
}

// Drops hits beyond max_distance 0 (see MakeSearchOptions).
template <class Hit>
void ApplyZeroBound(std::optional<double> max_distance,
                    std::vector<Hit>* hits) {
  if (max_distance && *max_distance == 0) {
    std::erase_if(*hits, [](const Hit& h) { return h.distance > 0; });
  }
}

}  // namespace

void RegisterVectorStore(py::module_& m) {
  using py::arg;
  RegisterVectorErrors(m);
  py::class_<PyVectorStore> cls(
      m, "_VectorStore",
      "The C++ vector store behind snkv.vector.VectorStore (use that).");
  SetBoundType<PyVectorStore>(cls);
  cls.def(py::init([](const std::optional<std::string>& path, int dim,
                      int space, int dtype, int connectivity, int expansion_add,
                      int expansion_search, py::handle password, bool sidecar,
                      StoreOptionsArg options) {
            VectorOptions o;
            o.dim = dim;
            o.space = static_cast<VectorSpace>(space);
            o.dtype = static_cast<VectorDType>(dtype);
            o.connectivity = connectivity;
            o.expansion_add = expansion_add;
            o.expansion_search = expansion_search;
            o.sidecar = sidecar;
            o.store = MakeOptions(options);
            if (!password.is_none()) {
              BytesArg pw(password, "password");
              o.password = std::string(pw.view());
            }
            return std::make_unique<PyVectorStore>(path, o);
          }),
          arg("path"), arg("dim"), arg("space"), arg("dtype"),
          arg("connectivity"), arg("expansion_add"), arg("expansion_search"),
          arg("password"), arg("sidecar"), arg("options"));

  cls.def(
         "_put",
         [](py::handle self_h, py::handle key, py::handle value,
            py::handle vector, py::handle ttl, py::handle metadata) {
           PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
           BytesArg k(key, "key");
           BytesArg v(value, "value");
           FloatsArg vec(vector, "vector");
           MetadataArg meta(metadata);
           const int64_t expire_at = ExpiryFromTtl(ttl);
           self.Call([&](VectorStore& vs) {
             return vs.Put(k.slice(), v.slice(), vec.span(), expire_at,
                           meta.slice());
           });
         },
         arg("key"), arg("value"), arg("vector"), arg("ttl"), arg("metadata"))
      .def(
          "_put_batch",
          [](py::handle self_h, py::handle keys, py::handle values,
             py::handle matrix, py::handle metadata, py::handle ttl) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            py::object key_seq = FastSequence(keys, "keys", -1);
            const Py_ssize_t n = PySequence_Fast_GET_SIZE(key_seq.ptr());
            py::object value_seq = FastSequence(values, "values", n);
            py::object meta_seq;
            if (!metadata.is_none()) {
              meta_seq = FastSequence(metadata, "metadata", n);
            }
            FloatsArg vectors(matrix, "vectors");
            const auto dim = static_cast<size_t>(self.dim());
            if (vectors.span().size() != static_cast<size_t>(n) * dim) {
              throw py::value_error("vectors hold " +
                                    std::to_string(vectors.span().size()) +
                                    " floats, not " + std::to_string(n) +
                                    " x " + std::to_string(dim));
            }
            // deques: the args are neither copyable nor movable, and their
            // slices must stay where they are.
            std::deque<BytesArg> key_args, value_args;
            std::deque<MetadataArg> meta_args;
            std::vector<VectorItem> items(static_cast<size_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) {
              VectorItem& item = items[static_cast<size_t>(i)];
              item.key =
                  key_args
                      .emplace_back(PySequence_Fast_GET_ITEM(key_seq.ptr(), i),
                                    "key")
                      .slice();
              item.value =
                  value_args
                      .emplace_back(
                          PySequence_Fast_GET_ITEM(value_seq.ptr(), i), "value")
                      .slice();
              // Rows of the one contiguous matrix: no copy per item.
              item.vector =
                  vectors.span().data() + static_cast<size_t>(i) * dim;
              if (meta_seq) {
                item.metadata = meta_args
                                    .emplace_back(PySequence_Fast_GET_ITEM(
                                        meta_seq.ptr(), i))
                                    .slice();
              }
            }
            const int64_t expire_at = ExpiryFromTtl(ttl);
            self.Call(
                [&](VectorStore& vs) { return vs.PutBatch(items, expire_at); });
          },
          arg("keys"), arg("values"), arg("vectors"), arg("metadata"),
          arg("ttl"))
      .def(
          "_get_vector",
          [](py::handle self_h, py::handle key) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            BytesArg k(key, "key");
            std::vector<float> vec;
            self.Call(
                [&](VectorStore& vs) { return vs.GetVector(k.slice(), &vec); });
            // A bytearray: numpy views it writable, without another copy.
            return py::reinterpret_steal<py::object>(
                PyByteArray_FromStringAndSize(
                    reinterpret_cast<const char*>(vec.data()),
                    static_cast<Py_ssize_t>(vec.size() * sizeof(float))));
          },
          arg("key"))
      .def(
          "_get_metadata",
          [](py::handle self_h, py::handle key) -> py::object {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            BytesArg k(key, "key");
            std::optional<std::string> meta;
            bool found = true;
            self.Call([&](VectorStore& vs) {
              Status s = vs.GetMetadata(k.slice(), &meta);
              if (s.IsNotFound()) {
                found = false;
                return Status::OK();
              }
              return s;
            });
            if (!found || !meta) return py::none();
            return ToBytes(*meta);
          },
          arg("key"))
      .def(
          "_search",
          [](py::handle self_h, py::handle query, int top_k, bool rerank,
             int oversample, std::optional<double> max_distance,
             int expansion_search, py::handle filter, py::handle json_filter) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            FloatsArg q(query, "query");
            std::optional<PythonFilter> python_filter;
            SearchOptions o = MakeSearchOptions(
                self, top_k, rerank, oversample, max_distance, expansion_search,
                filter, json_filter, &python_filter);
            std::vector<SearchHit> hits;
            try {
              self.Call([&](VectorStore& vs) {
                return vs.Search(q.span(), o, &hits);
              });
            } catch (...) {
              // (Call has the GIL back: a thread that CPython ends inside
              // the filter stops in Call's GilRelease, never reaching here.)
              // The filter's own exception explains a failure best.
              if (python_filter) python_filter->Rethrow();
              throw;
            }
            if (python_filter) python_filter->Rethrow();
            ApplyZeroBound(max_distance, &hits);
            py::list out(hits.size());
            for (size_t i = 0; i < hits.size(); ++i) {
              const SearchHit& h = hits[i];
              py::object meta = h.metadata ? py::object(ToBytes(*h.metadata))
                                           : py::object(py::none());
              out[i] = py::make_tuple(ToBytes(h.key), ToBytes(h.value),
                                      py::float_(h.distance), meta);
            }
            return out;
          },
          arg("query"), arg("top_k"), arg("rerank"), arg("oversample"),
          arg("max_distance").none(true), arg("expansion_search"),
          arg("filter"), arg("json_filter"))
      .def(
          "_search_keys",
          [](py::handle self_h, py::handle query, int top_k,
             int expansion_search, py::handle filter, py::handle json_filter) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            FloatsArg q(query, "query");
            std::optional<PythonFilter> python_filter;
            SearchOptions o = MakeSearchOptions(
                self, top_k, false, 0, std::nullopt, expansion_search, filter,
                json_filter, &python_filter);
            std::vector<KeyHit> hits;
            try {
              self.Call([&](VectorStore& vs) {
                return vs.SearchKeys(q.span(), o, &hits);
              });
            } catch (...) {  // as in _search
              if (python_filter) python_filter->Rethrow();
              throw;
            }
            if (python_filter) python_filter->Rethrow();
            py::list out(hits.size());
            for (size_t i = 0; i < hits.size(); ++i) {
              out[i] = py::make_tuple(ToBytes(hits[i].key),
                                      py::float_(hits[i].distance));
            }
            return out;
          },
          arg("query"), arg("top_k"), arg("expansion_search"), arg("filter"),
          arg("json_filter"))
      .def(
          "vector_stats",
          [](py::handle self_h) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            VectorStats st;
            self.Call([&](VectorStore& vs) { return vs.GetStats(&st); });
            py::dict d;
            d["dim"] = st.dim;
            d["space"] = SpaceName(st.space);
            d["dtype"] = DTypeName(st.dtype);
            d["connectivity"] = st.connectivity;
            d["expansion_add"] = st.expansion_add;
            d["expansion_search"] = st.expansion_search;
            d["count"] = st.count;
            d["capacity"] = st.capacity;
            d["fill_ratio"] = st.fill_ratio;
            d["vec_cf_count"] = st.vec_cf_count;
            d["has_metadata"] = st.has_metadata;
            d["sidecar_enabled"] = st.sidecar_enabled;
            d["index_memory_bytes"] = st.index_memory_bytes;
            d["loaded_from_sidecar"] = st.loaded_from_sidecar;
            d["dropped"] = st.dropped;
            return d;
          },
          "The index's configuration and state as a dict: dim, space "
          "('l2', 'cosine' or 'ip'), dtype ('f32', 'f16' or 'i8'), "
          "connectivity, expansion_add, expansion_search, count (vectors in "
          "the index, expired ones not yet purged included), capacity "
          "(slots allocated), fill_ratio (count / capacity), vec_cf_count "
          "(rows of the vector table), has_metadata (some metadata was ever "
          "stored), sidecar_enabled (unencrypted file store); and, beyond "
          "the reference: index_memory_bytes (codes and links of the "
          "graph), loaded_from_sidecar (at open), dropped.")
      .def(
          "vector_purge_expired",
          [](py::handle self_h) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            int64_t deleted = 0;
            self.Call(
                [&](VectorStore& vs) { return vs.PurgeExpired(&deleted); });
            return deleted;
          },
          "Deletes every expired vector with its value and metadata, in one "
          "transaction, and returns how many. Use it rather than a plain "
          "store's purge_expired, which would leave the vectors behind. "
          "VectorIndexError after drop_vector_index().")
      .def(
          "drop_vector_index",
          [](py::handle self_h) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            self.Call([](VectorStore& vs) { return vs.DropIndex(); });
          },
          "Deletes the vector tables, the index and the sidecar file for "
          "good; the values stay readable with get(). Afterwards search(), "
          "vector_put() and vector_get() raise VectorIndexError and "
          "delete() removes values only. Dropping twice does nothing.")
      .def(
          "get",
          [](py::handle self_h, py::handle key,
             py::object fallback) -> py::object {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            BytesArg k(key, "key");
            std::string value;
            bool found = true;
            self.Call([&](VectorStore& vs) {
              Status s = vs.Get(k.slice(), &value);
              if (s.IsNotFound()) {
                found = false;
                return Status::OK();
              }
              return s;
            });
            if (!found) return fallback;
            return ToBytes(value);
          },
          arg("key"), arg("default") = py::none(),
          "The value stored under key as bytes, or default if the key is "
          "absent or expired. vs[key] raises NotFoundError instead.")
      .def(
          "__getitem__",
          [](py::handle self_h, py::handle key) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            BytesArg k(key, "key");
            std::string value;
            self.Call(
                [&](VectorStore& vs) { return vs.Get(k.slice(), &value); });
            return ToBytes(value);
          },
          "vs[key]: the value as bytes; NotFoundError (a KeyError) if the "
          "key is absent or expired.")
      .def(
          "__setitem__",
          [](py::handle self_h, py::handle key, py::handle value) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            BytesArg k(key, "key");
            BytesArg v(value, "value");
            self.Call([&](VectorStore& vs) {
              return vs.KvPut(k.slice(), v.slice());
            });
          },
          "vs[key] = value: a plain key-value write; the key's vector, if "
          "it has one, is left as it is.")
      .def(
          "delete",
          [](py::handle self_h, py::handle key) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            BytesArg k(key, "key");
            self.Call([&](VectorStore& vs) { return vs.Delete(k.slice()); });
          },
          arg("key"),
          "Removes key's value, vector and metadata in one transaction. "
          "NotFoundError if the key has neither a value nor a vector. After "
          "drop_vector_index() it removes the value only.")
      .def(
          "__delitem__",
          [](py::handle self_h, py::handle key) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            BytesArg k(key, "key");
            self.Call([&](VectorStore& vs) { return vs.Delete(k.slice()); });
          },
          "del vs[key]: as delete(key).")
      .def(
          "__contains__",
          [](py::handle self_h, py::handle key) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            BytesArg k(key, "key");
            bool found = false;
            self.Call([&](VectorStore& vs) {
              return vs.Contains(k.slice(), &found);
            });
            return found;
          },
          "key in vs: True if key has a value that has not expired.")
      .def(
          "__len__",
          [](py::handle self_h) {
            PyVectorStore& self = Unwrap<PyVectorStore>(self_h);
            int64_t n = 0;
            self.Call([&](VectorStore& vs) { return vs.Count(&n); });
            return n;
          },
          "len(vs): the number of vectors in the index, as "
          "vector_stats()['count'] (expired ones not yet purged included).")
      .def_property_readonly(
          "dim",
          [](py::handle self_h) { return Unwrap<PyVectorStore>(self_h).dim(); },
          "The vector dimension of the store.")
      .def_property_readonly(
          "closed",
          [](py::handle self_h) {
            return Unwrap<PyVectorStore>(self_h).closed();
          },
          "True once close() was called.")
      .def(
          "close",
          [](py::handle self_h) { Unwrap<PyVectorStore>(self_h).Close(); },
          "Writes the sidecar file (unencrypted file stores) and closes the "
          "store. Every later call raises snkv.Error. Closing twice does "
          "nothing.");
}

}  // namespace snkv::python
