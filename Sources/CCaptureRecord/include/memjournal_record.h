/*
 * memjournal_record.h — the one record layout the ioctl interposer
 * (Sources/CInterposer, loaded into a VMM with LD_PRELOAD) sends to the
 * recorder (`memjournal serve` / `capture`, Sources/Capture).
 *
 * Transport: one AF_UNIX SOCK_SEQPACKET connection per VMM process, to the path
 * in MEMJOURNAL_SOCKET. Every datagram is exactly one `struct memjournal_record`
 * (sizeof == MEMJOURNAL_RECORD_SIZE, host byte order: both ends run on the same
 * machine). The first record of a connection is MEMJOURNAL_HELLO.
 *
 * Delivery: records of memory-slot ioctls are sent blocking (never lost while the
 * recorder is alive); records of vCPU exits are sent without blocking and, when
 * the socket is full or exits already fill a quarter of its send buffer (the
 * rest is kept for memory-slot records, so exits never starve them), dropped and
 * counted in `dropped_exits` of every later record. `sequence` numbers every record the process produced, sent or not.
 *
 * Times are CLOCK_MONOTONIC nanoseconds, comparable with the recorder's own.
 */
#ifndef MEMJOURNAL_RECORD_H
#define MEMJOURNAL_RECORD_H

#include <stdint.h>

/* Raised whenever a field changes meaning or the layout changes. */
#define MEMJOURNAL_RECORD_VERSION 1

enum memjournal_record_kind {
    /* First record: `result` = the VMM's pid. No other field is used. */
    MEMJOURNAL_HELLO = 1,
    /* KVM_CREATE_VM on /dev/kvm: `result` = the VM fd or -errno. */
    MEMJOURNAL_CREATE_VM = 2,
    /* KVM_CREATE_VCPU: `vcpu` = the index asked for, `result` = the vCPU fd or -errno. */
    MEMJOURNAL_CREATE_VCPU = 3,
    /* KVM_SET_USER_MEMORY_REGION: slot, flags, gpa, size, userspace_addr; result 0 or -errno. */
    MEMJOURNAL_SET_MEMORY_REGION = 4,
    /* KVM_SET_USER_MEMORY_REGION2: as above plus guest_memfd and guest_memfd_offset. */
    MEMJOURNAL_SET_MEMORY_REGION2 = 5,
    /* KVM_GET_DIRTY_LOG: `slot`; result 0 or -errno. */
    MEMJOURNAL_GET_DIRTY_LOG = 6,
    /* KVM_CLEAR_DIRTY_LOG: `slot`, `gpa` = first page, `size` = number of pages; result. */
    MEMJOURNAL_CLEAR_DIRTY_LOG = 7,
    /* KVM_RUN returned 0 with KVM_EXIT_MMIO: vcpu, gpa, length, is_write; begin/end bound the KVM_RUN. */
    MEMJOURNAL_MMIO_EXIT = 8,
    /* KVM_RUN returned 0 with KVM_EXIT_INTERNAL_ERROR: vcpu, `length` = suberror
       (1 = emulation failure: e.g. an instruction fetch from a GPA with no slot). */
    MEMJOURNAL_INTERNAL_ERROR = 9,
    /* The VMM is exiting normally (exit() or a return from main). A connection
       that ends without it means the VMM died (a signal, _exit, a crash). */
    MEMJOURNAL_GOODBYE = 10,
};

struct memjournal_record {
    uint16_t kind;               /* enum memjournal_record_kind */
    uint16_t version;            /* MEMJOURNAL_RECORD_VERSION */
    uint32_t vcpu;               /* vCPU index (CREATE_VCPU, exits), else 0 */
    int64_t result;              /* the ioctl's return value, or -errno; HELLO: pid */
    uint64_t begin_ns;           /* CLOCK_MONOTONIC just before the real ioctl */
    uint64_t end_ns;             /* CLOCK_MONOTONIC just after it returned */
    uint32_t slot;               /* slot id as KVM takes it: index | address space << 16 */
    uint32_t flags;              /* KVM_MEM_* flags of the region */
    uint64_t gpa;                /* guest-physical address (region start, MMIO address, first dirty page) */
    uint64_t size;               /* region size in bytes (0 deletes), or dirty pages */
    uint64_t userspace_addr;     /* host virtual address of the region's memory */
    uint64_t guest_memfd_offset; /* REGION2 only */
    int32_t guest_memfd;         /* REGION2 only, else -1 */
    uint32_t length;             /* MMIO access length in bytes; INTERNAL_ERROR: suberror */
    uint32_t is_write;           /* MMIO: 1 for a write, 0 for a read */
    uint32_t dropped_exits;      /* exit records dropped so far by this process (cumulative) */
    uint64_t sequence;           /* records produced by this process so far, this one included */
};

#define MEMJOURNAL_RECORD_SIZE 96
_Static_assert(sizeof(struct memjournal_record) == MEMJOURNAL_RECORD_SIZE, "record layout changed");

/* The environment variable naming the recorder's socket. */
#define MEMJOURNAL_SOCKET_ENV "MEMJOURNAL_SOCKET"

#endif
