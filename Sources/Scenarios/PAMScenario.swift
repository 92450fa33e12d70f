import MemoryModel
import Memslots

/// i440fx Programmable Attribute Map: firmware shadows its ROMs into RAM by
/// switching each of 13 segments (0xC0000–0xEFFFF in 16 KiB pieces, 0xF0000–
/// 0xFFFFF as one) between the PCI view (ROM), RAM and read-only RAM. Because
/// every RAM-mode segment is an alias of `pc.ram` at its own offset, it merges with
/// the RAM around it, so most switches delete and re-add big RAM ranges — exactly
/// the overlap the atomic update exists for.
final class PAMScenario: Scenario {
    let name = ScenarioKind.pam.rawValue
    private let options: ScenarioOptions
    private var base: PCBase!
    /// Per segment: the PCI, RAM and read-only RAM aliases; exactly one enabled.
    private var segments: [[MemoryRegion]] = []
    private var modes: [Int] = []

    static let segmentRanges: [(start: UInt64, size: UInt64)] =
        [(0xF0000, 0x10000)] + (0..<12).map { (0xC0000 + UInt64($0) * 0x4000, 0x4000) }

    init(_ options: ScenarioOptions) { self.options = options }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: max(options.memory, 2 << 20))
        let pci = MemoryRegion.container("pci", size: .max)
        let pcROM = MemoryRegion.rom("pc.rom", size: 0x20000, at: try machine.addBacking(size: 0x20000))
        let bios = MemoryRegion.rom("isa-bios", size: 0x20000, at: try machine.addBacking(size: 0x20000))
        try pci.addSubregion(pcROM, at: 0xC0000)
        try pci.addSubregion(bios, at: 0xE0000)
        try base.system.addSubregion(pci, at: 0, priority: -1)
        try base.system.addSubregion(base.ram, at: 0)
        for (index, segment) in Self.segmentRanges.enumerated() {
            let viaPCI = MemoryRegion.alias("pam-pci-\(index)", of: pci, offset: segment.start, size: segment.size)
            let viaRAM = MemoryRegion.alias("pam-ram-\(index)", of: base.ram, offset: segment.start, size: segment.size)
            let viaROM = MemoryRegion.alias("pam-rom-\(index)", of: base.ram, offset: segment.start, size: segment.size)
            viaROM.setReadOnly(true)
            for (mode, alias) in [viaPCI, viaRAM, viaROM].enumerated() {
                alias.setEnabled(mode == 0)
                try base.system.addSubregion(alias, at: segment.start, priority: 1)
            }
            segments.append([viaPCI, viaRAM, viaROM])
            modes.append(0)
        }
        try base.finish(on: machine, mapRAM: false)
    }

    var vcpuTargets: [VCPUTarget] {
        base.ramTargets(below: 0xC0000) + [VCPUTarget(gpa: 0x100000), VCPUTarget(gpa: base.memory - 0x1000)]
            + [0xC0000, 0xE0000, 0xF0000].map { VCPUTarget(gpa: $0, writes: false) }
    }

    /// Writes one PAM register: register 0 drives segment 0, register k drives
    /// segments 2k-1 and 2k; each gets a new mode.
    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        let register = Int(rng.next() % 7)
        let affected = register == 0 ? [0] : [2 * register - 1, 2 * register]
        let shift = 1 + Int(rng.next() % 2)
        machine.transaction {
            for segment in affected {
                let mode = (modes[segment] + shift) % 3
                for (m, alias) in segments[segment].enumerated() { alias.setEnabled(m == mode) }
                modes[segment] = mode
            }
        }
    }
}
