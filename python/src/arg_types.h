// Argument types for bound methods whose Python arguments our own code
// converts (BytesArg, ExpiryFromTtl, Unwrap, ...).
//
// pybind11 would take them as py::handle, and help() would then show every
// parameter as `handle`. These wrappers accept any object, exactly like
// py::handle (so the clear TypeError/ValueError of our converters is what
// users see, never pybind11's "incompatible function arguments"), but
// name the accepted types in signatures:
//   put(self: snkv._snkv.Store, key: str | bytes, value: str | bytes,
//       ttl: float | None = None) -> None
#ifndef SNKV_PYTHON_ARG_TYPES_H
#define SNKV_PYTHON_ARG_TYPES_H

#include <pybind11/pybind11.h>

namespace snkv::python {

// Any Python object, shown in signatures as Hint::name.
template <class Hint>
struct Passed {
  pybind11::handle obj;
  operator pybind11::handle() const noexcept { return obj; }  // NOLINT
  PyObject* ptr() const noexcept { return obj.ptr(); }
};

struct BytesLikeHint {
  static constexpr auto name = pybind11::detail::const_name("str | bytes");
};
struct OptionalBytesLikeHint {
  static constexpr auto name =
      pybind11::detail::const_name("str | bytes | None");
};
struct KeyOrKeyTtlHint {
  static constexpr auto name =
      pybind11::detail::const_name("str | bytes | tuple[str | bytes, float]");
};
struct SecondsHint {
  static constexpr auto name = pybind11::detail::const_name("float | None");
};
struct StoreOptionsHint {
  static constexpr auto name =
      pybind11::detail::const_name("dict[str, int] | None");
};
struct NameHint {
  static constexpr auto name = pybind11::detail::const_name("str");
};

// A key, value or prefix: str, bytes, bytearray, memoryview (BytesArg).
using BytesLike = Passed<BytesLikeHint>;
using OptionalBytesLike = Passed<OptionalBytesLikeHint>;
// db[key] or db[key, ttl] (__setitem__).
using KeyOrKeyTtl = Passed<KeyOrKeyTtlHint>;
// A ttl in seconds or None (ExpiryFromTtl).
using Seconds = Passed<SecondsHint>;
// The store options dict snkv._options builds (MakeOptions).
using StoreOptionsArg = Passed<StoreOptionsHint>;
// A column family name (FamilyName).
using NameArg = Passed<NameHint>;

// The `self` of a method of the class bound to T, shown as that class;
// checked by Unwrap<T>.
template <class T>
struct SelfHint {
  static constexpr auto name = pybind11::detail::const_name<T>();
};
template <class T>
using SelfOf = Passed<SelfHint<T>>;

}  // namespace snkv::python

namespace pybind11::detail {

template <class Hint>
struct type_caster<snkv::python::Passed<Hint>> {
  PYBIND11_TYPE_CASTER(snkv::python::Passed<Hint>, Hint::name);
  bool load(handle src, bool /*convert*/) {
    value.obj = src;
    return static_cast<bool>(src);
  }
  static handle cast(const snkv::python::Passed<Hint>& v,
                     return_value_policy /*policy*/, handle /*parent*/) {
    return v.obj.inc_ref();
  }
};

}  // namespace pybind11::detail

#endif  // SNKV_PYTHON_ARG_TYPES_H
