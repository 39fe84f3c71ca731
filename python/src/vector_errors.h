// The exceptions of snkv.vector and the translation of a failed vector
// store Status into them.
#ifndef SNKV_PYTHON_VECTOR_ERRORS_H
#define SNKV_PYTHON_VECTOR_ERRORS_H

#include <pybind11/pybind11.h>

#include "snkv/status.h"

namespace snkv::python {

// Creates VectorIndexError (a snkv.Error) and VectorMismatchError (a
// VectorIndexError and a ValueError) in `m`. RegisterErrors must have run.
void RegisterVectorErrors(pybind11::module_& m);

// Raises the Python exception for a failed vector store call:
//   kIndexDropped, kIndexEmpty             -> VectorIndexError
//   kDimMismatch, kSpaceMismatch, kDtypeMismatch -> VectorMismatchError
//   kBadVector                             -> ValueError
//   anything else                          -> as ThrowStatus (snkv.Error ...)
// The snkv exceptions carry the numeric code in `code`. Requires the GIL.
[[noreturn]] void ThrowVectorStatus(const Status& s);

}  // namespace snkv::python

#endif  // SNKV_PYTHON_VECTOR_ERRORS_H
