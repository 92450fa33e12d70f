import MemoryModel
import Synchronization
import Sync
import Testing
@testable import Memslots

/// The drain deadline: an inhibitor facing a vCPU that never leaves its ioctl
/// (the userfault case) stops waiting, names it and keeps everything else out.
@Suite struct DrainTimeoutTests {
    /// A vCPU thread that enters `KVM_RUN` and stays until `release` — kicks or not.
    final class StuckVCPU {
        final class Signals: Sendable {
            /// Each is stored releasing by the thread that takes the step and loaded
            /// acquiring by the one waiting for it, so the waiter sees the step done.
            let inside = Atomic<Bool>(false)
            let release = Atomic<Bool>(false)
        }
        let signals = Signals()
        let thread: OSThread

        init(_ blocker: IoctlBlocker, index: Int) {
            let signals = signals
            thread = OSThread {
                blocker.beginVCPU(index)
                signals.inside.store(true, ordering: .releasing)
                while !signals.release.load(ordering: .acquiring) { MonotonicClock.sleep(nanoseconds: 200_000) }
                blocker.endVCPU(index)
            }
            while !signals.inside.load(ordering: .acquiring) { MonotonicClock.sleep(nanoseconds: 100_000) }
        }

        func finish() {
            signals.release.store(true, ordering: .releasing)
            thread.join()
        }
    }

    @Test(arguments: [WaitStrategy.event, .spin])
    func theDeadlineEndsTheWaitNamesTheVCPUAndKeepsOthersOut(_ strategy: WaitStrategy) {
        let blocker = IoctlBlocker(vcpus: 3, strategy: strategy)
        let kicker = FlagKicker(3)
        blocker.setKicker(kicker)
        let stuck = StuckVCPU(blocker, index: 1)
        let inhibit = blocker.inhibitBegin(drainDeadlineNs: 60_000_000)
        #expect(inhibit.drainTimeout == DrainTimeout(vcpus: [1], vmIoctls: 0))
        #expect(inhibit.drainNs >= 60_000_000)
        let kickedStuck = kicker.flags[1].raised.load(ordering: .relaxed)
        #expect(kickedStuck, "the stuck vCPU was kicked before giving up")
        // Nothing new gets in while the non-atomic apply runs.
        #expect(!blocker.tryBeginSteppedVCPU(0))
        #expect(blocker.inFlight.vcpus == [0, 1, 0])
        stuck.finish()
        blocker.inhibitEnd(inhibit)
        #expect(blocker.inFlight.vcpus == [0, 0, 0])
        #expect(blocker.tryBeginSteppedVCPU(0))
        blocker.endSteppedVCPU(0)
    }

    @Test func aVMIoctlStillInFlightIsNamedToo() {
        let blocker = IoctlBlocker(vcpus: 1)
        let signals = StuckVCPU.Signals()
        let thread = OSThread {
            blocker.withVMIoctl {
                signals.inside.store(true, ordering: .releasing)
                while !signals.release.load(ordering: .acquiring) { MonotonicClock.sleep(nanoseconds: 200_000) }
            }
        }
        while !signals.inside.load(ordering: .acquiring) { MonotonicClock.sleep(nanoseconds: 100_000) }
        let inhibit = blocker.inhibitBegin(drainDeadlineNs: 30_000_000)
        #expect(inhibit.drainTimeout == DrainTimeout(vcpus: [], vmIoctls: 1))
        signals.release.store(true, ordering: .releasing)
        thread.join()
        blocker.inhibitEnd(inhibit)
    }

    /// Control: the same deadline with a vCPU that leaves when kicked is no timeout.
    @Test func aVCPUThatLeavesWhenKickedIsNoTimeout() {
        let blocker = IoctlBlocker(vcpus: 2)
        let kicker = FlagKicker(2)
        blocker.setKicker(kicker)
        let signals = StuckVCPU.Signals()
        let thread = OSThread {
            blocker.beginVCPU(0)
            signals.inside.store(true, ordering: .releasing)
            while !kicker.flags[0].raised.load(ordering: .relaxed) { MonotonicClock.sleep(nanoseconds: 100_000) }
            blocker.endVCPU(0)
        }
        while !signals.inside.load(ordering: .acquiring) { MonotonicClock.sleep(nanoseconds: 100_000) }
        let inhibit = blocker.inhibitBegin(drainDeadlineNs: 5_000_000_000)
        #expect(inhibit.drainTimeout == nil)
        #expect(inhibit.vcpusKicked == 1)
        blocker.inhibitEnd(inhibit)
        thread.join()
    }
}
