import MemoryModel
import Memslots

/// A seeded random mix of every kind of change — hole punching, resizing, BAR
/// moves, DIMM plugging, ROMD toggles, read-only toggles, dirty logging and SMRAM
/// opening in a second (SMM) address space — for fuzz-like coverage.
final class RandomScenario: Scenario {
    let name = ScenarioKind.random.rawValue
    private let options: ScenarioOptions
    private var base: PCBase!
    private var smm: MemoryRegion!
    private var smram: MemoryRegion!
    private var resizable: MemoryRegion!
    private var bar: MemoryRegion!
    private var dimm: MemoryRegion!
    private var flash: MemoryRegion!
    private var shadow: MemoryRegion!
    private let hole = MemoryRegion.mmio("hole", size: 0x10000)

    init(_ options: ScenarioOptions) { self.options = options }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: min(max(options.memory, 4 << 20), 0x4000_0000))
        resizable = .ram("resizable", size: 1 << 20, at: try machine.addBacking(size: 8 << 20))
        bar = .ram("bar", size: 1 << 20, at: try machine.addBacking(size: 1 << 20))
        dimm = .ram("dimm", size: 64 << 20, at: try machine.addBacking(size: 64 << 20))
        flash = .romDevice("pflash", size: 0x20000, at: try machine.addBacking(size: 0x20000))
        shadow = .alias("shadow", of: base.ram, offset: 0xE0000, size: 0x20000)
        try base.system.addSubregion(resizable, at: 0x4000_0000)
        try base.system.addSubregion(flash, at: 0xFFFE_0000)
        try base.system.addSubregion(shadow, at: 0xE0000, priority: 1)
        try base.finish(on: machine)

        smram = .ram("smram", size: 0x20000, at: try machine.addBacking(size: 0x20000))
        smm = .container("smm", size: .max)
        try smm.addSubregion(.alias("smm-memory", of: base.system, offset: 0, size: .max), at: 0)
        try machine.addAddressSpace(id: AddressSpace.smmID, name: "smm", root: smm)
    }

    var vcpuTargets: [VCPUTarget] {
        base.ramTargets(below: 0xE0000) + [VCPUTarget(gpa: 0x4000_0000), VCPUTarget(addressSpace: 1, gpa: 0x1000)]
    }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        let action = rng.next() % 8
        let pick = rng.next()
        try machine.transaction {
            switch action {
            case 0:
                if hole.container != nil {
                    try base.system.removeSubregion(hole)
                } else {
                    let half = base.memory / 2
                    try base.system.addSubregion(hole, at: half + (pick % (half / 0x20000)) * 0x10000, priority: 1)
                }
            case 1: try resizable.setSize((1 + pick % 8) << 20)
            case 2:
                if bar.container == nil {
                    try base.system.addSubregion(bar, at: 0xE000_0000 + (pick % 8) * 0x80000, priority: 1)
                } else if pick % 2 == 0 {
                    try base.system.removeSubregion(bar)
                } else {
                    bar.setAddress(0xE000_0000 + (pick % 8) * 0x80000)
                }
            case 3:
                if dimm.container == nil { try base.system.addSubregion(dimm, at: 1 << 32) } else {
                    try base.system.removeSubregion(dimm)
                }
            case 4: try flash.setROMD(!flash.romd)
            case 5: shadow.setReadOnly(!shadow.readOnly)
            case 6: base.ram.setDirtyLog(!base.ram.dirtyLog)
            default:
                if smram.container == nil { try smm.addSubregion(smram, at: 0xA0000, priority: 1) } else {
                    try smm.removeSubregion(smram)
                }
            }
        }
    }
}
