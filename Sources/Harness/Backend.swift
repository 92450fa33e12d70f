import KVMBackend
import MemoryModel
import Memslots

/// Which backend runs a VM — the one choice `record`, `replay`, `demo`,
/// `fixture` and the benchmarks make.
public enum Backend: String, Sendable, CaseIterable, Hashable {
    /// The deterministic model of KVM's memslot rules.
    case sim
    /// A real VM from `/dev/kvm` with vCPU threads running guest code.
    case kvm

    /// A fresh backend of this kind (a new VM on KVM). `operationDelayNs` is the
    /// simulated duration of each memslot operation (ignored on KVM).
    public func make(operationDelayNs: UInt64 = 0, memoryLimit: UInt64 = 64 << 30) throws(HarnessError)
        -> any MemslotBackend
    {
        switch self {
        case .sim: return SimulatedBackend(operationDelayNs: operationDelayNs)
        case .kvm:
            do { return try KVMBackend(maxBackingSize: memoryLimit) } catch { throw .backend("\(error)") }
        }
    }
}

/// Why a VM and its vCPUs could not be set up.
public enum HarnessError: Error, CustomStringConvertible, Equatable {
    case backend(String)
    case vcpuCount(Int, allowingNone: Bool)
    case steppingNeedsSimulation

    public var description: String {
        switch self {
        case .backend(let why): "cannot create the backend: \(why)"
        case .vcpuCount(let n, let allowingNone):
            "--vcpus must be between \(allowingNone ? 0 : 1) and \(VCPULimit.max) (got \(n)): "
                + "the KVM guest program drives at most \(VCPULimit.max) vCPUs"
        case .steppingNeedsSimulation:
            "--vcpu-mode stepping needs the simulated backend: real vCPUs cannot be stepped"
        }
    }
}

/// The one bound on vCPUs, on every backend and command.
public enum VCPULimit {
    public static let max = GuestProgram.maxVCPUs

    /// Refuses a count outside 1…max (0…max when `allowingNone`).
    public static func check(_ count: Int, allowingNone: Bool = false) throws(HarnessError) {
        guard count >= (allowingNone ? 0 : 1), count <= max else {
            throw .vcpuCount(count, allowingNone: allowingNone)
        }
    }
}

/// vCPUs for `machine` on its backend: simulated vCPU threads on the simulated
/// backend; on KVM, real vCPU threads running the guest program from `guestCode`
/// (called only on KVM, to place the program's memory).
public func makeVCPUs(
    count: Int, machine: Machine, targets: [VCPUTarget], observer: (any TransactionObserver)?,
    guestCode: (KVMBackend) throws -> BackingLocation
) throws -> any VCPUDriver {
    if let sim = machine.backend as? SimulatedBackend {
        return SimulatedVCPUs(count: count, backend: sim, machine: machine, targets: targets, observer: observer)
    }
    guard let kvm = machine.backend as? KVMBackend else {
        throw HarnessError.backend("no vCPUs for backend \(machine.backend.name)")
    }
    return try KVMVCPUs(count: count, backend: kvm, machine: machine, codeRegion: try guestCode(kvm), targets: targets,
                        observer: observer)
}
