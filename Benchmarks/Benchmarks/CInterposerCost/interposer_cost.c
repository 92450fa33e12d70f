#define _GNU_SOURCE
#include "interposer_cost.h"
#include "ckvm.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define FAIL(...) do { snprintf(error, error_size, __VA_ARGS__); goto out; } while (0)

int interposer_cost_run(const char *library, int runs, int memslot_ops, uint64_t *run_ns, uint64_t *memslot_ns,
                        char *error, size_t error_size) {
    int result = -1, kvm = -1, vm = -1, vcpu = -1;
    void *handle = NULL, *code = MAP_FAILED, *spare = MAP_FAILED;
    struct kvm_run *run = MAP_FAILED;
    size_t run_size = 0;
    ioctl_fn do_ioctl = ioctl;
    mmap_fn do_mmap = mmap;
    if (library) {
        handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
        if (!handle) FAIL("dlopen %s: %s", library, dlerror());
        do_ioctl = (ioctl_fn)dlsym(handle, "ioctl");
        do_mmap = (mmap_fn)dlsym(handle, "mmap");
        if (!do_ioctl || !do_mmap) FAIL("the interposer lacks ioctl or mmap");
    }
    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) FAIL("open /dev/kvm: %s", strerror(errno));
    vm = do_ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) FAIL("KVM_CREATE_VM: %s", strerror(errno));
    code = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    spare = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED || spare == MAP_FAILED) FAIL("mmap guest memory: %s", strerror(errno));
    // 32-bit flat code at GPA 0: `1: mov %al, 0x2000; jmp 1b` — 0x2000 has no slot, so every KVM_RUN ends in an MMIO exit.
    static const uint8_t loop[] = { 0xa2, 0x00, 0x20, 0x00, 0x00, 0xeb, 0xf9 };
    memcpy(code, loop, sizeof loop);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .flags = 0, .guest_phys_addr = 0, .memory_size = 0x1000, .userspace_addr = (uintptr_t)code };
    if (do_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) FAIL("slot 0: %s", strerror(errno));
    vcpu = do_ioctl(vm, KVM_CREATE_VCPU, 0UL);
    if (vcpu < 0) FAIL("KVM_CREATE_VCPU: %s", strerror(errno));
    int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size <= 0) FAIL("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
    run_size = (size_t)size;
    run = do_mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) FAIL("mmap kvm_run: %s", strerror(errno));
    int rc = ckvm_setup_flat_protected_mode(vcpu, 0, 0);
    if (rc < 0) FAIL("vCPU setup: %s", strerror(-rc));

    // Memory-slot calls first, while the recorder has nothing queued; then the runs.
    for (int i = 0; i < memslot_ops; i++) {
        struct kvm_userspace_memory_region other = {
            .slot = 1, .flags = 0, .guest_phys_addr = 0x100000, .memory_size = (i % 2 == 0) ? 0x1000 : 0,
            .userspace_addr = (uintptr_t)spare };
        uint64_t begin = now_ns();
        int r = do_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &other);
        memslot_ns[i] = now_ns() - begin;
        if (r < 0) FAIL("slot 1 (op %d): %s", i, strerror(errno));
    }
    for (int i = 0; i < runs; i++) {
        uint64_t begin = now_ns();
        int r = do_ioctl(vcpu, KVM_RUN, 0);
        run_ns[i] = now_ns() - begin;
        if (r < 0 && errno != EINTR) FAIL("KVM_RUN: %s", strerror(errno));
        if (r == 0 && run->exit_reason != KVM_EXIT_MMIO) FAIL("exit reason %u, not MMIO", run->exit_reason);
    }
    result = 0;
out:
    if (run != MAP_FAILED) munmap(run, run_size);
    if (vcpu >= 0) close(vcpu);
    if (vm >= 0) close(vm);
    if (kvm >= 0) close(kvm);
    if (code != MAP_FAILED) munmap(code, 0x1000);
    if (spare != MAP_FAILED) munmap(spare, 0x1000);
    // The handle stays open: the interposer's state lives on in the process (its socket is never closed in a VMM).
    (void)handle;
    return result;
}
