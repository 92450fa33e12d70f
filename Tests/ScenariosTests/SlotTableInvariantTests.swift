import MemoryModel
import Testing
@testable import Memslots
@testable import Scenarios
import Harness

/// The slots the committed view calls for, derived here independently of the
/// listener: every slot-eligible section, trimmed to whole pages, cut into chunks
/// of at most `maxSlotSize`, with the flags its attributes imply.
func expectedSlots(_ machine: Machine, addressSpace: UInt16) -> [String] {
    guard let space = machine.topology.addressSpace(id: addressSpace), let listener = machine.listeners[addressSpace]
    else { return [] }
    var result: [String] = []
    for section in space.sections where section.isSlotEligible {
        guard let size = section.range.size, let host = section.backing else { continue }
        let skip = (4096 - section.range.start % 4096) % 4096
        guard skip < size else { continue }
        var remaining = (size - skip) / 4096 * 4096
        var start = section.range.start + skip
        var offset = host.offset + skip
        var flags: SlotFlags = []
        if section.dirtyLog { flags.insert(.logDirtyPages) }
        if section.isReadOnlyMemory { flags.insert(.readOnly) }
        while remaining > 0 {
            let chunk = min(remaining, listener.maxSlotSize)
            result.append("\(hex(start))+\(hex(chunk)) b\(host.backing)+\(hex(offset)) \(flags)")
            start += chunk
            offset += chunk
            remaining -= chunk
        }
    }
    return result
}

func describe(_ slots: [Memslot]) -> [String] {
    slots.map { "\(hex($0.range.start))+\(hex($0.range.size!)) b\($0.host.backing)+\(hex($0.host.offset)) \($0.flags)" }
}

/// Checks, for every address space: the listener's table matches the view, the
/// backend holds exactly the listener's slots (ids included), and ids carry the
/// address space.
func checkInvariant(_ machine: Machine, context: String) {
    for space in machine.topology.addressSpaces {
        guard let listener = machine.listeners[space.id] else { continue }
        let table = listener.installedSlots
        #expect(describe(table) == expectedSlots(machine, addressSpace: space.id), "\(context), as \(space.id)")
        let installed = machine.backend.installedSlots(addressSpace: space.id)
        #expect(installed == table, "\(context): backend and listener disagree")
        #expect(table.allSatisfy { $0.id.addressSpace == space.id })
        #expect(listener.digest == SlotTableDigest(slots: installed))
    }
}

@Suite struct SlotTableInvariantTests {
    @Test(arguments: ScenarioKind.allCases)
    func slotTableMatchesTheViewAfterEveryCommit(_ kind: ScenarioKind) throws {
        let config = RunConfiguration(
            scenario: kind, options: ScenarioOptions(slots: 64), vcpus: 2, transactions: 150, seed: 7,
            vcpuMode: .stepping)
        let runner = try ScenarioRunner(config)
        checkInvariant(runner.machine, context: "\(kind) initial")
        try runner.run { step in checkInvariant(runner.machine, context: "\(kind) step \(step)") }
        #expect(runner.records.count >= 150)
        #expect(runner.records.allSatisfy { $0.failedOps.isEmpty })
        // With the inhibit on, stepped vCPUs never see a missing slot.
        #expect(runner.vcpus.statistics.spuriousFaults == 0)
    }

    @Test func thousandRandomSequencesKeepTheInvariant() throws {
        for seed in 1...1000 {
            let config = RunConfiguration(scenario: .random, vcpus: 1, transactions: 12, seed: UInt64(seed),
                                          vcpuMode: .stepping)
            let runner = try ScenarioRunner(config)
            try runner.run()
            checkInvariant(runner.machine, context: "random seed \(seed)")
        }
    }
}
