import CKVM
import Harness
@testable import KVMBackend
import MemoryModel
import Memslots
import Scenarios
import SystemPackage
import Sync
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Whether this kernel lets us register a userfaultfd (root, or
/// `vm.unprivileged_userfaultfd = 1`), and why not.
enum Userfaultfd {
    static let refusal: String? = {
        let page = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let page, page != MAP_FAILED else { return "mmap failed" }
        defer { munmap(page, 4096) }
        let fd = ckvm_userfault_register(page, 4096)
        guard fd >= 0 else { return "userfaultfd is not allowed here (\(Errno(rawValue: -fd)))" }
        try? FileDescriptor(rawValue: fd).close()
        return nil
    }()
}

/// The seed's deadlock on a real VM: a vCPU's guest touches a page registered
/// with a userfaultfd that no one serves yet, so the vCPU sits in the kernel
/// inside `KVM_RUN` and no kick gets it out. The next inhibit cannot drain it;
/// with a deadline it gives up, names the vCPU at once and applies the
/// transaction non-atomically. On KVM the memslot update then waits in the
/// kernel (SRCU) until the vCPU leaves the fault: here a server thread answers
/// the fault after a while, standing for the handler that in QEMU's case needs
/// the lock the committer holds — which is why the diagnosis comes first.
@Suite(requiresKVM, .enabled(if: Userfaultfd.refusal == nil, Comment(rawValue: Userfaultfd.refusal ?? "")), .serialized)
struct UserfaultDrainTests {
    /// Records what the observer hears, with the time it heard it.
    final class Heard: TransactionObserver {
        /// Guarded: appended by the listener's thread, read by the test's.
        let timeouts = PlainLocked<[(sequence: UInt64, timeout: DrainTimeout, atNs: UInt64)]>([])
        func transactionCommitted(_ record: TransactionRecord) {}
        func spuriousFault(_ fault: SpuriousFault) {}
        func drainTimedOut(sequence: UInt64, _ timeout: DrainTimeout) {
            timeouts.withLock { $0.append((sequence, timeout, MonotonicClock.now())) }
        }
    }

    @Test func aVCPUBlockedOnAnUnservedUserfaultEndsInANamedDrainTimeout() throws {
        var configuration = RunConfiguration(scenario: .split, backend: .kvm, vcpus: 1, transactions: 1, seed: 1)
        configuration.drainTimeoutNs = 300_000_000
        let heard = Heard()
        let runner = try ScenarioRunner(configuration, observer: heard)
        let kvm = try #require(runner.machine.backend as? KVMBackend)
        // A page the guest reads (it stays RAM throughout), not yet touched by anyone.
        let target = try #require(runner.scenario.vcpuTargets.first { $0.addressSpace == 0 && $0.gpa < 1 << 32 })
        let page = target.gpa & ~0xfff
        let section = try #require(
            runner.machine.topology.addressSpace(id: 0)?.sections.first { $0.range.contains(page) })
        let backing = try #require(section.backing)
        let location = BackingLocation(backing: backing.backing, offset: backing.offset + (page - section.range.start))
        let host = try #require(kvm.hostAddress(location, size: 0x1000))
        let fd = ckvm_userfault_register(host, 0x1000)
        try #require(fd >= 0, "userfaultfd register: \(Errno(rawValue: -fd))")

        runner.vcpus.start()
        var faultAddress: UInt64 = 0
        let waited = ckvm_userfault_wait(fd, 10_000, &faultAddress)
        // The fault is answered (the descriptor closed) 1.5 s from now, whatever happens.
        let serveAtNs = MonotonicClock.now() + 1_500_000_000
        let server = OSThread {
            MonotonicClock.sleep(nanoseconds: serveAtNs - min(serveAtNs, MonotonicClock.now()))
            try? FileDescriptor(rawValue: fd).close()
        }
        defer {
            server.join()
            runner.vcpus.stop()
        }
        try #require(waited == 1, "the guest never touched the registered page (\(waited))")
        #expect(faultAddress & ~0xfff == UInt64(UInt(bitPattern: host)))

        // The vCPU is inside KVM_RUN, blocked on the fault; the next transaction inhibits.
        let before = runner.records.count
        try runner.step()
        let record = try #require(runner.records.dropFirst(before).first { $0.timing.inhibited })
        let timeout = try #require(record.timing.drainTimeout, "the inhibit drained: a kick got the vCPU out")
        #expect(timeout.vcpus == [0])
        #expect(record.timing.drainNs >= 300_000_000)
        #expect(record.failedOps.isEmpty, "the transaction was applied")
        // Named at once: before the fault was served, not when the apply finished.
        let said = try #require(heard.timeouts.withLock { $0.first })
        #expect(said.sequence == record.sequence && said.timeout == timeout)
        #expect(said.atNs < serveAtNs)
        let line = "drain \(record.timing.drainNs / 1_000_000) ms, apply \(record.timing.applyNs / 1_000_000) ms"
        let out = Array("uffd drain timeout: \(line)\n".utf8)
        _ = out.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
