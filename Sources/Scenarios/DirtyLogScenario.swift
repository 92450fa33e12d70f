import MemoryModel
import Memslots

/// Migration-style dirty logging: logging is started on all RAM (flags-only slot
/// updates), a logged framebuffer region is unmapped while logging (so its slot's
/// dirty bitmap is fetched before the delete) and mapped again, and logging stops.
final class DirtyLogScenario: Scenario {
    let name = ScenarioKind.dirtyLog.rawValue
    private let options: ScenarioOptions
    private var base: PCBase!
    private var framebuffer: MemoryRegion!
    static let framebufferBase: UInt64 = 0xE000_0000

    init(_ options: ScenarioOptions) { self.options = options }

    func build(on machine: Machine) throws {
        base = try PCBase(machine: machine, memory: min(options.memory, Self.framebufferBase))
        framebuffer = MemoryRegion.ram("framebuffer", size: 4 << 20, at: try machine.addBacking(size: 4 << 20))
        try base.system.addSubregion(framebuffer, at: Self.framebufferBase)
        try base.finish(on: machine)
    }

    var vcpuTargets: [VCPUTarget] { base.ramTargets() }

    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws {
        try machine.transaction {
            switch index % 4 {
            case 0:
                base.ram.setDirtyLog(true)
                framebuffer.setDirtyLog(true)
            case 1:
                try base.system.removeSubregion(framebuffer)
            case 2:
                try base.system.addSubregion(framebuffer, at: Self.framebufferBase)
            default:
                base.ram.setDirtyLog(false)
                framebuffer.setDirtyLog(false)
            }
        }
    }
}
