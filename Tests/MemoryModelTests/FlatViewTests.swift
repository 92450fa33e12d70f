import Testing
@testable import MemoryModel

/// Records listener callbacks as strings, in order.
final class EventLog: MemoryListener {
    var events: [String] = []
    func begin() { events.append("begin") }
    func regionDel(_ s: MemorySection) { events.append("del \(s.range) \(s.regionName)") }
    func regionAdd(_ s: MemorySection) { events.append("add \(s.range) \(s.regionName)") }
    func regionNop(_ s: MemorySection) { events.append("nop \(s.range) \(s.regionName)") }
    func logStart(_ s: MemorySection) { events.append("log_start \(s.range)") }
    func logStop(_ s: MemorySection) { events.append("log_stop \(s.range)") }
    func commit() { events.append("commit") }
}

func r(_ start: UInt64, _ size: UInt64) -> GuestRange { try! GuestRange(start: start, size: size) }
let b1 = BackingLocation(backing: 1, offset: 0)
let b2 = BackingLocation(backing: 2, offset: 0)

@Suite struct FlatViewTests {
    @Test func higherPriorityWinsAndLowerFillsGaps() throws {
        let root = MemoryRegion.container("root", size: .max)
        let ram = MemoryRegion.ram("ram", size: 0x10000, at: b1)
        let io = MemoryRegion.mmio("io", size: 0x1000)
        try root.addSubregion(ram, at: 0)
        try root.addSubregion(io, at: 0x4000, priority: 1)
        let view = FlatView(root: root)
        #expect(view.ranges.map(\.range) == [r(0, 0x4000), r(0x4000, 0x1000), r(0x5000, 0xB000)])
        #expect(view.ranges.map { $0.region.name } == ["ram", "io", "ram"])
        // The RAM piece after the hole keeps its offset into the backing.
        #expect(view.ranges[2].section.backing == BackingLocation(backing: 1, offset: 0x5000))

        // Same priority: the most recently added subregion wins.
        let late = MemoryRegion.mmio("late", size: 0x1000)
        try root.addSubregion(late, at: 0x8000, priority: 0)
        #expect(FlatView(root: root).ranges.contains { $0.region.name == "late" && $0.range == r(0x8000, 0x1000) })

        // Lower priority than RAM: hidden.
        let hidden = MemoryRegion.mmio("hidden", size: 0x1000)
        try root.addSubregion(hidden, at: 0x9000, priority: -1)
        #expect(!FlatView(root: root).ranges.contains { $0.region.name == "hidden" })
    }

    @Test func aliasesMapAtAnOffsetAndInheritReadOnly() throws {
        let root = MemoryRegion.container("root", size: .max)
        let ram = MemoryRegion.ram("ram", size: 0x100000, at: b1)
        let window = MemoryRegion.alias("window", of: ram, offset: 0x20000, size: 0x2000)
        window.setReadOnly(true)
        try root.addSubregion(window, at: 0x900000)
        let view = FlatView(root: root)
        #expect(view.ranges.count == 1)
        let section = view.ranges[0].section
        #expect(section.range == r(0x900000, 0x2000))
        #expect(section.regionName == "ram")
        #expect(section.backing == BackingLocation(backing: 1, offset: 0x20000))
        #expect(section.readOnly)
        // An alias whose offset exceeds its address (negative base) still renders.
        let low = MemoryRegion.alias("low", of: ram, offset: 0x80000, size: 0x1000)
        try root.addSubregion(low, at: 0x1000)
        #expect(FlatView(root: root).ranges.first?.section.backing == BackingLocation(backing: 1, offset: 0x80000))
    }

    @Test func adjacentCompatibleRangesMergeOthersDoNot() throws {
        let root = MemoryRegion.container("root", size: .max)
        let ram = MemoryRegion.ram("ram", size: 0x10000, at: b1)
        // Two aliases that continue each other over the same RAM: one range.
        try root.addSubregion(.alias("a", of: ram, offset: 0, size: 0x4000), at: 0)
        try root.addSubregion(.alias("b", of: ram, offset: 0x4000, size: 0x4000), at: 0x4000)
        // Adjacent but a different region: stays separate.
        try root.addSubregion(.ram("other", size: 0x4000, at: b2), at: 0x8000)
        // Same region but not continuing the offset: stays separate.
        try root.addSubregion(.alias("c", of: ram, offset: 0x0, size: 0x1000), at: 0xC000)
        let ranges = FlatView(root: root).ranges
        #expect(ranges.map(\.range) == [r(0, 0x8000), r(0x8000, 0x4000), r(0xC000, 0x1000)])
    }

    @Test func romDeviceOutOfROMDModeIsMMIO() throws {
        let root = MemoryRegion.container("root", size: .max)
        let flash = MemoryRegion.romDevice("flash", size: 0x20000, at: b1)
        try root.addSubregion(flash, at: 0xFFFE0000)
        #expect(FlatView(root: root).ranges[0].section.isSlotEligible)
        try flash.setROMD(false)
        let section = FlatView(root: root).ranges[0].section
        #expect(!section.isSlotEligible)
        #expect(section.kind == .romDevice && !section.romd)
        #expect(throws: MemoryRegion.Failure.notROMDevice("ram")) {
            try MemoryRegion.ram("ram", size: 0x1000, at: b1).setROMD(false)
        }
    }
}

@Suite struct TopologyTests {
    /// A machine with RAM at 0 and an address space 0 with a logging listener.
    func machine() throws -> (MemoryTopology, MemoryRegion, MemoryRegion, EventLog) {
        let topology = MemoryTopology()
        let root = MemoryRegion.container("root", size: .max)
        let ram = MemoryRegion.ram("ram", size: 0x100000, at: b1)
        try root.addSubregion(ram, at: 0)
        let space = try topology.addAddressSpace(id: 0, name: "memory", root: root)
        let log = EventLog()
        space.register(log)
        return (topology, root, ram, log)
    }

    @Test func registrationReplaysTheCurrentView() throws {
        let (_, _, _, log) = try machine()
        #expect(log.events == ["begin", "add [0x0, 0xfffff] ram", "commit"])
    }

    @Test func callbacksFollowQEMUOrder() throws {
        let (topology, root, _, log) = try machine()
        log.events.removeAll()
        let io = MemoryRegion.mmio("io", size: 0x1000)
        let rom = MemoryRegion.rom("rom", size: 0x1000, at: b2)
        try topology.transaction {
            try root.addSubregion(io, at: 0x4000, priority: 1)
            try root.addSubregion(rom, at: 0x200000)
        }
        #expect(log.events == [
            "begin",
            "del [0x0, 0xfffff] ram",
            "add [0x0, 0x3fff] ram", "add [0x4000, 0x4fff] io", "add [0x5000, 0xfffff] ram",
            "add [0x200000, 0x200fff] rom",
            "commit",
        ])
    }

    @Test func nestedTransactionsCommitOnceAtDepthZero() throws {
        let (topology, root, _, log) = try machine()
        log.events.removeAll()
        let io = MemoryRegion.mmio("io", size: 0x1000)
        topology.begin()
        topology.begin()
        try root.addSubregion(io, at: 0x4000, priority: 1)
        try topology.commit()
        #expect(log.events.isEmpty)
        #expect(topology.depth == 1)
        try topology.commit()
        #expect(log.events.first == "begin" && log.events.last == "commit")
        #expect(log.events.filter { $0.hasPrefix("add") }.count == 3)
        #expect(throws: MemoryTopology.Failure.commitWithoutBegin) { try topology.commit() }
    }

    @Test func dirtyLogChangeIsNopPlusLogStartAndStop() throws {
        let (topology, _, ram, log) = try machine()
        log.events.removeAll()
        topology.transaction { ram.setDirtyLog(true) }
        #expect(log.events == ["begin", "nop [0x0, 0xfffff] ram", "log_start [0x0, 0xfffff]", "commit"])
        log.events.removeAll()
        topology.transaction { ram.setDirtyLog(false) }
        #expect(log.events == ["begin", "nop [0x0, 0xfffff] ram", "log_stop [0x0, 0xfffff]", "commit"])
    }

    @Test func attributeChangeIsDeletePlusAddOfTheSameRange() throws {
        let (topology, _, ram, log) = try machine()
        log.events.removeAll()
        topology.transaction { ram.setReadOnly(true) }
        #expect(log.events == ["begin", "del [0x0, 0xfffff] ram", "add [0x0, 0xfffff] ram", "commit"])
    }

    @Test func unchangedViewCallsNoListener() throws {
        let (topology, _, ram, log) = try machine()
        log.events.removeAll()
        topology.transaction { ram.setEnabled(true) }
        #expect(log.events.isEmpty)
    }
}
