import Synchronization
import Testing
@testable import Memslots
import Sync

/// Kicks by raising a per-vCPU flag the test threads watch.
final class FlagKicker: VCPUKicker {
    let flags: [KickFlag]
    /// Relaxed: a flag the vCPU thread polls; the blocker's own counters order
    /// what matters, the flag only says "leave now".
    final class KickFlag: Sendable { let raised = Atomic<Bool>(false) }
    init(_ count: Int) { flags = (0..<count).map { _ in KickFlag() } }
    func kick(vcpu: Int) { flags[vcpu].raised.store(true, ordering: .relaxed) }
}

@Suite struct IoctlBlockerTests {
    @Test func inhibitRefusesNewIoctlsUntilItEnds() {
        let blocker = IoctlBlocker(vcpus: 2)
        let inhibit = blocker.inhibitBegin()
        #expect(!blocker.tryBeginSteppedVCPU(0))
        blocker.inhibitEnd(inhibit)
        #expect(blocker.tryBeginSteppedVCPU(0))
        // While vCPU 0 is inside, a nested entry still succeeds (lock-count semantics).
        #expect(blocker.tryBeginSteppedVCPU(0))
        blocker.endSteppedVCPU(0)
        blocker.endSteppedVCPU(0)
        #expect(blocker.inFlight.vcpus == [0, 0])
    }

    @Test func inhibitorWaitsForTheIoctlInFlightAndKicksOnlyBusyVCPUs() {
        let blocker = IoctlBlocker(vcpus: 3)
        let kicker = FlagKicker(3)
        blocker.setKicker(kicker)
        // Released by the vCPU thread after each step, acquired by the test's
        // thread, so each read sees the step done.
        let inside = Atomic<Bool>(false)
        let left = Atomic<Bool>(false)
        // vCPU 1 sits in "KVM_RUN" until kicked.
        let thread = OSThread {
            blocker.beginVCPU(1)
            inside.store(true, ordering: .releasing)
            while !kicker.flags[1].raised.load(ordering: .relaxed) { MonotonicClock.sleep(nanoseconds: 100_000) }
            left.store(true, ordering: .releasing)
            blocker.endVCPU(1)
        }
        while !inside.load(ordering: .acquiring) { MonotonicClock.sleep(nanoseconds: 100_000) }
        let inhibit = blocker.inhibitBegin()
        // inhibitBegin returned only after the vCPU left its ioctl.
        let leftBeforeInhibitReturned = left.load(ordering: .acquiring)
        #expect(leftBeforeInhibitReturned)
        #expect(inhibit.vcpusKicked == 1)
        let idleKicked = kicker.flags[0].raised.load(ordering: .relaxed) || kicker.flags[2].raised.load(ordering: .relaxed)
        #expect(!idleKicked)
        blocker.inhibitEnd(inhibit)
        thread.join()
    }

    @Test func topologyLockHolderBypassesTheCounters() {
        let lock = TopologyLock()
        let blocker = IoctlBlocker(vcpus: 1, topologyLock: lock)
        lock.withLock {
            blocker.beginVM()
            #expect(blocker.inFlight.vm == 0)
            blocker.endVM()
        }
        blocker.beginVM()
        #expect(blocker.inFlight.vm == 1)
        blocker.endVM()
        #expect(blocker.inFlight.vm == 0)
    }

    /// 4 vCPU threads and a VM-ioctl thread hammer the blocker while 2 inhibitors
    /// take turns, for a few seconds: nothing deadlocks (every thread finishes),
    /// no ioctl is ever in flight inside an inhibit, and the counts balance.
    @Test(arguments: WaitStrategy.allCases)
    func stressFourVCPUsTwoInhibitors(strategy: WaitStrategy) {
        let vcpuCount = 4
        let blocker = IoctlBlocker(vcpus: vcpuCount, strategy: strategy)
        let kicker = FlagKicker(vcpuCount)
        blocker.setKicker(kicker)
        // `stop` and the counters are relaxed: polled, and summed after the join.
        // `insideInhibit` is released by the inhibitor after its inhibitBegin and
        // before its inhibitEnd, and acquired by the vCPU threads inside an ioctl:
        // a 1 seen there is an ioctl admitted during an inhibit.
        let stop = Atomic<Bool>(false)
        let insideInhibit = Atomic<Int>(0)
        let violations = Atomic<Int>(0)
        let entries = Atomic<Int>(0)
        let inhibits = Atomic<Int>(0)

        var threads: [OSThread] = []
        for vcpu in 0..<vcpuCount {
            threads.append(OSThread {
                while !stop.load(ordering: .relaxed) {
                    kicker.flags[vcpu].raised.store(false, ordering: .relaxed)
                    blocker.beginVCPU(vcpu)
                    if insideInhibit.load(ordering: .acquiring) != 0 { violations.add(1, ordering: .relaxed) }
                    entries.add(1, ordering: .relaxed)
                    for _ in 0..<50 where !kicker.flags[vcpu].raised.load(ordering: .relaxed) {}
                    blocker.endVCPU(vcpu)
                }
            })
        }
        threads.append(OSThread {
            while !stop.load(ordering: .relaxed) {
                blocker.withVMIoctl {
                    if insideInhibit.load(ordering: .acquiring) != 0 { violations.add(1, ordering: .relaxed) }
                }
            }
        })
        for _ in 0..<2 {
            threads.append(OSThread {
                while !stop.load(ordering: .relaxed) {
                    let inhibit = blocker.inhibitBegin()
                    insideInhibit.store(1, ordering: .releasing)
                    if blocker.inFlight.vcpus.contains(where: { $0 != 0 }) || blocker.inFlight.vm != 0 {
                        violations.add(1, ordering: .relaxed)
                    }
                    MonotonicClock.sleep(nanoseconds: 50_000)
                    insideInhibit.store(0, ordering: .releasing)
                    blocker.inhibitEnd(inhibit)
                    inhibits.add(1, ordering: .relaxed)
                }
            })
        }
        MonotonicClock.sleep(nanoseconds: 2_000_000_000)
        stop.store(true, ordering: .relaxed)
        for thread in threads { thread.join() }

        #expect(violations.load(ordering: .relaxed) == 0)
        #expect(blocker.inFlight.vcpus == Array(repeating: 0, count: vcpuCount))
        #expect(blocker.inFlight.vm == 0)
        #expect(inhibits.load(ordering: .relaxed) > 10)
        #expect(entries.load(ordering: .relaxed) > 100)
    }
}
