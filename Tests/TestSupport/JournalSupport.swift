import MemoryModel
import Memslots
import Scenarios
import Harness
import JournalStore
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
