import MemoryModel
import Memslots

/// A RAM-backed PCI BAR (like VGA VRAM) in the PCI hole below 4 GiB: enabled,
/// moved by the guest re-programming the BAR (sometimes by less than its size, so
/// the new range overlaps the old), and disabled.
final class BARScenario: Scenario {
    let name = ScenarioKind.bar.rawValue
    private let options: ScenarioOptions
    private var base: PCBase!
    private var bar: MemoryRegion!
    private var mapped = false
    static let window: (start: UInt64, size: UInt64) = (0xE000_0000, 0x1000_0000)
    static let barSize: UInt64 = 16 << 20

    init(_ options: ScenarioOptions) { self.options = options }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: min(options.memory, Self.window.start))
        bar = MemoryRegion.ram("vga.vram", size: Self.barSize, at: try machine.addBacking(size: Self.barSize))
        try base.finish(on: machine)
    }

    var vcpuTargets: [VCPUTarget] { base.ramTargets() }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        let slots = (Self.window.size - Self.barSize) / (Self.barSize / 2)
        let address = Self.window.start + (rng.next() % (slots + 1)) * (Self.barSize / 2)
        try machine.transaction {
            switch (mapped, index % 3) {
            case (false, _):
                try base.system.addSubregion(bar, at: address, priority: 1)
                mapped = true
            case (true, 2):
                try base.system.removeSubregion(bar)
                mapped = false
            case (true, _):
                bar.setAddress(address == bar.address ? address ^ (Self.barSize / 2) : address)
            }
        }
    }
}
