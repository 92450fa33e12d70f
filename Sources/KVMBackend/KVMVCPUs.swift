import CKVM
import Memslots
import MemoryModel
import Synchronization
import SystemPackage
import Sync
#if canImport(Glibc)
import Glibc
#endif

/// Real vCPU threads running `GuestProgram` on a `KVMBackend` VM.
///
/// Every `KVM_RUN` goes through the ioctl blocker. A kick is `SIGUSR1`
/// (installed without `SA_RESTART`) plus `immediate_exit = 1`. After an MMIO exit
/// the vCPU always re-enters `KVM_RUN` before it may park — with
/// `immediate_exit` set by a kick, that entry completes the pending emulation and
/// returns at once — so a parked vCPU never leaves an access half-done. vCPUs
/// park on the blocker's plain mutex/condition variable, never on
/// `Synchronization.Mutex`.
///
/// An MMIO exit at an address that is memory in the committed view is a spurious
/// fault: counted, reported to the observer and completed from the backing memory
/// so the guest carries on. Any other MMIO exit is answered by a trivial device
/// (reads 0, writes ignored).
public final class KVMVCPUs: VCPUDriver, VCPUKicker {
    public static let kickSignal = SIGUSR1

    private final class VCPU: Sendable {
        let descriptor: KVMVCPUDescriptor
        let page: KVMRunPage
        /// pthread id while the thread runs (0 otherwise), for `pthread_kill`. Stored
        /// with release after the thread registered its `kvm_run` for the handler,
        /// loaded with acquire by kickers, so a signal never precedes that registration.
        let thread = Atomic<UInt>(0)
        init(descriptor: KVMVCPUDescriptor, page: KVMRunPage) {
            self.descriptor = descriptor
            self.page = page
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case tooManyVCPUs(Int)
        /// A vCPU ioctl failed.
        case ioctl(String, Errno)
        /// A system call that is not an ioctl failed (`sigaction`, `mmap`).
        case system(String, Errno)
        case codeRegion

        public var description: String {
            switch self {
            case .tooManyVCPUs(let n): "\(n) vCPUs requested; the guest program supports at most \(GuestProgram.maxVCPUs)"
            case .ioctl(let name, let e): "ioctl \(name) failed: \(e)"
            case .system(let call, let e): "\(call) failed: \(e)"
            case .codeRegion: "the guest code region is not mapped"
            }
        }
    }

    private let vcpus: [VCPU]
    private let backend: KVMBackend
    private let blocker: IoctlBlocker
    private let map: CommittedMemoryMap
    private let sequencer: TransactionSequencer
    private let observer: (any TransactionObserver)?
    /// Host address of the guest code region (progress counters live there).
    /// `nonisolated(unsafe)` is sound: the pointer never changes; Swift writes the
    /// region only in `init`, before any vCPU runs, and afterwards only reads the
    /// aligned 32-bit counters the guest increments (a torn read cannot happen
    /// on x86 for an aligned u32; a stale one only lowers a progress figure).
    nonisolated(unsafe) private let code: UnsafeMutableRawPointer
    /// Relaxed counters: summed only after the threads are joined.
    private let faults = Atomic<Int>(0)
    private let mmioExits = Atomic<Int>(0)
    /// First fatal exit (e.g. an internal error), if any; reported by `stop`.
    /// Guarded: written by whichever vCPU thread fails first, read through `fatalExit` from any thread.
    private let fatal = PlainLocked<String?>(nil)
    private let threads = VCPUThreadGroup()
    /// Genuine MMIO exits per guest address (the slow path only). Guarded: every
    /// vCPU thread adds to it; `mmioExitAddresses` copies it from any thread.
    private let exitAddresses = PlainLocked<[UInt64: Int]>([:])

    /// The kick handler, installed once per process; its errno is captured by the
    /// installing call itself (`errno` read later would belong to another call).
    private static let kickHandler: Result<Void, Errno> = checked(ckvm_install_kick_handler(kickSignal)).map { _ in () }

    /// Creates `count` vCPUs in flat protected mode, the guest program mapped at
    /// `GuestProgram.base` (see `attachGuestCode`), each looping over the reachable targets.
    public init(
        count: Int, backend: KVMBackend, machine: Machine, codeRegion: BackingLocation, targets: [VCPUTarget],
        observer: (any TransactionObserver)?
    ) throws(Failure) {
        guard count <= GuestProgram.maxVCPUs, count == machine.blocker.vcpuCount else { throw .tooManyVCPUs(count) }
        if case .failure(let e) = Self.kickHandler { throw .system("sigaction(SIGUSR1)", e) }
        guard let code = backend.hostAddress(codeRegion, size: GuestProgram.regionSize) else { throw .codeRegion }
        let runSize: Int32
        switch backend.device.vcpuMmapSize() {
        case .success(let size): runSize = size
        case .failure(let e): throw .ioctl("KVM_GET_VCPU_MMAP_SIZE", e)
        }
        let reachable = GuestProgram.reachable(targets)
        // Each vCPU starts at a different point of the list so they do not move in lockstep.
        let perVCPU = (0..<count).map { vcpu in
            reachable.isEmpty ? [] : Array(reachable[(vcpu % reachable.count)...] + reachable[..<(vcpu % reachable.count)])
        }
        GuestProgram.install(at: code, targets: perVCPU)
        var created: [VCPU] = []
        for id in 0..<count {
            let descriptor: KVMVCPUDescriptor
            switch backend.vm.createVCPU(id: id) {
            case .success(let d): descriptor = d
            case .failure(let e): throw .ioctl("KVM_CREATE_VCPU", e)
            }
            let page: KVMRunPage
            switch KVMRunPage.map(descriptor, size: Int(runSize)) {
            case .success(let p): page = p
            case .failure(let e): throw .system("mmap of kvm_run", e)
            }
            if case .failure(let e) = descriptor.setupFlatProtectedMode(
                entry: UInt32(GuestProgram.base), esi: UInt32(GuestProgram.base + GuestProgram.block(id))) {
                throw .ioctl("KVM_SET_SREGS/REGS", e)
            }
            created.append(VCPU(descriptor: descriptor, page: page))
        }
        vcpus = created
        self.backend = backend
        blocker = machine.blocker
        map = machine.committedMap
        sequencer = machine.sequencer
        self.observer = observer
        self.code = code
        machine.blocker.setKicker(self)
    }

    /// Maps the guest code region at `GuestProgram.base` in address space 0, above
    /// every scenario region; returns its backing for `init`.
    public static func attachGuestCode(to machine: Machine) throws -> BackingLocation {
        let backing = try machine.addBacking(size: GuestProgram.regionSize)
        guard let root = machine.topology.addressSpace(id: AddressSpace.memoryID)?.root else {
            throw Failure.codeRegion
        }
        try machine.transaction {
            try root.addSubregion(.ram(GuestProgram.regionName, size: GuestProgram.regionSize, at: backing),
                                  at: GuestProgram.base, priority: 100)
        }
        return backing
    }

    public func kick(vcpu index: Int) {
        let vcpu = vcpus[index]
        vcpu.page.setImmediateExit(true)
        let thread = vcpu.thread.load(ordering: .acquiring)
        if thread != 0 { pthread_kill(pthread_t(thread), Self.kickSignal) }
    }

    /// Guest accesses so far: the sum of the guest's own progress counters.
    public func progress(vcpu: Int) -> UInt32 {
        code.load(fromByteOffset: Int(GuestProgram.block(vcpu)), as: UInt32.self)
    }

    public var statistics: VCPUStatistics {
        VCPUStatistics(
            accesses: (0..<vcpus.count).reduce(0) { $0 + Int(progress(vcpu: $1)) },
            spuriousFaults: faults.load(ordering: .relaxed), mmioExits: mmioExits.load(ordering: .relaxed),
            blockedEntries: 0)
    }

    /// Genuine (non-spurious) MMIO exits so far, by guest address.
    public var mmioExitAddresses: [UInt64: Int] { exitAddresses.withLock { $0 } }

    /// The first fatal vCPU exit, if one stopped a thread.
    public var fatalExit: String? { fatal.withLock { $0 } }

    public func start() {
        threads.start(count: vcpus.count) { [self] index in run(index) }
    }

    public func stop() {
        // A kick can land between a thread's stop check and its clearing of
        // immediate_exit; re-kick until every thread has returned.
        threads.stop { for index in vcpus.indices { kick(vcpu: index) } }
    }

    private func run(_ index: Int) {
        let vcpu = vcpus[index]
        ckvm_set_thread_run(vcpu.page.pointer)
        _ = ckvm_unblock_signal(Self.kickSignal)
        vcpu.thread.store(UInt(pthread_self()), ordering: .releasing)
        defer {
            ckvm_set_thread_run(nil)
            // A joined pthread id may be reused: never signal it again.
            vcpu.thread.store(0, ordering: .releasing)
        }
        while !threads.isStopping {
            // Clear before entering: only a kick after this point matters, and the
            // inhibitor kicks only vCPUs that have entered.
            vcpu.page.setImmediateExit(false)
            blocker.beginVCPU(index)
            let keepGoing = runUntilKicked(index, vcpu)
            blocker.endVCPU(index)
            if !keepGoing { return }
        }
    }

    /// Runs the guest until a kick; false after a fatal exit.
    private func runUntilKicked(_ index: Int, _ vcpu: VCPU) -> Bool {
        while true {
            switch vcpu.descriptor.run() {
            case .failure(.interrupted):
                return true
            case .failure(let errno):
                fatal.withLock { $0 = $0 ?? "vCPU \(index): KVM_RUN failed: \(errno)" }
                return false
            case .success:
                break
            }
            switch vcpu.page.exit {
            case .mmio(let gpa, let length, let isWrite):
                handleMMIO(index, gpa: gpa, length: length, isWrite: isWrite, data: vcpu.page.mmioData)
            case .io, .interrupted:
                continue
            case let exit:
                fatal.withLock { $0 = $0 ?? "vCPU \(index): unexpected exit: \(exit)" }
                return false
            }
        }
    }

    private func handleMMIO(_ index: Int, gpa: UInt64, length: Int, isWrite: Bool, data: UnsafeMutablePointer<UInt8>) {
        if let section = map.memorySection(gpa: gpa, addressSpace: AddressSpace.memoryID, isWrite: isWrite),
           let backing = section.backing,
           let host = backend.hostAddress(
               BackingLocation(backing: backing.backing, offset: backing.offset + (gpa - section.range.start)),
               size: UInt64(length)) {
            faults.add(1, ordering: .relaxed)
            observer?.spuriousFault(SpuriousFault(
                vcpu: index, gpa: gpa, isWrite: isWrite, timeNs: MonotonicClock.now(),
                transactionInFlight: sequencer.transactionInFlight))
            if isWrite {
                host.copyMemory(from: data, byteCount: length)
            } else {
                UnsafeMutableRawPointer(data).copyMemory(from: host, byteCount: length)
            }
        } else {
            mmioExits.add(1, ordering: .relaxed)
            exitAddresses.withLock { $0[gpa, default: 0] += 1 }
            if !isWrite { data.initialize(repeating: 0, count: length) }
        }
    }
}
