// The bare minimum this machine allows for an atomic memslot update under
// running vCPUs: a small C program of ours, no journal, no listener, no Swift.
// It runs memjournal's guest program on `vcpus` vCPU threads and, `transactions`
// times, inhibits them exactly as memjournal's blocker does — kick each vCPU in
// KVM_RUN (signal + immediate_exit), wait on a futex (never spin) until none is
// inside, delete and re-create the RAM slot they touch, release them — timing the
// drain (kick → no vCPU in KVM_RUN) and the whole inhibit. BENCHMARKS.md reads
// memjournal's drain and inhibit as a ratio to these.
#ifndef INHIBIT_BASELINE_H
#define INHIBIT_BASELINE_H

#include <stddef.h>
#include <stdint.h>

// Runs the baseline. `code` is memjournal's guest program (GuestProgram.code);
// each vCPU's block is at code base + `block_stride` * (vcpu + 1), and lists the
// `target_count` guest-physical `targets` (the scenario's, so the guest does the
// same work as under memjournal), all inside the RAM slot of `ram_size` bytes at
// 0 that each transaction deletes and re-creates. `drain_ns` and `inhibit_ns`
// receive one value per transaction. Returns 0, or -errno with a message in `error`.
int inhibit_baseline_run(const uint8_t *code, size_t code_len, uint64_t block_stride, const uint32_t *targets,
                         int target_count, uint64_t ram_size, int vcpus, int transactions, uint64_t interval_ns,
                         uint64_t *drain_ns, uint64_t *inhibit_ns, char *error, size_t error_len);

#endif
