// snkv._snkv: the compiled half of the snkv package. The package
// (python/snkv/__init__.py) re-exports these names and adds KVStore.
#include <pybind11/pybind11.h>

#include "errors.h"
#include "fork_guard.h"
#include "interrupt.h"
#include "py_iterator.h"
#include "snkv/options.h"

namespace snkv::python {
void RegisterStore(pybind11::module_& m);
void RegisterColumnFamily(pybind11::module_& m);
void RegisterVectorStore(pybind11::module_& m);  // vector_binding.cc
}  // namespace snkv::python

PYBIND11_MODULE(_snkv, m) {
  using namespace snkv::python;
  m.doc() = "Compiled core of the snkv package; import snkv instead.";
  InstallForkHook();
  InstallInterruptHooks();
  RegisterErrors(m);
  RegisterIterator(m);
  RegisterColumnFamily(m);
  RegisterStore(m);
  RegisterVectorStore(m);  // after RegisterErrors: its errors derive from them

  m.attr("JOURNAL_DELETE") = 0;
  m.attr("JOURNAL_WAL") = 1;
  m.attr("SYNC_OFF") = 0;
  m.attr("SYNC_NORMAL") = 1;
  m.attr("SYNC_FULL") = 2;
  m.attr("CHECKPOINT_PASSIVE") = 0;
  m.attr("CHECKPOINT_FULL") = 1;
  m.attr("CHECKPOINT_RESTART") = 2;
  m.attr("CHECKPOINT_TRUNCATE") = 3;
  m.attr("NO_TTL") = snkv::kNoTtl;
  m.attr("MAX_COLUMN_FAMILIES") = snkv::kMaxColumnFamilies;
}
