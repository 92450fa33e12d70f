import MemoryModel
import Memslots
import Scenarios
import Harness
@testable import JournalStore
import Sync
#if canImport(Glibc)
import Glibc
#endif

/// The whole content of a file (nil if it cannot be read).
public func contents(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        bytes.append(contentsOf: buffer[0..<n])
        if n < buffer.count { break }
    }
    return bytes
}

public func write(_ bytes: [UInt8], to path: String) {
    guard let file = fopen(path, "wb") else { fatalError("cannot create \(path)") }
    _ = fwrite(bytes, 1, bytes.count, file)
    fclose(file)
}

public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// The header a simulated run is recorded with.
public func simHeader(_ configuration: RunConfiguration, durability: Durability = .normal) -> JournalHeader {
    JournalHeader(
        backend: "sim", capabilities: .x86KVM, vcpus: configuration.vcpus, wait: configuration.wait,
        inhibit: configuration.inhibit, scenario: configuration.scenario.rawValue, seed: configuration.seed,
        commandLine: ["memjournal", "record", "--scenario", configuration.scenario.rawValue, "--quote\"d\\"],
        durability: durability)
}

/// The flat view of each address space of a machine.
public func regions(of machine: Machine) -> [UInt16: [MemorySection]] {
    Dictionary(uniqueKeysWithValues: machine.topology.addressSpaces.map { ($0.id, $0.sections) })
}

/// Runs `configuration` with a recorder writing to `path`; returns the runner.
@discardableResult
public func record(_ configuration: RunConfiguration, to path: String, options: JournalRecorder.Options = .init()) throws
    -> (runner: ScenarioRunner, statistics: RecorderStatistics, initialRegions: [UInt16: [MemorySection]])
{
    let recorder = try JournalRecorder(path: path, header: simHeader(configuration), options: options)
    let runner = try ScenarioRunner(configuration, observer: recorder)
    let initial = regions(of: runner.machine)
    recorder.recordConfiguration(backings: runner.machine.backings, regions: initial)
    try runner.run()
    let statistics = try recorder.close()
    return (runner, statistics, initial)
}

/// SQL that makes transaction `sequence` what a kill between the recorder's two
/// commits leaves (schema 8): its intent on disk, every outcome column NULL.
public func cutOffSQL(sequence: UInt64) -> String {
    """
    UPDATE transactions SET commit_ns = NULL, outcome = NULL, inhibited = NULL, drain_ns = NULL, apply_ns = NULL,
        inhibit_ns = NULL, vcpus_kicked = NULL, slot_ops = NULL, slot_count = NULL, slot_hash = NULL, chain = NULL,
        timing_chain = NULL
        WHERE sequence = \(sequence);
    """
}

/// Rewrites transaction `sequence`'s packed columns (schema 8) after `edit`
/// changed its section changes and slot operations, leaving every other column —
/// its chain links too — as it was: the edit of someone who knows the layout.
public func editPacked(_ path: String, sequence: Int64,
                       _ edit: (inout [SectionChange], inout [SlotOperation]) -> Void) throws {
    let database = try Database(path: path, mode: .readWrite)
    let names = try RegionNames(database)
    let row = try database.prepare("SELECT sections, slot_ops FROM transactions WHERE sequence = ?")
        .rows([.integer(sequence)]).next()
    guard let row else { throw SQLiteError(code: .error, message: "no transaction \(sequence)", path: path) }
    var sections = try PackedColumns.sections(from: row.blobOrNil("sections") ?? []) { (try? names.name($0)) ?? nil }
    var ops = try PackedColumns.slotOps(from: row.blobOrNil("slot_ops") ?? [], sections: sections)
    edit(&sections, &ops)
    try database.prepare("UPDATE transactions SET sections = ?, slot_ops = ? WHERE sequence = ?").run(
        .blob(try PackedColumns.sections(sections, regionID: names.id)),
        .blob(PackedColumns.slotOps(ops, sections: sections)), .integer(sequence))
}
