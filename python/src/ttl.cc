#include "ttl.h"

#include <cmath>
#include <limits>
#include <string>

#include "snkv/options.h"

namespace snkv::python {

namespace py = pybind11;

int64_t ExpiryFromTtl(py::handle ttl) {
  PyObject* o = ttl.ptr();
  if (o == Py_None) return 0;
  // bool is an int subclass, but ttl=True is a mistake, not one second.
  if (PyBool_Check(o)) {
    throw py::type_error("ttl must be a number of seconds or None, not bool");
  }
  // Numbers only: a str would convert through float() and hide a mistake.
  PyNumberMethods* nb = Py_TYPE(o)->tp_as_number;
  bool numeric =
      PyFloat_Check(o) || PyLong_Check(o) ||
      (nb != nullptr && (nb->nb_float != nullptr || nb->nb_index != nullptr));
  if (!numeric) {
    throw py::type_error(std::string("ttl must be a number of seconds or "
                                     "None, not ") +
                         Py_TYPE(o)->tp_name);
  }
  double seconds = PyFloat_AsDouble(o);
  if (seconds == -1.0 && PyErr_Occurred()) {
    // An int too large for a double is too large a ttl anyway.
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_Clear();
      throw py::value_error("ttl is too large");
    }
    throw py::error_already_set();
  }
  if (std::isnan(seconds)) throw py::value_error("ttl must not be NaN");
  if (seconds < 0) throw py::value_error("ttl must not be negative");
  const int64_t now = NowMs();
  const double ms = std::ceil(seconds * 1000.0);
  // Compare in double: converting an out-of-range double to int64 is UB.
  if (!(ms < static_cast<double>(std::numeric_limits<int64_t>::max() - now))) {
    throw py::value_error("ttl is too large");
  }
  return now + static_cast<int64_t>(ms);
}

py::object TtlToPython(int64_t remaining_ms) {
  if (remaining_ms == kNoTtl) return py::none();
  return py::float_(static_cast<double>(remaining_ms) / 1000.0);
}

}  // namespace snkv::python
