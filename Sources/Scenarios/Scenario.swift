import MemoryModel
import Memslots

/// A workload modelled on a real VMM's memory-topology changes.
///
/// A scenario builds its machine's regions, names the guest addresses that stay
/// memory throughout (so vCPUs can hammer them and any exit there is a spurious
/// fault), and performs one topology transaction per step.
public protocol Scenario: AnyObject {
    /// The name journals and fixtures carry.
    var name: String { get }
    /// Builds backings, regions and address spaces on a fresh machine.
    func build(on machine: Machine) throws
    /// Addresses that are memory before and after every step.
    var vcpuTargets: [VCPUTarget] { get }
    /// One transaction.
    func step(_ index: Int, on machine: Machine, rng: inout SeededRandom) throws
    /// A slot-size bound below the backend's (only `scale` sets one).
    var maxSlotSize: UInt64? { get }
}

extension Scenario {
    public var maxSlotSize: UInt64? { nil }
}

/// Options shared by every scenario.
public struct ScenarioOptions: Sendable, Hashable {
    /// Size of the main RAM region.
    public var memory: UInt64
    /// Slots for `scale`.
    public var slots: Int

    public init(memory: UInt64 = 128 << 20, slots: Int = 4096) {
        self.memory = memory
        self.slots = slots
    }
}

/// The built-in scenarios.
public enum ScenarioKind: String, Sendable, CaseIterable, Hashable {
    case pam, romd, split, resize, bar, hotplug
    case dirtyLog = "dirty-log"
    case random, scale

    public func make(_ options: ScenarioOptions = ScenarioOptions()) -> any Scenario {
        switch self {
        case .pam: PAMScenario(options)
        case .romd: ROMDScenario(options)
        case .split: SplitScenario(options)
        case .resize: ResizeScenario(options)
        case .bar: BARScenario(options)
        case .hotplug: HotplugScenario(options)
        case .dirtyLog: DirtyLogScenario(options)
        case .random: RandomScenario(options)
        case .scale: ScaleScenario(options)
        }
    }

    /// One line on what the scenario models.
    public var summary: String {
        switch self {
        case .pam: "i440fx PAM: 13 shadow segments at 0xC0000–0xFFFFF switching between PCI ROM, RAM and read-only RAM"
        case .romd: "a 128 KiB pflash below 4 GiB toggling between ROMD (read-only slot) and MMIO (no slot)"
        case .split: "a 64 KiB MMIO hole punched into RAM and closed again"
        case .resize: "a RAM region growing and shrinking inside its backing"
        case .bar: "a RAM-backed PCI BAR enabled, moved and disabled"
        case .hotplug: "DIMMs added and removed above 4 GiB"
        case .dirtyLog: "dirty logging started and stopped on all RAM; a logged region removed"
        case .random: "seeded random mix of all of the above, with an SMM address space"
        case .scale: "one RAM region split into thousands of slots and remapped whole"
        }
    }
}

/// The pieces every PC-like scenario starts from: a system container covering the
/// address space and guest RAM at 0.
final class PCBase {
    let system = MemoryRegion.container("system", size: .max)
    let ram: MemoryRegion
    let memory: UInt64
    /// Runs once address space 0 exists (e.g. to add an SMM address space over it).
    var afterFinish: ((Machine) throws -> Void)?

    init(machine: Machine, memory: UInt64) throws {
        self.memory = memory
        ram = MemoryRegion.ram("pc.ram", size: memory, at: try machine.addBacking(size: memory))
    }

    /// Maps RAM at 0 and creates address space 0.
    func finish(on machine: Machine, mapRAM: Bool = true) throws {
        if mapRAM { try system.addSubregion(ram, at: 0) }
        try machine.addAddressSpace(id: AddressSpace.memoryID, name: "memory", root: system)
    }

    /// A few addresses spread over low RAM that no scenario remaps away.
    func ramTargets(below limit: UInt64? = nil) -> [VCPUTarget] {
        let top = min(limit ?? memory, memory)
        return [0x1000, 0x9000, top / 4, top / 2, top - 0x1000].map { VCPUTarget(gpa: $0 & ~0xfff) }
    }
}
