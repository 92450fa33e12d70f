import MemoryModel
import Memslots

/// A pflash device just below 4 GiB toggling between ROMD mode (reads served
/// from a read-only slot) and MMIO mode (every access exits; no slot), as flash
/// firmware does around each write/erase command.
final class ROMDScenario: Scenario {
    let name = ScenarioKind.romd.rawValue
    private let options: ScenarioOptions
    private var base: PCBase!
    private var flash: MemoryRegion!
    static let flashBase: UInt64 = 0xFFFE_0000

    init(_ options: ScenarioOptions) { self.options = options }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: min(options.memory, 0xC000_0000))
        flash = MemoryRegion.romDevice("pflash", size: 0x20000, at: try machine.addBacking(size: 0x20000))
        try base.system.addSubregion(flash, at: Self.flashBase)
        try base.finish(on: machine)
    }

    var vcpuTargets: [VCPUTarget] { base.ramTargets() }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        try machine.transaction { try flash.setROMD(!flash.romd) }
    }
}
