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

// Options::keep_waiting for the binding's stores: false once a signal
// handler raised (the exception is parked); true otherwise, and always
// while the interpreter shuts down (taking the GIL then could stop the
// thread with the store's mutex held). Called without the GIL.
bool KeepWaiting();

// Raises the exception KeepWaiting parked on this thread, if any (as
// pybind11::error_already_set). Requires the GIL.
void RaiseParkedInterrupt();

}  // namespace snkv::python

#endif  // SNKV_PYTHON_INTERRUPT_H
