// Unwrap<T>(self): the C++ object behind a bound method's `self`, checked.
//
// pybind11 hands a method the object's C++ storage even when the object
// was made with T.__new__(T) and never initialised (it allocates the
// storage lazily, unconstructed); and a method taken from the class can be
// called with any object as self. Every method of ours therefore takes
// self as a plain handle and goes through Unwrap, which checks the type
// and that __init__ (or our own factory) constructed the object, raising
// TypeError otherwise instead of touching garbage.
#ifndef SNKV_PYTHON_SELF_ARG_H
#define SNKV_PYTHON_SELF_ARG_H

#include <pybind11/pybind11.h>

#include <string>

namespace snkv::python {

// The Python type bound to T; set by the Register* function that binds it.
template <class T>
struct BoundType {
  static inline PyTypeObject* type = nullptr;
};

template <class T>
void SetBoundType(const pybind11::handle& cls) {
  BoundType<T>::type = reinterpret_cast<PyTypeObject*>(cls.ptr());
}

// Like Unwrap, but returns nullptr (with no Python error set) when self is
// not an initialised T; for tp_iternext, which reports failures itself.
template <class T>
T* TryUnwrap(PyObject* self) noexcept {
  PyTypeObject* type = BoundType<T>::type;
  if (type == nullptr || !PyObject_TypeCheck(self, type)) return nullptr;
  try {
    auto* inst = reinterpret_cast<pybind11::detail::instance*>(self);
    pybind11::detail::value_and_holder vh =
        inst->get_value_and_holder(nullptr, /*throw_if_missing=*/false);
    if (!vh || !vh.holder_constructed()) return nullptr;
    return vh.value_ptr<T>();
  } catch (...) {  // not thrown with throw_if_missing=false; be sure
    return nullptr;
  }
}

template <class T>
T& Unwrap(pybind11::handle self) {
  T* p = TryUnwrap<T>(self.ptr());
  if (p == nullptr) {
    PyTypeObject* type = BoundType<T>::type;
    throw pybind11::type_error(std::string("expected an initialised ") +
                               (type ? type->tp_name : "snkv object") +
                               " as self, got " + Py_TYPE(self.ptr())->tp_name +
                               " (was __init__ called?)");
  }
  return *p;
}

}  // namespace snkv::python

#endif  // SNKV_PYTHON_SELF_ARG_H
