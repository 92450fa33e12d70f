import Foundation
import MemoryModel
import Memslots
import Testing
import TestSupport
import Analysis
import JournalFormats
import JournalStore

/// `inspect map --at N` after a `log_stop`: the rebuilt flat view must agree with
/// the slot table on dirty logging (the map rebuild once kept the `log_stop`
/// section, which carries the old attribute).
@Suite struct MapAfterLogStopTests {
    @Test func dirtyLogAttributeFollowsTheSlotsAfterEveryTransaction() throws {
        let contents = try CanonicalJSONL.read(Fixtures.directory + "/dirty-log.jsonl")
        let dir = makeTemporaryDirectory()
        let path = dir.file("j.journal")
        try contents.writeJournal(to: path)
        let reader = try JournalReader(path: path)
        var stops = 0
        for record in contents.records {
            if record.sections.contains(where: { $0.kind == .logStop }) { stops += 1 }
            let map = try #require(try reader.memoryMap(at: record.sequence))
            for section in map.views[record.addressSpace] ?? [] where section.isSlotEligible {
                let covering = (map.slots[record.addressSpace] ?? []).filter { section.range.contains($0.range.start) }
                for slot in covering {
                    #expect(slot.flags.contains(.logDirtyPages) == section.dirtyLog,
                            "after \(record.sequence): \(section) vs \(slot)")
                }
            }
        }
        #expect(stops > 0, "the fixture must stop dirty logging at least once")
    }
}
