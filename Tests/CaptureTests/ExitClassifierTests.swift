import MemoryModel
import Memslots
import Testing
@testable import Capture

/// Spurious versus device exits, and when an exit can be judged.
struct ExitClassifierTests {
    /// Slots before and after a transaction that deletes and re-adds [1 MiB, 4 MiB).
    static func ram() -> MemslotMap {
        var map = MemslotMap()
        map.insert(Memslot(id: SlotID(rawValue: 5), range: try! GuestRange(start: 0x100000, size: 0x300000),
                           host: BackingLocation(backing: 1, offset: 0), flags: []))
        return map
    }

    static func exit(_ gpa: UInt64, _ begin: UInt64, _ end: UInt64) -> ExitClassifier.Exit {
        .init(vcpu: 1, gpa: gpa, isWrite: false, beginNs: begin, endNs: end, internalError: false)
    }

    @Test func anExitOnRAMThatWasThereBeforeAndAfterIsSpuriousAndADeviceExitIsNot() {
        var classifier = ExitClassifier()
        classifier.closed(.init(sequence: 1, beginNs: 1000, endNs: 2000, before: Self.ram(), after: Self.ram()))
        classifier.exit(Self.exit(0x200000, 1500, 1600))      // RAM, during transaction 1
        classifier.exit(Self.exit(0xfee00000, 1500, 1600))    // no slot before or after: a device
        classifier.exit(Self.exit(0x200000, 2500, 2600))      // RAM, but no transaction in flight
        let verdicts = classifier.settle(openBeginNs: nil, seenNs: 10_000, nowNs: 10_000)
        #expect(verdicts.count == 3)
        guard case .spurious(let fault) = verdicts[0] else { Issue.record("\(verdicts[0])"); return }
        #expect(fault.transactionInFlight == 1 && fault.gpa == 0x200000 && fault.vcpu == 1)
        guard case .device(let first) = verdicts[1], case .device(let second) = verdicts[2] else {
            Issue.record("\(verdicts)"); return
        }
        #expect(first == 1 && second == 1)
    }

    @Test func anExitWaitsForTheTransactionInFlightToClose() {
        var classifier = ExitClassifier()
        classifier.exit(Self.exit(0x200000, 1500, 1600))
        // The transaction that began at 1000 is still open: no verdict yet.
        #expect(classifier.settle(openBeginNs: 1000, seenNs: 1200, nowNs: 1600).isEmpty)
        // Nothing open, but no memory-slot call seen after the exit yet: still none.
        #expect(classifier.settle(openBeginNs: nil, seenNs: 1200, nowNs: 1600).isEmpty)
        classifier.closed(.init(sequence: 7, beginNs: 1000, endNs: 2000, before: Self.ram(), after: Self.ram()))
        let verdicts = classifier.settle(openBeginNs: 3000, seenNs: 3000, nowNs: 3000)
        guard verdicts.count == 1, case .spurious(let fault) = verdicts[0] else { Issue.record("\(verdicts)"); return }
        #expect(fault.transactionInFlight == 7)
    }

    @Test func aStreamThatMovesOnPastThePatienceJudgesWhatItHolds() {
        var classifier = ExitClassifier()
        classifier.exit(Self.exit(0x200000, 100, 200))
        #expect(classifier.settle(openBeginNs: nil, seenNs: 0, nowNs: 200 + ExitClassifier.patienceNs - 1).isEmpty)
        let verdicts = classifier.settle(openBeginNs: nil, seenNs: 0, nowNs: 200 + ExitClassifier.patienceNs)
        guard verdicts.count == 1, case .device(nil) = verdicts[0] else { Issue.record("\(verdicts)"); return }
        classifier.exit(Self.exit(0x200000, 300, 400))
        #expect(classifier.settleAll().count == 1)
    }

    /// Among thousands of windows kept, an exit is judged against the ones its
    /// run overlapped, the one nearest the exit first; windows after it do not count.
    @Test func anExitIsJudgedAgainstTheWindowsItsRunOverlappedAmongThousands() {
        var classifier = ExitClassifier()
        let empty = MemslotMap()
        for sequence in UInt64(1)...6000 {
            // Every 1000th transaction removes and restores the RAM; the others leave it out.
            let ram = sequence % 1000 == 0 ? Self.ram() : empty
            classifier.closed(.init(sequence: sequence, beginNs: sequence * 100, endNs: sequence * 100 + 50,
                                    before: ram, after: ram))
        }
        classifier.exit(Self.exit(0x200000, 3000 * 100 - 500, 3000 * 100 + 10))  // overlaps 2995…3000: 3000 has RAM
        classifier.exit(Self.exit(0x200000, 2999 * 100 + 60, 3000 * 100 - 1))     // between 2999 and 3000: none in flight
        classifier.exit(Self.exit(0x200000, 1000 * 100 - 20, 1002 * 100 + 10))    // overlaps 1000, 1001, 1002
        let verdicts = classifier.settle(openBeginNs: nil, seenNs: 1_000_000, nowNs: 1_000_000)
        #expect(verdicts.count == 3)
        guard case .spurious(let first) = verdicts[0], case .device(let second) = verdicts[1],
              case .spurious(let third) = verdicts[2] else { Issue.record("\(verdicts)"); return }
        #expect(first.transactionInFlight == 3000 && second == 2999 && third.transactionInFlight == 1000)
    }
}
