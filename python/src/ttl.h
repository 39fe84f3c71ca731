// Conversions between Python TTLs (seconds, float or int) and the C++
// API's absolute expiry times and remaining milliseconds.
#ifndef SNKV_PYTHON_TTL_H
#define SNKV_PYTHON_TTL_H

#include <pybind11/pybind11.h>

#include <cstdint>

namespace snkv::python {

// The absolute expiry (ms since the epoch) for a ttl argument: None -> 0
// (never expires); a number of seconds -> now + ttl, rounded up to whole
// ms so that any positive ttl outlives the call. ttl 0 expires at once.
// Raises TypeError for a non-number, ValueError for a negative, NaN,
// infinite or too large one.
int64_t ExpiryFromTtl(pybind11::handle ttl);

// What ttl() returns for a remaining time from the C++ API: None for
// kNoTtl, else the seconds left as a float (0.0 when it just expired).
pybind11::object TtlToPython(int64_t remaining_ms);

}  // namespace snkv::python

#endif  // SNKV_PYTHON_TTL_H
