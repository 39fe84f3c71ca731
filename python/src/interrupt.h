// Keeping long waits interruptible by Ctrl-C.
//
// A call that waits out busy_timeout for another connection's lock runs
// without the GIL, so Python's signal handlers cannot run until it
// returns, which could be minutes. Every store the binding opens gets
// KeepWaiting as its Options::keep_waiting: the store asks it about every
// 100 ms during such a wait, and it briefly takes the GIL to run the
// pending signal handlers. When one raises (KeyboardInterrupt by default),
// the exception is parked for this thread, the wait ends, and NoGil raises
// it once the call is back.
#ifndef SNKV_PYTHON_INTERRUPT_H
#define SNKV_PYTHON_INTERRUPT_H

namespace snkv::python {

// Records the thread that runs Python's signal handlers (the main thread,
// and after fork() the child's forking thread). Call once, at import, with
// the GIL.
void InstallInterruptHooks();

// Options::keep_waiting for the binding's stores: false once a signal
// handler raised (the exception is parked); true otherwise. Called without
// the GIL, and takes it only on the thread that runs signal handlers:
// elsewhere there is nothing to run, and taking the GIL could stop the
// thread for good. From the moment the interpreter starts to shut down,
// a thread other than the one shutting it down that takes the GIL is
// ended at once by CPython (through pthread_exit, inside the store's
// call: its SQLite connection is left mid-call, and the unwind through
// one of our noexcept entry points would abort the process). The thread
// that runs the handlers is the one that shuts the interpreter down, so it
// cannot be waiting here then, and the others never try. (An embedding program
// that finalizes Python from another thread should first stop the calls
// of its main thread.)
bool KeepWaiting();

// Raises the exception KeepWaiting parked on this thread, if any (as
// pybind11::error_already_set). Requires the GIL.
void RaiseParkedInterrupt();

}  // namespace snkv::python

#endif  // SNKV_PYTHON_INTERRUPT_H
