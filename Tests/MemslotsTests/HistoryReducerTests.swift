import MemoryModel
import Testing
@testable import Memslots

/// The reducer's "before, during, after" answers on hand-built transactions.
@Suite struct HistoryReducerTests {
    let host = BackingLocation(backing: 1, offset: 0)

    func section(_ start: UInt64, _ size: UInt64, dirty: Bool = false) throws -> MemorySection {
        MemorySection(range: try GuestRange(start: start, size: size), regionName: "ram", kind: .ram, backing: host,
                      readOnly: false, romd: false, dirtyLog: dirty)
    }

    func op(_ kind: SlotOperation.Kind, _ index: UInt16, _ start: UInt64, _ size: UInt64, errno: Int32 = 0) throws
        -> SlotOperation
    {
        SlotOperation(kind: kind, slot: SlotID(index: index, addressSpace: 0), range: try GuestRange(start: start, size: size),
                      host: host, flags: [], errno: errno)
    }

    func record(_ sequence: UInt64, _ sections: [SectionChange], _ ops: [SlotOperation]) -> TransactionRecord {
        TransactionRecord(sequence: sequence, addressSpace: 0, beginNs: 0, commitNs: 0, sections: sections,
                          decision: OverlapDecision(pair: nil), slotOps: ops, timing: .notInhibited(applyNs: 0),
                          digest: SlotTableDigest())
    }

    @Test func deleteThenAddOfTheSameRangeIsAWindowBetweenTheTwoOperations() throws {
        var history = HistoryReducer()
        history.apply(record(1, [SectionChange(.add, try section(0, 0x10000))], [try op(.create, 0, 0, 0x10000)]))
        let before = history.slots.slot(containing: 0x8000, addressSpace: 0)
        #expect(before != nil)
        let split = record(2, [
            SectionChange(.delete, try section(0, 0x10000)),
            SectionChange(.add, try section(0, 0x8000)),
            SectionChange(.add, try section(0x9000, 0x7000)),
        ], [try op(.delete, 0, 0, 0x10000), try op(.create, 0, 0, 0x8000), try op(.create, 1, 0x9000, 0x7000)])
        let effect = history.apply(split)
        #expect(effect.windows.map(\.range) == [try GuestRange(start: 0, size: 0x8000), try GuestRange(start: 0x9000, size: 0x7000)])
        #expect(effect.windows.map(\.unmappedAfter) == [0, 0])
        #expect(effect.windows.map(\.remappedBy) == [1, 2])

        let stays = effect.mapping(at: 0x100, before: before)
        #expect(stays.hasWindow)
        #expect(stays.changes.map(\.operation) == [0, 1])
        let hole = effect.mapping(at: 0x8800, before: before)
        #expect(!hole.hasWindow)
        #expect(hole.after == nil)
        #expect(history.section(containing: 0x8800, addressSpace: 0) == nil)
        #expect(history.view(0).map(\.range.start) == [0, 0x9000])
    }

    @Test func failedOperationsAndDirtyLogFetchesLeaveTheSlotsAlone() throws {
        var history = HistoryReducer()
        history.apply(record(1, [SectionChange(.add, try section(0, 0x1000))], [try op(.create, 0, 0, 0x1000)]))
        let effect = history.apply(record(2, [], [
            try op(.dirtyLog, 0, 0, 0x1000), try op(.delete, 0, 0, 0x1000, errno: 22), try op(.create, 1, 0, 0x1000, errno: 17),
        ]))
        #expect(effect.steps.isEmpty)
        #expect(history.slots.slots(addressSpace: 0).map(\.id.index) == [0])
    }

    @Test func logStopClearsTheViewsDirtyLogEvenThoughItCarriesTheOldSection() throws {
        var history = HistoryReducer()
        history.apply(record(1, [SectionChange(.add, try section(0, 0x1000))], []))
        history.apply(record(2, [SectionChange(.nop, try section(0, 0x1000, dirty: true)),
                                 SectionChange(.logStart, try section(0, 0x1000, dirty: true))], []))
        #expect(history.view(0).first?.dirtyLog == true)
        // QEMU's order: the nop carries the new section, log_stop the old one.
        history.apply(record(3, [SectionChange(.nop, try section(0, 0x1000)),
                                 SectionChange(.logStop, try section(0, 0x1000, dirty: true))], []))
        #expect(history.view(0).first?.dirtyLog == false)
    }
}

extension HistoryReducerTests {
    @Test func anAddInsideASectionKeepsTheViewSortedAndFindable() throws {
        var history = HistoryReducer()
        history.apply(record(1, [SectionChange(.add, try section(0, 0x10000)), SectionChange(.add, try section(0x20000, 0x1000))], []))
        // No delete first, as an imported move or an edited file may say.
        history.apply(record(2, [SectionChange(.add, try section(0x8000, 0x10000))], []))
        let starts = history.view(0).map(\.range.start)
        #expect(starts == starts.sorted())
        #expect(history.section(containing: 0x9000, addressSpace: 0)?.range.start == 0x8000)
        #expect(history.section(containing: 0x20000, addressSpace: 0)?.range.start == 0x20000)
    }
}
