import MemoryModel
import Memslots

/// Small hand-made workloads for the regression fixtures, each aimed at one edge
/// of the listener or the backends that the big scenarios touch only in passing.
public enum FixtureCase: String, CaseIterable, Sendable {
    /// Sections split into chunks at a 1 MiB maximum slot size, resized across chunk boundaries.
    case chunking = "edge-chunking"
    /// A dirty-logged region removed while logging (bitmap fetched before the delete).
    case dirtyLogDelete = "edge-dirty-log-delete"
    /// A BIOS shadow alias toggled between RAM and read-only RAM.
    case readOnlyToggle = "edge-read-only-toggle"
    /// A pflash toggled between ROMD and MMIO.
    case romdToggle = "edge-romd-toggle"
    /// A bank-switched alias window (VGA-style) moved across its target.
    case alias = "edge-alias"
    /// SMRAM opened and closed in the SMM address space.
    case smm = "edge-smm"
    /// A region whose host range lies outside its backing: the create fails with EFAULT.
    case failedOperation = "edge-failed-operation"

    /// Steps recorded for the fixture.
    public var steps: Int { 24 }

    public func make() -> any Scenario {
        switch self {
        case .chunking:
            return ScriptedScenario(name: rawValue, maxSlotSize: 1 << 20) { machine, base in
                let block = MemoryRegion.ram("chunked", size: 3 << 20, at: try machine.addBacking(size: 8 << 20))
                try base.system.addSubregion(block, at: 0x4000_0000)
                return [
                    { m in try m.transaction { try block.setSize((2 << 20) + 0x3000) } },
                    { m in try m.transaction { try block.setSize(5 << 20) } },
                    { m in try m.transaction { try block.setSize((1 << 20) - 0x1000) } },
                ]
            }
        case .dirtyLogDelete:
            return ScriptedScenario(name: rawValue) { machine, base in
                let vram = MemoryRegion.ram("vram", size: 1 << 20, at: try machine.addBacking(size: 1 << 20))
                try base.system.addSubregion(vram, at: 0xE000_0000)
                return [
                    { m in m.transaction { vram.setDirtyLog(true); base.ram.setDirtyLog(true) } },
                    { m in try m.transaction { try base.system.removeSubregion(vram) } },
                    { m in try m.transaction { try base.system.addSubregion(vram, at: 0xE000_0000) } },
                    { m in m.transaction { vram.setDirtyLog(false); base.ram.setDirtyLog(false) } },
                ]
            }
        case .readOnlyToggle:
            return ScriptedScenario(name: rawValue) { _, base in
                let shadow = MemoryRegion.alias("bios-shadow", of: base.ram, offset: 0xE0000, size: 0x20000)
                try base.system.addSubregion(shadow, at: 0xE0000, priority: 1)
                return [{ m in m.transaction { shadow.setReadOnly(!shadow.readOnly) } }]
            }
        case .romdToggle:
            return ScriptedScenario(name: rawValue) { machine, base in
                let flash = MemoryRegion.romDevice("pflash", size: 0x20000, at: try machine.addBacking(size: 0x20000))
                try base.system.addSubregion(flash, at: 0xFFFE_0000)
                return [{ m in try m.transaction { try flash.setROMD(!flash.romd) } }]
            }
        case .alias:
            return ScriptedScenario(name: rawValue) { machine, base in
                let vram = MemoryRegion.ram("vga.vram", size: 1 << 20, at: try machine.addBacking(size: 1 << 20))
                let window = MemoryRegion.alias("vga.bank", of: vram, offset: 0, size: 0x20000)
                try base.system.addSubregion(window, at: 0xA0000, priority: 1)
                var bank: UInt64 = 0
                return [{ m in
                    bank = (bank + 1) % 8
                    try m.transaction { try window.setAliasOffset(bank * 0x20000) }
                }]
            }
        case .smm:
            return ScriptedScenario(name: rawValue) { machine, base in
                let smram = MemoryRegion.ram("smram", size: 0x20000, at: try machine.addBacking(size: 0x20000))
                let smm = MemoryRegion.container("smm", size: .max)
                try smm.addSubregion(.alias("smm-memory", of: base.system, offset: 0, size: .max), at: 0)
                base.afterFinish = { m in try m.addAddressSpace(id: AddressSpace.smmID, name: "smm", root: smm) }
                return [
                    { m in try m.transaction { try smm.addSubregion(smram, at: 0xA0000, priority: 1) } },
                    { m in try m.transaction { try smm.removeSubregion(smram) } },
                ]
            }
        case .failedOperation:
            return ScriptedScenario(name: rawValue) { machine, base in
                let backing = try machine.addBacking(size: 0x10000)
                // Points 0x8000 bytes past the end of its 64 KiB backing.
                let broken = MemoryRegion.ram(
                    "broken", size: 0x10000, at: BackingLocation(backing: backing.backing, offset: 0x8000))
                return [
                    { m in try m.transaction { try base.system.addSubregion(broken, at: 0x2000_0000) } },
                    { m in try m.transaction { try base.system.removeSubregion(broken) } },
                ]
            }
        }
    }
}

/// A scenario made of a fixed cycle of steps over a PC base with 16 MiB of RAM.
final class ScriptedScenario: Scenario {
    typealias Step = (Machine) throws -> Void
    let name: String
    let maxSlotSize: UInt64?
    private let setup: (Machine, PCBase) throws -> [Step]
    private var base: PCBase!
    private var steps: [Step] = []

    init(name: String, maxSlotSize: UInt64? = nil, setup: @escaping (Machine, PCBase) throws -> [Step]) {
        self.name = name
        self.maxSlotSize = maxSlotSize
        self.setup = setup
    }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: 16 << 20)
        steps = try setup(machine, base)
        try base.finish(on: machine)
        try base.afterFinish?(machine)
    }

    var vcpuTargets: [VCPUTarget] { base.ramTargets(below: 0xA0000) }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        try steps[index % steps.count](machine)
    }
}
