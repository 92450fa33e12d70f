/*
 * The memjournal ioctl interposer: loaded into an unmodified, dynamically linked
 * KVM VMM with LD_PRELOAD, it wraps ioctl, mmap and mmap64 and sends what it sees
 * of the VMM's memory topology and vCPU exits to the recorder named by
 * MEMJOURNAL_SOCKET (layout and delivery: memjournal_record.h).
 *
 * What it must never do: change what the VMM sees (return values, errno,
 * signals), block a vCPU ioctl on the recorder, hold a lock across KVM_RUN, use
 * stdio or malloc on a hot path, or make a process that never creates a VM on
 * /dev/kvm (or a child the VMM forks) record anything.
 *
 * State is a handful of lock-free words and one table indexed by fd; every
 * access is an atomic with the ordering named where it is used.
 */
#define _GNU_SOURCE
#include "memjournal_record.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/sockios.h>

/* Linux 6.8 added REGION2; Debian 12's headers predate it. The layout is KVM's ABI. */
struct memjournal_kvm_region2 {
    uint32_t slot;
    uint32_t flags;
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t guest_memfd_offset;
    uint32_t guest_memfd;
    uint32_t pad1;
    uint64_t pad2[14];
};
#define MEMJOURNAL_KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct memjournal_kvm_region2)

typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

/* The next definitions of the wrapped calls. Resolved on first use (the
 * constructors of the libraries we depend on call mmap before ours runs);
 * dlsym returns the same pointer to every thread, so a race only stores it twice.
 * Relaxed: the pointer is the whole of what is published. */
static _Atomic(ioctl_fn) next_ioctl;
static _Atomic(mmap_fn) next_mmap;
static _Atomic(mmap_fn) next_mmap64;

static ioctl_fn real_ioctl_fn(void) {
    ioctl_fn f = atomic_load_explicit(&next_ioctl, memory_order_relaxed);
    if (f == NULL) {
        f = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
        atomic_store_explicit(&next_ioctl, f, memory_order_relaxed);
    }
    return f;
}

static mmap_fn real_mmap_fn(_Atomic(mmap_fn) *slot, const char *name) {
    mmap_fn f = atomic_load_explicit(slot, memory_order_relaxed);
    if (f == NULL) {
        f = (mmap_fn)dlsym(RTLD_NEXT, name);
        atomic_store_explicit(slot, f, memory_order_relaxed);
    }
    return f;
}

#define real_ioctl (real_ioctl_fn())

/* What an fd is to us. Set by the thread that created it (release), read by any
 * thread that later issues an ioctl on it (acquire): a vCPU thread sees its fd's
 * index and kvm_run only after the thread that created and mapped them stored them. */
enum fd_kind { FD_OTHER = 0, FD_VM = 1, FD_VCPU = 2 };
#define MAX_FDS 8192
struct fd_entry {
    _Atomic int kind;
    _Atomic uint32_t vcpu;
    _Atomic(struct kvm_run *) run; /* the vCPU's kvm_run, once mapped (QEMU parks and reuses vCPU fds) */
};
static struct fd_entry fds[MAX_FDS];

/* The connection: -1 until the first VM is created, then the socket; it stays
 * -1 if connecting failed, and is -1 again in a forked child. `connected` is 1
 * while sends make sense. It is
 * set to 1 (release) after `sock` and `exit_budget` are stored, and a sender
 * loads it (acquire) before either, so a sender that sees 1 also sees the
 * socket, never the -1 before it. It drops to 0 (relaxed: a late send on a dead
 * socket only fails again) when the recorder goes away. The fd is never closed
 * in the VMM itself, so a vCPU thread racing with the disconnect sends to a
 * dead socket, never to a reused fd. */
static _Atomic int sock = -1;
static _Atomic int connected;
/* How much of the socket's send buffer (in the kernel's own accounting) exit
 * records may occupy; exits past it are dropped and counted. Without it a vCPU
 * taking exit after exit refills the buffer the moment the recorder drains it,
 * and the listener's blocking memory-slot send starves behind them (seen with
 * Linux's default wmem_max on a loaded machine: QEMU stalled mid-toggle for
 * minutes). Set once before `connected` is published (release), read after it
 * is loaded (acquire), so relaxed suffices. */
static _Atomic int exit_budget;
/* 0 until a connection was attempted (one attempt per process). */
static atomic_flag attempted = ATOMIC_FLAG_INIT;
/* Counters: relaxed, they only need to be exact in total, not ordered. */
static _Atomic uint64_t produced;
static _Atomic uint32_t dropped_exits;
/* Set in a forked child: the child is not the VMM and records nothing. Relaxed:
 * it is set in the child's only thread (at fork) and read by that thread and
 * the threads it starts afterwards, which thread creation orders after it. */
static _Atomic int disabled;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill(struct memjournal_record *r, uint16_t kind) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->version = MEMJOURNAL_RECORD_VERSION;
    r->guest_memfd = -1;
}

/* The outcome of one send. */
enum sent { SENT, FULL, GONE };

/* Sends one record on `fd`. A full socket is an outcome only for a send that may
 * not block; any other failure means the recorder is gone. */
static enum sent send_on(int fd, struct memjournal_record *r, int may_block) {
    r->dropped_exits = atomic_load_explicit(&dropped_exits, memory_order_relaxed);
    int flags = MSG_NOSIGNAL | (may_block ? 0 : MSG_DONTWAIT);
    for (;;) {
        ssize_t n = send(fd, r, sizeof *r, flags);
        if (n == (ssize_t)sizeof *r) return SENT;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !may_block) return FULL;
        return GONE;
    }
}

/* Sends one record. `may_block` is true for memory-slot records (never lost while
 * the recorder lives) and false for exits (dropped and counted when the socket is
 * full). A failure other than a full socket means the recorder is gone. */
static void send_record(struct memjournal_record *r, int may_block) {
    r->sequence = atomic_fetch_add_explicit(&produced, 1, memory_order_relaxed) + 1;
    /* Acquire: pairs with connect_once's release of 1, after which `sock` and
     * `exit_budget` hold the connection and its hello has gone out first. */
    if (!atomic_load_explicit(&connected, memory_order_acquire)) return;
    int fd = atomic_load_explicit(&sock, memory_order_relaxed);
    if (!may_block) {
        int queued = 0;
        if (real_ioctl(fd, SIOCOUTQ, &queued) == 0 && queued >= atomic_load_explicit(&exit_budget, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&dropped_exits, 1, memory_order_relaxed);
            return;
        }
    }
    switch (send_on(fd, r, may_block)) {
    case SENT: return;
    case FULL: atomic_fetch_add_explicit(&dropped_exits, 1, memory_order_relaxed); return;
    case GONE: atomic_store_explicit(&connected, 0, memory_order_relaxed); return;
    }
}

/* Connects once, on the first VM this process creates. */
static void connect_once(void) {
    if (atomic_flag_test_and_set(&attempted)) return;
    const char *path = getenv(MEMJOURNAL_SOCKET_ENV);
    if (path == NULL || path[0] == 0 || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) return;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path, strlen(path));
    int rc;
    do { rc = connect(fd, (struct sockaddr *)&address, sizeof address); } while (rc < 0 && errno == EINTR);
    if (rc < 0) { close(fd); return; }
    int buffer = 4 << 20; /* room for bursts of exits; the kernel caps it at wmem_max */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    int granted = 0;
    socklen_t length = sizeof granted;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &granted, &length) != 0) granted = 0;
    /* A quarter for exits: the rest is the memory-slot records' room. */
    atomic_store_explicit(&exit_budget, granted / 4, memory_order_relaxed);
    /* The hello goes out before the socket is published: the recorder refuses a
     * connection whose first record is not one, and another thread creating a
     * VM could otherwise send first. Unpublished, the fd is ours to close. */
    struct memjournal_record hello;
    fill(&hello, MEMJOURNAL_HELLO);
    hello.result = getpid();
    hello.sequence = atomic_fetch_add_explicit(&produced, 1, memory_order_relaxed) + 1;
    if (send_on(fd, &hello, 1) != SENT) { close(fd); return; }
    atomic_store_explicit(&sock, fd, memory_order_relaxed);
    /* Release: publishes `sock` and `exit_budget` to every sender that sees 1. */
    atomic_store_explicit(&connected, 1, memory_order_release);
}

/* Whether fd is an open /dev/kvm (so KVM_CREATE_VM on anything else is not ours). */
static int is_kvm_device(int fd) {
    /* "/proc/self/fd/" + the decimal fd, built by hand (no stdio here). */
    char link[32] = "/proc/self/fd/", digits[12], target[16];
    int count = 0;
    if (fd < 0) return 0;
    do { digits[count++] = (char)('0' + fd % 10); fd /= 10; } while (fd > 0);
    size_t at = strlen(link);
    while (count > 0) link[at++] = digits[--count];
    link[at] = 0;
    ssize_t len = readlink(link, target, sizeof target);
    return len == 8 && memcmp(target, "/dev/kvm", 8) == 0;
}

static struct fd_entry *entry(int fd) { return fd >= 0 && fd < MAX_FDS ? &fds[fd] : NULL; }

static int kind_of(int fd) {
    struct fd_entry *e = entry(fd);
    return e ? atomic_load_explicit(&e->kind, memory_order_acquire) : FD_OTHER;
}

static void after_run(int fd, int rc, uint64_t begin, uint64_t end) {
    /* A failed KVM_RUN (EINTR from a kick, among others) left no exit to read. */
    if (rc != 0) return;
    struct fd_entry *e = entry(fd);
    struct kvm_run *run = atomic_load_explicit(&e->run, memory_order_acquire);
    if (run == NULL) return;
    struct memjournal_record r;
    if (run->exit_reason == KVM_EXIT_MMIO) {
        fill(&r, MEMJOURNAL_MMIO_EXIT);
        r.gpa = run->mmio.phys_addr;
        r.length = run->mmio.len;
        r.is_write = run->mmio.is_write;
    } else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
        fill(&r, MEMJOURNAL_INTERNAL_ERROR);
        r.length = run->internal.suberror;
    } else {
        return;
    }
    r.vcpu = atomic_load_explicit(&e->vcpu, memory_order_relaxed);
    r.begin_ns = begin;
    r.end_ns = end;
    send_record(&r, 0);
}

/* The fields both memory-region requests share. */
static void fill_region(struct memjournal_record *r, uint16_t kind, uint32_t slot, uint32_t flags, uint64_t gpa,
                        uint64_t size, uint64_t userspace_addr) {
    fill(r, kind);
    r->slot = slot;
    r->flags = flags;
    r->gpa = gpa;
    r->size = size;
    r->userspace_addr = userspace_addr;
}

static void after_vm_ioctl(int fd, uint32_t request, void *arg, int rc, int error, uint64_t begin, uint64_t end) {
    struct memjournal_record r;
    int64_t result = rc < 0 ? -(int64_t)error : rc;
    switch (request) {
    case (uint32_t)KVM_CREATE_VCPU: {
        fill(&r, MEMJOURNAL_CREATE_VCPU);
        r.vcpu = (uint32_t)(uintptr_t)arg;
        struct fd_entry *e = entry(rc);
        if (rc >= 0 && e) {
            atomic_store_explicit(&e->vcpu, r.vcpu, memory_order_relaxed);
            atomic_store_explicit(&e->run, NULL, memory_order_relaxed);
            atomic_store_explicit(&e->kind, FD_VCPU, memory_order_release);
        }
        break;
    }
    case (uint32_t)KVM_SET_USER_MEMORY_REGION: {
        const struct kvm_userspace_memory_region *m = arg;
        fill_region(&r, MEMJOURNAL_SET_MEMORY_REGION, m->slot, m->flags, m->guest_phys_addr, m->memory_size,
                    m->userspace_addr);
        break;
    }
    case (uint32_t)MEMJOURNAL_KVM_SET_USER_MEMORY_REGION2: {
        const struct memjournal_kvm_region2 *m = arg;
        fill_region(&r, MEMJOURNAL_SET_MEMORY_REGION2, m->slot, m->flags, m->guest_phys_addr, m->memory_size,
                    m->userspace_addr);
        r.guest_memfd = (int32_t)m->guest_memfd;
        r.guest_memfd_offset = m->guest_memfd_offset;
        break;
    }
    case (uint32_t)KVM_GET_DIRTY_LOG: {
        const struct kvm_dirty_log *log = arg;
        fill(&r, MEMJOURNAL_GET_DIRTY_LOG);
        r.slot = log->slot;
        break;
    }
    case (uint32_t)KVM_CLEAR_DIRTY_LOG: {
        const struct kvm_clear_dirty_log *log = arg;
        fill(&r, MEMJOURNAL_CLEAR_DIRTY_LOG);
        r.slot = log->slot;
        r.gpa = log->first_page;
        r.size = log->num_pages;
        break;
    }
    default:
        return;
    }
    (void)fd;
    r.result = result;
    r.begin_ns = begin;
    r.end_ns = end;
    send_record(&r, 1);
}

/* glibc's exact prototype. QEMU 7.2 passes `int` requests, so _IOWR codes arrive
 * sign-extended: every comparison is on the low 32 bits. */
int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    uint32_t code = (uint32_t)request;
    if (atomic_load_explicit(&disabled, memory_order_relaxed)) return real_ioctl(fd, request, arg);
    int kind = kind_of(fd);
    int ours = code == (uint32_t)KVM_CREATE_VM || kind == FD_VM || (kind == FD_VCPU && code == (uint32_t)KVM_RUN);
    if (!ours) return real_ioctl(fd, request, arg);

    uint64_t begin = now_ns();
    int rc = real_ioctl(fd, request, arg);
    int saved = errno;
    uint64_t end = now_ns();
    if (code == (uint32_t)KVM_RUN) {
        after_run(fd, rc, begin, end);
    } else if (code == (uint32_t)KVM_CREATE_VM && kind == FD_OTHER) {
        if (rc >= 0 && is_kvm_device(fd)) {
            struct fd_entry *e = entry(rc);
            if (e) atomic_store_explicit(&e->kind, FD_VM, memory_order_release);
            connect_once();
            struct memjournal_record r;
            fill(&r, MEMJOURNAL_CREATE_VM);
            r.result = rc;
            r.begin_ns = begin;
            r.end_ns = end;
            send_record(&r, 1);
        }
    } else if (kind == FD_VM) {
        after_vm_ioctl(fd, code, arg, rc, saved, begin, end);
    }
    errno = saved;
    return rc;
}

/* Remembers a vCPU's kvm_run: offset 0 of a vCPU fd. */
static void *mapped(void *result, int fd, off_t offset) {
    if (result != MAP_FAILED && offset == 0 && kind_of(fd) == FD_VCPU) {
        atomic_store_explicit(&entry(fd)->run, (struct kvm_run *)result, memory_order_release);
    }
    return result;
}

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    void *result = real_mmap_fn(&next_mmap, "mmap")(address, length, protection, flags, fd, offset);
    int saved = errno;
    mapped(result, fd, offset);
    errno = saved;
    return result;
}

/* glibc exports both; Debian's QEMU 7.2 maps kvm_run through mmap64. */
void *mmap64(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    void *result = real_mmap_fn(&next_mmap64, "mmap64")(address, length, protection, flags, fd, offset);
    int saved = errno;
    mapped(result, fd, offset);
    errno = saved;
    return result;
}

/* A forked child (a helper, a daemonizing VMM before exec) is not the VMM this
 * connection belongs to: it forgets every fd and never sends. The child is
 * single-threaded here, so closing its copy of the socket cannot race. */
static void forked_child(void) {
    atomic_store_explicit(&disabled, 1, memory_order_relaxed);
    atomic_store_explicit(&connected, 0, memory_order_relaxed);
    int fd = atomic_exchange_explicit(&sock, -1, memory_order_relaxed);
    if (fd >= 0) close(fd);
}

/* A normal exit says goodbye, so the recorder can tell it from a death. */
__attribute__((destructor)) static void interposer_fini(void) {
    int saved = errno;
    if (!atomic_load_explicit(&disabled, memory_order_relaxed)) {
        struct memjournal_record r;
        fill(&r, MEMJOURNAL_GOODBYE);
        r.begin_ns = r.end_ns = now_ns();
        send_record(&r, 1);
    }
    errno = saved;
}

__attribute__((constructor)) static void interposer_init(void) {
    int saved = errno;
    pthread_atfork(NULL, NULL, forked_child);
    errno = saved;
}
