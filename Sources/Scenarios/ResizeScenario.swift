import MemoryModel
import Memslots

/// A resizable RAM block (like QEMU's `memory_region_ram_resize` for ACPI tables
/// or a virtio-mem device) at 1 GiB growing and shrinking between 1 and 16 MiB
/// inside its 16 MiB backing; its first page stays RAM throughout.
final class ResizeScenario: Scenario {
    let name = ScenarioKind.resize.rawValue
    private let options: ScenarioOptions
    private var base: PCBase!
    private var block: MemoryRegion!
    static let blockBase: UInt64 = 0x4000_0000
    static let blockBacking: UInt64 = 16 << 20

    init(_ options: ScenarioOptions) { self.options = options }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: min(options.memory, Self.blockBase))
        block = MemoryRegion.ram("resizable", size: 1 << 20, at: try machine.addBacking(size: Self.blockBacking))
        try base.system.addSubregion(block, at: Self.blockBase)
        try base.finish(on: machine)
    }

    var vcpuTargets: [VCPUTarget] {
        base.ramTargets() + [VCPUTarget(gpa: Self.blockBase), VCPUTarget(gpa: Self.blockBase + 0x80000)]
    }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        var size = block.size
        while size == block.size { size = (1 + rng.next() % 16) << 20 }
        try machine.transaction { try block.setSize(size) }
    }
}
