import MemoryModel
import Memslots

/// A 64 KiB MMIO region punched into the upper half of RAM and removed again:
/// each punch deletes the RAM slot and adds the two pieces around the hole; each
/// close deletes the pieces and adds RAM whole.
final class SplitScenario: Scenario {
    let name = ScenarioKind.split.rawValue
    private let options: ScenarioOptions
    private var base: PCBase!
    private let hole = MemoryRegion.mmio("hole", size: 0x10000)
    private var punched = false

    init(_ options: ScenarioOptions) { self.options = options }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: max(options.memory, 1 << 20))
        try base.finish(on: machine)
    }

    var vcpuTargets: [VCPUTarget] { base.ramTargets(below: base.memory / 2) }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        try machine.transaction {
            if punched {
                try base.system.removeSubregion(hole)
            } else {
                let half = base.memory / 2
                let positions = (half - hole.size) / 0x1000
                let address = half + (rng.next() % positions) * 0x1000
                try base.system.addSubregion(hole, at: address, priority: 1)
            }
            punched.toggle()
        }
    }
}
