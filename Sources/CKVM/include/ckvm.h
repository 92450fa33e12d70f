// C glue for the KVM backend: Swift cannot call the variadic ioctl(2), the
// _IO/_IOW request macros do not import, kvm_run's unions import poorly, and
// signal handlers need the sigaction union. Every function here is a thin
// wrapper that returns its result, or -errno on failure; policy lives in Swift.
#ifndef CKVM_H
#define CKVM_H

#include <stdint.h>
#include <stddef.h>
#include <linux/kvm.h>

// --- /dev/kvm ---------------------------------------------------------------
int ckvm_get_api_version(int kvm_fd);
int ckvm_check_extension(int fd, long capability);
int ckvm_create_vm(int kvm_fd);
int ckvm_get_vcpu_mmap_size(int kvm_fd);

// A close-on-exec memfd for guest memory (glibc declares it only with _GNU_SOURCE).
int ckvm_memfd_create(const char *name);

// --- VM ---------------------------------------------------------------------
int ckvm_create_vcpu(int vm_fd, unsigned long id);
int ckvm_set_user_memory_region(int vm_fd, uint32_t slot, uint32_t flags,
                                uint64_t guest_phys_addr, uint64_t memory_size,
                                uint64_t userspace_addr);
int ckvm_get_dirty_log(int vm_fd, uint32_t slot, void *bitmap);

// --- vCPU -------------------------------------------------------------------
// KVM_RUN; returns 0, or -EINTR when a kick (signal or immediate_exit) ended it.
int ckvm_run(int vcpu_fd);
// Puts the vCPU in flat 32-bit protected mode (base 0, limit 4 GiB, no paging)
// at `entry`, with `esi` preloaded.
int ckvm_setup_flat_protected_mode(int vcpu_fd, uint32_t entry, uint32_t esi);

// --- kvm_run ----------------------------------------------------------------
struct kvm_run *ckvm_map_run(int vcpu_fd, size_t size);
int ckvm_unmap_run(struct kvm_run *run, size_t size);
uint32_t ckvm_run_exit_reason(const struct kvm_run *run);
void ckvm_run_set_immediate_exit(struct kvm_run *run, uint8_t value);
// KVM_EXIT_MMIO fields; `data` points at the 8-byte data buffer in kvm_run.
uint64_t ckvm_run_mmio_phys_addr(const struct kvm_run *run);
uint32_t ckvm_run_mmio_len(const struct kvm_run *run);
uint8_t ckvm_run_mmio_is_write(const struct kvm_run *run);
uint8_t *ckvm_run_mmio_data(struct kvm_run *run);
// KVM_EXIT_INTERNAL_ERROR / FAIL_ENTRY detail, for error messages.
uint32_t ckvm_run_internal_suberror(const struct kvm_run *run);
uint64_t ckvm_run_fail_entry_reason(const struct kvm_run *run);

// --- kick -------------------------------------------------------------------
// Installs (once per process) the kick handler for `signo` without SA_RESTART:
// it sets immediate_exit in the calling thread's kvm_run, closing the race where
// the signal lands just before KVM_RUN is entered. Returns 0 or -errno.
int ckvm_install_kick_handler(int signo);
// Registers the kvm_run the kick handler must flag on this thread (NULL: none).
void ckvm_set_thread_run(struct kvm_run *run);
// Unblocks `signo` on the calling thread.
int ckvm_unblock_signal(int signo);

// --- userfaultfd ----------------------------------------------------------------
// A userfaultfd (close-on-exec, non-blocking) with [address, address + length)
// registered for missing-page faults: the first touch of a page there blocks the
// toucher until the page is served or the descriptor is closed. Returns the fd or -errno.
int ckvm_userfault_register(void *address, size_t length);
// Waits up to `timeout_ms` for a page-fault event and reads it (without serving
// it): 1 and the faulting `address`, 0 on timeout, or -errno.
int ckvm_userfault_wait(int fd, int timeout_ms, uint64_t *address);

#endif
