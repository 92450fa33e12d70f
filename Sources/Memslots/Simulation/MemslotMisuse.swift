import MemoryModel
import SystemPackage

/// KVM's memslot rules as a table: request sequences whose last call must fail,
/// and the errno KVM answers. The simulated backend is tested against it, and so
/// is real KVM — one table, two backends. Every case assumes backing 1 of at
/// least `backingSize` bytes.
public struct MemslotMisuse: Sendable, CustomStringConvertible {
    public var name: String
    /// Calls that must succeed first.
    public var setup: [UserMemoryRegion]
    public var request: UserMemoryRegion
    public var errno: Errno
    /// Whether the case needs `KVM_CAP_READONLY_MEM`.
    public var needsReadOnlyMemory = false

    public var description: String { name }

    public static let backingSize: UInt64 = 1 << 20

    static func region(_ slot: UInt16, _ gpa: UInt64, _ size: UInt64, flags: SlotFlags = [], offset: UInt64 = 0,
                       addressSpace: UInt16 = 0) -> UserMemoryRegion {
        UserMemoryRegion(slot: SlotID(index: slot, addressSpace: addressSpace), flags: flags, guestPhysAddr: gpa,
                         memorySize: size, host: BackingLocation(backing: 1, offset: offset))
    }

    public static let table: [MemslotMisuse] = [
        MemslotMisuse(name: "overlapping add", setup: [region(0, 0, 0x10000)],
                      request: region(1, 0x8000, 0x10000, offset: 0x10000), errno: .fileExists),
        MemslotMisuse(name: "moved onto another slot",
                      setup: [region(0, 0, 0x10000), region(1, 0x20000, 0x10000, offset: 0x10000)],
                      request: region(1, 0x8000, 0x10000, offset: 0x10000), errno: .fileExists),
        MemslotMisuse(name: "resize of an existing slot", setup: [region(0, 0, 0x10000)],
                      request: region(0, 0, 0x20000), errno: .invalidArgument),
        MemslotMisuse(name: "host-address change", setup: [region(0, 0, 0x10000)],
                      request: region(0, 0, 0x10000, offset: 0x1000), errno: .invalidArgument),
        MemslotMisuse(name: "read-only toggle", setup: [region(0, 0, 0x10000)],
                      request: region(0, 0, 0x10000, flags: .readOnly), errno: .invalidArgument,
                      needsReadOnlyMemory: true),
        MemslotMisuse(name: "delete of a missing slot", setup: [], request: region(3, 0, 0), errno: .invalidArgument),
        MemslotMisuse(name: "unaligned guest address", setup: [], request: region(0, 0x800, 0x1000),
                      errno: .invalidArgument),
        MemslotMisuse(name: "unaligned size", setup: [], request: region(0, 0, 0x1800), errno: .invalidArgument),
        MemslotMisuse(name: "slot index beyond the maximum", setup: [], request: region(32_764, 0, 0x1000),
                      errno: .invalidArgument),
        MemslotMisuse(name: "address space beyond the maximum", setup: [],
                      request: region(0, 0, 0x1000, addressSpace: 2), errno: .invalidArgument),
        MemslotMisuse(name: "range reaching 2^64", setup: [], request: region(0, 0xFFFF_FFFF_FFFF_F000, 0x1000),
                      errno: .invalidArgument),
        MemslotMisuse(name: "unknown flag", setup: [], request: region(0, 0, 0x1000, flags: SlotFlags(rawValue: 1 << 7)),
                      errno: .invalidArgument),
    ]
}
