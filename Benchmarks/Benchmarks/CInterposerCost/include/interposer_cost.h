// What memjournal's ioctl interposer adds to a VMM's ioctls (BENCHMARKS.md §12):
// the same KVM_RUN and KVM_SET_USER_MEMORY_REGION calls made straight into libc,
// or through the interposer's own symbols (a private dlopen of the library, so
// nothing else in the process is interposed).
#ifndef INTERPOSER_COST_H
#define INTERPOSER_COST_H
#include <stddef.h>
#include <stdint.h>

// Creates a VM with one vCPU whose guest writes to an unmapped GPA in a loop (so
// every KVM_RUN returns with KVM_EXIT_MMIO, which the interposer reports), then
// times `memslot_ops` slot creates/deletes (alternating), then `runs` KVM_RUN calls.
// `library` NULL calls libc; else the interposer at that path, which connects to
// $MEMJOURNAL_SOCKET when the VM is created (load a fresh copy per call: its
// state is per process). Returns 0, or -1 with a message in `error`.
int interposer_cost_run(const char *library, int runs, int memslot_ops, uint64_t *run_ns, uint64_t *memslot_ns,
                        char *error, size_t error_size);
#endif
