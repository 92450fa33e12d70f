import MemoryModel
import Memslots

/// The guest code every vCPU runs, in flat 32-bit protected mode (no paging, so
/// it reaches the first 4 GiB; targets above that are left to the simulated
/// backend), and the layout of its data.
///
/// Each vCPU loops over its table of targets: read the word, and for writable
/// targets increment and store it; after each target it increments its progress
/// counter. Its block at `block(vcpu)`:
///
///     +0  progress counter (u32, incremented by the guest)
///     +4  target count n ≥ 1
///     +8  n entries of { address: u32, flags: u32 (bit 0: write) }
public enum GuestProgram {
    /// Guest-physical base of the code region (outside every scenario's map).
    public static let base: UInt64 = 0xFF00_0000
    public static let regionSize: UInt64 = 0x10000
    /// The name of the region that holds it in a recorded topology.
    public static let regionName = "guest.code"
    /// vCPUs the program serves: each has its own block of the code region.
    public static let maxVCPUs = 8
    static let maxTargets = 500

    /// Offset in the code region of `vcpu`'s block (its counter and targets).
    public static func block(_ vcpu: Int) -> UInt64 { 0x1000 * UInt64(vcpu + 1) }

    /// esi = block; loop { ecx = count; edi = entries; per entry: read, maybe write, ++progress }
    public static let code: [UInt8] = [
        0x8B, 0x4E, 0x04,        // 0:  mov ecx, [esi+4]
        0x8D, 0x7E, 0x08,        // 3:  lea edi, [esi+8]
        0x8B, 0x1F,              // 6:  mov ebx, [edi]
        0x8B, 0x03,              // 8:  mov eax, [ebx]
        0xF6, 0x47, 0x04, 0x01,  // 10: test byte [edi+4], 1
        0x74, 0x03,              // 14: jz 19
        0x40,                    // 16: inc eax
        0x89, 0x03,              // 17: mov [ebx], eax
        0xFF, 0x06,              // 19: inc dword [esi]
        0x83, 0xC7, 0x08,        // 21: add edi, 8
        0x49,                    // 24: dec ecx
        0x75, 0xEB,              // 25: jnz 6
        0xEB, 0xE3,              // 27: jmp 0
    ]

    /// Writes the code and each vCPU's table into the region's memory.
    static func install(at memory: UnsafeMutableRawPointer, targets: [[VCPUTarget]]) {
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: Int(regionSize))
        for (i, byte) in code.enumerated() { memory.storeBytes(of: byte, toByteOffset: i, as: UInt8.self) }
        for (vcpu, list) in targets.enumerated() {
            let block = Int(block(vcpu))
            // With nothing to touch, the vCPU reads its own counter (the loop needs n ≥ 1).
            let entries = list.isEmpty ? [VCPUTarget(gpa: base + UInt64(block), writes: false)] : list
            memory.storeBytes(of: UInt32(0), toByteOffset: block, as: UInt32.self)
            memory.storeBytes(of: UInt32(entries.count), toByteOffset: block + 4, as: UInt32.self)
            for (i, target) in entries.enumerated() {
                memory.storeBytes(of: UInt32(target.gpa), toByteOffset: block + 8 + 8 * i, as: UInt32.self)
                memory.storeBytes(of: UInt32(target.writes ? 1 : 0), toByteOffset: block + 12 + 8 * i, as: UInt32.self)
            }
        }
    }

    /// Targets the guest can reach: address space 0, below 4 GiB, 4 bytes inside one page.
    static func reachable(_ targets: [VCPUTarget]) -> [VCPUTarget] {
        Array(targets.filter { $0.addressSpace == 0 && $0.gpa + 4 <= 1 << 32 && $0.gpa % 4096 <= 4092 }
            .prefix(maxTargets))
    }
}
