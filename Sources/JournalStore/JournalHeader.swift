import Memslots
#if canImport(Glibc)
import Glibc
#endif

/// The journal's header row: what was recorded, where and how
/// (`journal_header` in migrations/0001_initial.sql, column by column).
public struct JournalHeader: Hashable, Sendable {
    /// KVM's answers to `KVM_GET_API_VERSION` and `KVM_CHECK_EXTENSION`.
    public struct KVMCapabilities: Hashable, Sendable {
        public var apiVersion: Int
        public var nrMemslots: Int
        public var readonlyMem: Bool
        public var immediateExit: Bool
        public var multiAddressSpace: Int

        public init(apiVersion: Int, nrMemslots: Int, readonlyMem: Bool, immediateExit: Bool, multiAddressSpace: Int) {
            self.apiVersion = apiVersion
            self.nrMemslots = nrMemslots
            self.readonlyMem = readonlyMem
            self.immediateExit = immediateExit
            self.multiAddressSpace = multiAddressSpace
        }
    }

    public var toolVersion: String
    public var createdUnixNs: UInt64
    public var hostKernel: String
    /// "kvm" or "sim".
    public var backend: String
    /// nil for the simulated backend.
    public var kvm: KVMCapabilities?
    public var maxSlots: Int
    public var maxSlotSize: UInt64
    public var pageSize: UInt64
    public var readOnlySlots: Bool
    public var vcpus: Int
    public var wait: WaitStrategy
    public var inhibit: Bool
    public var scenario: String?
    public var seed: UInt64?
    public var commandLine: [String]
    public var durability: Durability
    /// Whether the recorder sealed the journal (false while recording or after a crash).
    public var cleanClose: Bool
    public var closedUnixNs: UInt64?
    /// Words for people about where this history came from (schema 6); nil for a recording.
    public var comment: String?

    public init(
        toolVersion: String = memjournalVersion, createdUnixNs: UInt64 = wallClockNs(),
        hostKernel: String = hostKernelDescription(), backend: String, kvm: KVMCapabilities? = nil,
        capabilities: BackendCapabilities, maxSlotSize: UInt64? = nil, vcpus: Int, wait: WaitStrategy, inhibit: Bool,
        scenario: String?, seed: UInt64?, commandLine: [String] = CommandLine.arguments,
        durability: Durability = .normal, cleanClose: Bool = false, closedUnixNs: UInt64? = nil, comment: String? = nil
    ) {
        self.toolVersion = toolVersion
        self.createdUnixNs = createdUnixNs
        self.hostKernel = hostKernel
        self.backend = backend
        self.kvm = kvm
        maxSlots = capabilities.maxSlots
        self.maxSlotSize = min(maxSlotSize ?? capabilities.maxSlotSize, capabilities.maxSlotSize)
        pageSize = capabilities.pageSize
        readOnlySlots = capabilities.readOnlyMemory
        self.vcpus = vcpus
        self.wait = wait
        self.inhibit = inhibit
        self.scenario = scenario
        self.seed = seed
        self.commandLine = commandLine
        self.durability = durability
        self.cleanClose = cleanClose
        self.closedUnixNs = closedUnixNs
        self.comment = comment
    }
}

/// How hard the recorder pushes each committed batch to stable storage.
public enum Durability: String, Sendable, CaseIterable {
    /// `synchronous=NORMAL` in WAL mode: a committed batch survives the recording
    /// process being killed; the last batches may be lost if the host crashes.
    case normal
    /// `synchronous=FULL`: every batch commit is fsynced; survives a host crash.
    case full
}

/// The version string written into journals.
public let memjournalVersion = "0.1.0"

/// CLOCK_REALTIME in nanoseconds since the Unix epoch.
public func wallClockNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// "sysname release version machine" from uname(2).
public func hostKernelDescription() -> String {
    var name = utsname()
    guard uname(&name) == 0 else { return "unknown" }
    func field<T>(_ value: T) -> String {
        withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    return [field(name.sysname), field(name.release), field(name.version), field(name.machine)].joined(separator: " ")
}
