import MemoryModel
import SystemPackage
import Sync

/// A VMM core: the memory topology, one batching memslot listener per address
/// space, the ioctl blocker and a backend, wired the way QEMU wires them.
///
/// Topology changes go through `transaction`, which holds the topology lock (our
/// BQL) for the whole commit — so the listener's own ioctls bypass the blocker —
/// and then publishes the committed views for vCPU fault classification.
public final class Machine {
    public let topology = MemoryTopology()
    public let topologyLock: TopologyLock
    public let backend: any MemslotBackend
    public let blocker: IoctlBlocker
    public let sequencer: TransactionSequencer
    public let committedMap = CommittedMemoryMap()
    public let configuration: Configuration
    public private(set) var listeners: [UInt16: MemslotListener] = [:]
    public private(set) var backings: [BackingDescriptor] = []

    /// How the core treats transactions.
    public struct Configuration: Sendable {
        public var vcpus: Int
        public var wait: WaitStrategy
        /// Inhibit ioctls for overlapping transactions (off: the seed's bug).
        public var inhibit: Bool
        /// Upper bound on slot size below the backend's own limit (QEMU's
        /// `kvm_set_max_memslot_size`), or nil for the backend's.
        public var maxSlotSize: UInt64?
        /// The largest total of backing memory this machine may create.
        public var memoryLimit: UInt64
        /// How long an inhibit waits for vCPUs to leave their ioctls before it
        /// applies non-atomically and says so (nil: forever).
        public var drainTimeoutNs: UInt64?

        /// Generous: a healthy drain takes microseconds to milliseconds here.
        public static let defaultDrainTimeoutNs: UInt64 = 10_000_000_000

        public init(vcpus: Int, wait: WaitStrategy = .event, inhibit: Bool = true,
                    maxSlotSize: UInt64? = nil, memoryLimit: UInt64 = 1 << 40,
                    drainTimeoutNs: UInt64? = Configuration.defaultDrainTimeoutNs) {
            self.vcpus = vcpus
            self.wait = wait
            self.inhibit = inhibit
            self.maxSlotSize = maxSlotSize
            self.memoryLimit = memoryLimit
            self.drainTimeoutNs = drainTimeoutNs
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case backing(BackingDescriptor, Errno)
        case memoryLimit(requested: UInt64, limit: UInt64)

        public var description: String {
            switch self {
            case .backing(let b, let e): "cannot create backing \(b.id) of \(hex(b.size)) bytes: \(e)"
            case .memoryLimit(let r, let l):
                "backings would total \(hex(r)) bytes, above the limit of \(hex(l)); lower --memory"
            }
        }
    }

    private let observer: (any TransactionObserver)?

    public init(backend: any MemslotBackend, configuration: Configuration,
                observer: (any TransactionObserver)? = nil, sequencer: TransactionSequencer = TransactionSequencer()) {
        self.backend = backend
        self.configuration = configuration
        self.observer = observer
        self.sequencer = sequencer
        let lock = TopologyLock()
        topologyLock = lock
        blocker = IoctlBlocker(vcpus: configuration.vcpus, strategy: configuration.wait, topologyLock: lock)
    }

    /// Creates host memory for guest regions; the total is bounded before mapping.
    public func addBacking(size: UInt64, kind: BackingKind = .anonymous) throws(Failure) -> BackingLocation {
        let total = backings.reduce(size) { $0 &+ $1.size }
        guard total >= size, total <= configuration.memoryLimit else {
            throw .memoryLimit(requested: total, limit: configuration.memoryLimit)
        }
        let descriptor = BackingDescriptor(id: BackingID(backings.count + 1), size: size, kind: kind)
        if case .failure(let errno) = backend.createBacking(descriptor) { throw .backing(descriptor, errno) }
        backings.append(descriptor)
        return BackingLocation(backing: descriptor.id, offset: 0)
    }

    /// Adds an address space and its memslot listener (which receives the
    /// current view at once). An address space the backend does not have (e.g.
    /// SMM on a KVM without `KVM_CAP_MULTI_ADDRESS_SPACE` > 1) gets no memslot
    /// listener, as in QEMU, which registers its SMRAM listener only when KVM
    /// supports SMM.
    @discardableResult
    public func addAddressSpace(id: UInt16, name: String, root: MemoryRegion) throws -> AddressSpace {
        try topologyLock.withLock {
            let space = try topology.addAddressSpace(id: id, name: name, root: root)
            space.register(IncomingViewPublisher(space: space, map: committedMap))
            committedMap.publish(addressSpace: id, sections: space.sections)
            guard Int(id) < backend.capabilities.addressSpaces else { return space }
            let listener = MemslotListener(
                addressSpace: id, backend: backend, blocker: blocker, sequencer: sequencer, observer: observer,
                maxSlotSize: configuration.maxSlotSize, inhibitOverlapping: configuration.inhibit,
                drainTimeoutNs: configuration.drainTimeoutNs)
            listeners[id] = listener
            space.register(listener)
            return space
        }
    }

    /// What a thread that does not hold the topology lock (a migration thread)
    /// needs to fetch dirty bitmaps.
    public var dirtyLogFetcher: DirtyLogFetcher { DirtyLogFetcher(backend: backend, blocker: blocker) }

    /// Changes the topology under the topology lock, as one transaction.
    public func transaction<R>(_ body: () throws -> R) rethrows -> R {
        topologyLock.lock()
        defer {
            // The transaction commits even when `body` throws, so publish in any case.
            for space in topology.addressSpaces {
                committedMap.publish(addressSpace: space.id, sections: space.sections)
            }
            topologyLock.unlock()
        }
        return try topology.transaction(body)
    }
}

/// Fetches dirty bitmaps from a thread that does not hold the topology lock: a
/// VM ioctl outside the lock, so it goes through the blocker's VM counter — an
/// inhibit waits for it to finish, and it waits for an inhibit to end. (Under the
/// lock, the listener fetches bitmaps itself and bypasses the counter, as QEMU's
/// BQL holder does.)
public struct DirtyLogFetcher: Sendable {
    let backend: any MemslotBackend
    let blocker: IoctlBlocker

    /// `KVM_GET_DIRTY_LOG` for `slot`, counted as a VM ioctl.
    public func fetch(slot: SlotID) -> Result<[UInt64], Errno> {
        blocker.withVMIoctl { backend.getDirtyLog(slot: slot) }
    }
}
