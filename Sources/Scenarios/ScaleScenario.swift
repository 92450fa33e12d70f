import MemoryModel
import Memslots

/// Thousands of slots: one RAM region of `slots` × 64 KiB with the slot size
/// bounded to 64 KiB, remapped whole by toggling a one-page MMIO hole at its start
/// (which shifts every chunk boundary, so every slot is deleted and re-created).
final class ScaleScenario: Scenario {
    let name = ScenarioKind.scale.rawValue
    private let options: ScenarioOptions
    private var system: MemoryRegion!
    private var ram: MemoryRegion!
    private let hole = MemoryRegion.mmio("scale-hole", size: 0x1000)
    private var punched = false
    static let chunk: UInt64 = 64 << 10

    init(_ options: ScenarioOptions) { self.options = options }

    var maxSlotSize: UInt64? { Self.chunk }

    func build(on machine: Machine) throws {
        let size = UInt64(max(options.slots, 2)) * Self.chunk
        system = MemoryRegion.container("system", size: .max)
        ram = MemoryRegion.ram("scale.ram", size: size, at: try machine.addBacking(size: size))
        try system.addSubregion(ram, at: 0)
        try machine.addAddressSpace(id: AddressSpace.memoryID, name: "memory", root: system)
    }

    var vcpuTargets: [VCPUTarget] {
        [Self.chunk, ram.size / 2, ram.size - 0x1000].map { VCPUTarget(gpa: $0) }
    }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        try machine.transaction {
            if punched { try system.removeSubregion(hole) } else { try system.addSubregion(hole, at: 0, priority: 1) }
            punched.toggle()
        }
    }
}
