#define _GNU_SOURCE
#include "ckvm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <poll.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

static int result(int rc) { return rc < 0 ? -errno : rc; }

int ckvm_get_api_version(int kvm_fd) { return result(ioctl(kvm_fd, KVM_GET_API_VERSION, 0)); }
int ckvm_check_extension(int fd, long capability) { return result(ioctl(fd, KVM_CHECK_EXTENSION, capability)); }
int ckvm_create_vm(int kvm_fd) { return result(ioctl(kvm_fd, KVM_CREATE_VM, 0)); }
int ckvm_get_vcpu_mmap_size(int kvm_fd) { return result(ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0)); }
int ckvm_memfd_create(const char *name) { return result(memfd_create(name, MFD_CLOEXEC)); }
int ckvm_create_vcpu(int vm_fd, unsigned long id) { return result(ioctl(vm_fd, KVM_CREATE_VCPU, id)); }

int ckvm_set_user_memory_region(int vm_fd, uint32_t slot, uint32_t flags, uint64_t guest_phys_addr,
                                uint64_t memory_size, uint64_t userspace_addr) {
    struct kvm_userspace_memory_region region = {
        .slot = slot, .flags = flags, .guest_phys_addr = guest_phys_addr,
        .memory_size = memory_size, .userspace_addr = userspace_addr,
    };
    return result(ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region));
}

int ckvm_get_dirty_log(int vm_fd, uint32_t slot, void *bitmap) {
    struct kvm_dirty_log log;
    memset(&log, 0, sizeof log);
    log.slot = slot;
    log.dirty_bitmap = bitmap;
    return result(ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log));
}

int ckvm_run(int vcpu_fd) { return result(ioctl(vcpu_fd, KVM_RUN, 0)); }

static void flat_segment(struct kvm_segment *seg, uint16_t selector, uint8_t type) {
    memset(seg, 0, sizeof *seg);
    seg->base = 0;
    seg->limit = 0xffffffff;
    seg->selector = selector;
    seg->type = type;
    seg->present = 1;
    seg->dpl = 0;
    seg->db = 1;
    seg->s = 1;
    seg->l = 0;
    seg->g = 1;
}

int ckvm_setup_flat_protected_mode(int vcpu_fd, uint32_t entry, uint32_t esi) {
    struct kvm_sregs sregs;
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) return -errno;
    flat_segment(&sregs.cs, 0x08, 0xb);  // execute/read, accessed
    flat_segment(&sregs.ds, 0x10, 0x3);  // read/write, accessed
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.cr0 |= 1;  // PE, paging off
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0) return -errno;
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = entry;
    regs.rsi = esi;
    regs.rflags = 0x2;
    return result(ioctl(vcpu_fd, KVM_SET_REGS, &regs));
}

struct kvm_run *ckvm_map_run(int vcpu_fd, size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
    return p == MAP_FAILED ? NULL : (struct kvm_run *)p;
}
int ckvm_unmap_run(struct kvm_run *run, size_t size) { return result(munmap(run, size)); }

uint32_t ckvm_run_exit_reason(const struct kvm_run *run) { return run->exit_reason; }
// immediate_exit is written by the vCPU thread, its signal handler and kickers on
// other threads, and read by the kernel at KVM_RUN entry: sequentially consistent
// stores make a kicker's "1" visible before its pthread_kill can be handled.
void ckvm_run_set_immediate_exit(struct kvm_run *run, uint8_t value) {
    __atomic_store_n(&run->immediate_exit, value, __ATOMIC_SEQ_CST);
}
uint64_t ckvm_run_mmio_phys_addr(const struct kvm_run *run) { return run->mmio.phys_addr; }
uint32_t ckvm_run_mmio_len(const struct kvm_run *run) { return run->mmio.len; }
uint8_t ckvm_run_mmio_is_write(const struct kvm_run *run) { return run->mmio.is_write; }
uint8_t *ckvm_run_mmio_data(struct kvm_run *run) { return run->mmio.data; }
uint32_t ckvm_run_internal_suberror(const struct kvm_run *run) { return run->internal.suberror; }
uint64_t ckvm_run_fail_entry_reason(const struct kvm_run *run) {
    return run->fail_entry.hardware_entry_failure_reason;
}

// The kvm_run of the vCPU running on this thread, for the kick handler.
static _Thread_local struct kvm_run *thread_run;

void ckvm_set_thread_run(struct kvm_run *run) { thread_run = run; }

static void kick_handler(int signo) {
    (void)signo;
    struct kvm_run *run = thread_run;
    if (run) __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

int ckvm_install_kick_handler(int signo) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = kick_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return -EINTR
    return result(sigaction(signo, &action, NULL));
}

int ckvm_unblock_signal(int signo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    return -pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

// --- userfaultfd (tests: a guest page no one serves) --------------------------
int ckvm_userfault_register(void *address, size_t length) {
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    struct uffdio_api api = { .api = UFFD_API, .features = 0 };
    struct uffdio_register reg = {
        .range = { .start = (unsigned long)address, .len = length },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    if (ioctl(fd, UFFDIO_API, &api) < 0 || ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
        int saved = errno;
        close(fd);
        return -saved;
    }
    return fd;
}

int ckvm_userfault_wait(int fd, int timeout_ms, uint64_t *address) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int rc = poll(&p, 1, timeout_ms);
    if (rc < 0) return -errno;
    if (rc == 0) return 0;
    struct uffd_msg msg;
    ssize_t n = read(fd, &msg, sizeof msg);
    if (n < 0) return -errno;
    if (n != (ssize_t)sizeof msg || msg.event != UFFD_EVENT_PAGEFAULT) return -EIO;
    *address = msg.arg.pagefault.address;
    return 1;
}
