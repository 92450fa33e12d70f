#define _GNU_SOURCE
#include "inhibit_baseline.h"
#include "ckvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
    CODE_SLOT = 0, RAM_SLOT = 1, MAX_VCPUS = 8, KICK_SIGNAL = SIGUSR2,
};
static const uint64_t CODE_BASE = 0xFF000000u, CODE_SIZE = 0x10000;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static long futex(int *word, int op, int value) { return syscall(SYS_futex, word, op, value, NULL, NULL, 0); }

// Shared between the inhibitor and the vCPU threads. Every access is a
// sequentially consistent atomic: the protocol is Dekker's — a vCPU publishes
// in_run[i] = 1 and then reads `inhibited`; the inhibitor publishes inhibited = 1
// and then reads in_run[i] — so at least one of them sees the other's store, and
// no vCPU enters KVM_RUN unkicked while an inhibit is in progress.
struct baseline {
    int vm, vcpus;
    int fds[MAX_VCPUS];
    struct kvm_run *runs[MAX_VCPUS];
    size_t run_size;
    pthread_t threads[MAX_VCPUS];
    int in_run[MAX_VCPUS];
    // Futex words: `inhibited` parks vCPUs while 1; `running` counts vCPUs inside
    // KVM_RUN (or about to be), and the inhibitor waits on it reaching 0.
    int inhibited, running, stop;
    int failed;
    char error[160];
};

static void *vcpu_main(void *arg) {
    struct baseline *b = ((void **)arg)[0];
    int i = (int)(intptr_t)((void **)arg)[1];
    ckvm_set_thread_run(b->runs[i]);
    ckvm_unblock_signal(KICK_SIGNAL);
    while (!__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST)) {
        // Cleared before announcing ourselves: a kick after this point ends the run.
        ckvm_run_set_immediate_exit(b->runs[i], 0);
        __atomic_store_n(&b->in_run[i], 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&b->running, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&b->inhibited, __ATOMIC_SEQ_CST)) {
            // Back out and park until released.
            __atomic_store_n(&b->in_run[i], 0, __ATOMIC_SEQ_CST);
            if (__atomic_sub_fetch(&b->running, 1, __ATOMIC_SEQ_CST) == 0) futex(&b->running, FUTEX_WAKE_PRIVATE, 1);
            while (__atomic_load_n(&b->inhibited, __ATOMIC_SEQ_CST)) futex(&b->inhibited, FUTEX_WAIT_PRIVATE, 1);
            continue;
        }
        int rc = ckvm_run(b->fds[i]);
        __atomic_store_n(&b->in_run[i], 0, __ATOMIC_SEQ_CST);
        if (__atomic_sub_fetch(&b->running, 1, __ATOMIC_SEQ_CST) == 0) futex(&b->running, FUTEX_WAKE_PRIVATE, 1);
        if (rc == -EINTR) continue;
        uint32_t reason = rc < 0 ? 0 : ckvm_run_exit_reason(b->runs[i]);
        if (rc < 0 || (reason != KVM_EXIT_MMIO && reason != KVM_EXIT_INTR)) {
            if (!__atomic_exchange_n(&b->failed, 1, __ATOMIC_SEQ_CST)) {
                snprintf(b->error, sizeof b->error, "vCPU %d: KVM_RUN %s (exit reason %u)", i,
                         rc < 0 ? strerror(-rc) : "returned", reason);
            }
            __atomic_store_n(&b->stop, 1, __ATOMIC_SEQ_CST);
        }
    }
    return NULL;
}

int inhibit_baseline_run(const uint8_t *code, size_t code_len, uint64_t block_stride, const uint32_t *targets,
                         int target_count, uint64_t ram_size, int vcpus, int transactions, uint64_t interval_ns,
                         uint64_t *drain_ns, uint64_t *inhibit_ns, char *error, size_t error_len) {
    struct baseline *b = calloc(1, sizeof *b);
    if (!b) return -ENOMEM;
    int rc = 0, kvm = -1, started = 0;
    uint8_t *codemem = MAP_FAILED, *ram = MAP_FAILED;
    void *args[MAX_VCPUS][2];
#define FAIL(code, ...) do { rc = (code); snprintf(error, error_len, __VA_ARGS__); goto out; } while (0)
    if (vcpus < 1 || vcpus > MAX_VCPUS || code_len > 0x1000 || target_count < 1
        || (uint64_t)target_count > (block_stride - 8) / 8 || ram_size == 0 || ram_size % 0x1000 != 0)
        FAIL(-EINVAL, "bad arguments");
    for (int j = 0; j < target_count; j++) {
        if ((uint64_t)targets[j] + 4 > ram_size) FAIL(-EINVAL, "target 0x%x outside the RAM slot", targets[j]);
    }
    b->vm = -1;
    kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) FAIL(-errno, "/dev/kvm: %s", strerror(errno));
    if ((b->vm = ckvm_create_vm(kvm)) < 0) FAIL(b->vm, "KVM_CREATE_VM: %s", strerror(-b->vm));
    int size = ckvm_get_vcpu_mmap_size(kvm);
    if (size < 0) FAIL(size, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(-size));
    b->run_size = (size_t)size;

    codemem = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (codemem == MAP_FAILED || ram == MAP_FAILED) FAIL(-ENOMEM, "mmap failed");
    memcpy(codemem, code, code_len);
    for (int i = 0; i < vcpus; i++) {
        // Every target, writable, in the RAM slot the transactions replace; each
        // vCPU starts at a different one, as memjournal's vCPUs do (KVMVCPUs).
        uint32_t *block = (uint32_t *)(codemem + block_stride * (uint64_t)(i + 1));
        block[0] = 0;
        block[1] = (uint32_t)target_count;
        for (int j = 0; j < target_count; j++) {
            block[2 + 2 * j] = targets[(i + j) % target_count];
            block[3 + 2 * j] = 1;
        }
    }
    int r = ckvm_set_user_memory_region(b->vm, CODE_SLOT, 0, CODE_BASE, CODE_SIZE, (uint64_t)(uintptr_t)codemem);
    if (r < 0) FAIL(r, "code slot: %s", strerror(-r));
    r = ckvm_set_user_memory_region(b->vm, RAM_SLOT, 0, 0, ram_size, (uint64_t)(uintptr_t)ram);
    if (r < 0) FAIL(r, "RAM slot: %s", strerror(-r));
    if ((r = ckvm_install_kick_handler(KICK_SIGNAL)) < 0) FAIL(r, "sigaction: %s", strerror(-r));

    b->vcpus = vcpus;
    for (int i = 0; i < vcpus; i++) {
        if ((b->fds[i] = ckvm_create_vcpu(b->vm, (unsigned long)i)) < 0) FAIL(b->fds[i], "KVM_CREATE_VCPU: %s", strerror(-b->fds[i]));
        if (!(b->runs[i] = ckvm_map_run(b->fds[i], b->run_size))) FAIL(-errno, "mmap kvm_run: %s", strerror(errno));
        r = ckvm_setup_flat_protected_mode(b->fds[i], (uint32_t)CODE_BASE, (uint32_t)(CODE_BASE + block_stride * (uint64_t)(i + 1)));
        if (r < 0) FAIL(r, "registers: %s", strerror(-r));
    }
    for (int i = 0; i < vcpus; i++) {
        args[i][0] = b;
        args[i][1] = (void *)(intptr_t)i;
        if ((r = pthread_create(&b->threads[i], NULL, vcpu_main, args[i])) != 0) FAIL(-r, "pthread_create: %s", strerror(r));
        started++;
    }

    for (int t = 0; t < transactions && !__atomic_load_n(&b->failed, __ATOMIC_SEQ_CST); t++) {
        struct timespec pause = { .tv_sec = 0, .tv_nsec = (long)interval_ns };
        nanosleep(&pause, NULL);
        uint64_t begin = now_ns();
        __atomic_store_n(&b->inhibited, 1, __ATOMIC_SEQ_CST);
        for (int i = 0; i < vcpus; i++) {
            if (__atomic_load_n(&b->in_run[i], __ATOMIC_SEQ_CST)) {
                ckvm_run_set_immediate_exit(b->runs[i], 1);
                pthread_kill(b->threads[i], KICK_SIGNAL);
            }
        }
        // Wait (on the futex, never spinning) until no vCPU is inside.
        for (int n; (n = __atomic_load_n(&b->running, __ATOMIC_SEQ_CST)) != 0;) futex(&b->running, FUTEX_WAIT_PRIVATE, n);
        uint64_t drained = now_ns();
        r = ckvm_set_user_memory_region(b->vm, RAM_SLOT, 0, 0, 0, (uint64_t)(uintptr_t)ram);
        if (r == 0) r = ckvm_set_user_memory_region(b->vm, RAM_SLOT, 0, 0, ram_size, (uint64_t)(uintptr_t)ram);
        __atomic_store_n(&b->inhibited, 0, __ATOMIC_SEQ_CST);
        futex(&b->inhibited, FUTEX_WAKE_PRIVATE, MAX_VCPUS);
        uint64_t end = now_ns();
        if (r < 0) FAIL(r, "delete + add of the RAM slot: %s", strerror(-r));
        drain_ns[t] = drained - begin;
        inhibit_ns[t] = end - begin;
    }
    if (__atomic_load_n(&b->failed, __ATOMIC_SEQ_CST)) FAIL(-EIO, "%s", b->error);

out:
    __atomic_store_n(&b->stop, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&b->inhibited, 0, __ATOMIC_SEQ_CST);
    futex(&b->inhibited, FUTEX_WAKE_PRIVATE, MAX_VCPUS);
    for (int i = 0; i < started; i++) {
        // Kick until it leaves KVM_RUN and sees `stop`.
        struct timespec tick = { .tv_sec = 0, .tv_nsec = 200000 };
        while (pthread_tryjoin_np(b->threads[i], NULL) == EBUSY) {
            ckvm_run_set_immediate_exit(b->runs[i], 1);
            pthread_kill(b->threads[i], KICK_SIGNAL);
            nanosleep(&tick, NULL);
        }
    }
    for (int i = 0; i < b->vcpus; i++) {
        if (b->runs[i]) ckvm_unmap_run(b->runs[i], b->run_size);
        if (b->fds[i] > 0) close(b->fds[i]);
    }
    if (b->vm >= 0) close(b->vm);
    if (kvm >= 0) close(kvm);
    if (codemem != MAP_FAILED) munmap(codemem, CODE_SIZE);
    if (ram != MAP_FAILED) munmap(ram, ram_size);
    free(b);
    return rc;
#undef FAIL
}
