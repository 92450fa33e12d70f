import MemoryModel
import Memslots

/// Four 128 MiB DIMM slots above 4 GiB; each step plugs an empty one or unplugs a
/// plugged one. Adds and deletes never overlap, so nothing is inhibited.
final class HotplugScenario: Scenario {
    let name = ScenarioKind.hotplug.rawValue
    private let options: ScenarioOptions
    private var base: PCBase!
    private var dimms: [MemoryRegion] = []
    private var plugged: [Bool] = []
    static let hotplugBase: UInt64 = 1 << 32
    static let dimmSize: UInt64 = 128 << 20

    init(_ options: ScenarioOptions) { self.options = options }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: min(options.memory, 3 << 30))
        for index in 0..<4 {
            dimms.append(.ram("dimm\(index)", size: Self.dimmSize, at: try machine.addBacking(size: Self.dimmSize)))
            plugged.append(false)
        }
        try base.finish(on: machine)
    }

    var vcpuTargets: [VCPUTarget] { base.ramTargets() }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        let dimm = Int(rng.next() % UInt64(dimms.count))
        try machine.transaction {
            if plugged[dimm] {
                try base.system.removeSubregion(dimms[dimm])
            } else {
                try base.system.addSubregion(dimms[dimm], at: Self.hotplugBase + UInt64(dimm) * Self.dimmSize)
            }
            plugged[dimm].toggle()
        }
    }
}
