import MemoryModel
import Sync

/// The committed flat views, for vCPU threads to tell a spurious fault from a
/// genuine MMIO access.
///
/// A spurious fault is an exit at an address that is memory before *and* after
/// the transaction in progress: while a transaction's slot operations run, an
/// address counts as memory only if both the committed view and the incoming
/// one say so. (An address that stops or starts being memory may legitimately
/// exit while it changes.)
public final class CommittedMemoryMap: Sendable {
    private struct Views: Sendable {
        var committed: [MemorySection] = []
        /// The view being applied, between a listener begin and the publish.
        var incoming: [MemorySection]?
    }

    /// Replaced whole by the topology-lock holder (exclusive), read by vCPU threads
    /// on the fault path (shared), so a reader sees a view as published, never half.
    private let views = ReadWriteLocked<[UInt16: Views]>([:])

    public init() {}

    /// A new view is about to be applied to the slots.
    public func beginChange(addressSpace: UInt16, incoming: [MemorySection]) {
        views.write { $0[addressSpace, default: Views()].incoming = incoming }
    }

    /// The view is committed.
    public func publish(addressSpace: UInt16, sections: [MemorySection]) {
        views.write { $0[addressSpace] = Views(committed: sections, incoming: nil) }
    }

    /// The committed section that should serve this access, if a memslot should
    /// serve it both before and after the change in progress; nil otherwise.
    public func memorySection(gpa: UInt64, addressSpace: UInt16, isWrite: Bool) -> MemorySection? {
        views.read { all -> MemorySection? in
            guard let views = all[addressSpace], let section = views.committed.section(containing: gpa),
                  section.servesAccess(isWrite: isWrite)
            else { return nil }
            if let incoming = views.incoming,
               incoming.section(containing: gpa)?.servesAccess(isWrite: isWrite) != true {
                return nil
            }
            return section
        }
    }

    /// Whether a memslot should serve this access before and after the change in progress.
    public func isMemory(gpa: UInt64, addressSpace: UInt16, isWrite: Bool) -> Bool {
        memorySection(gpa: gpa, addressSpace: addressSpace, isWrite: isWrite) != nil
    }
}

/// Registered on an address space ahead of its memslot listener: tells the map
/// which view is coming before any slot operation for it is issued.
final class IncomingViewPublisher: MemoryListener {
    /// Weak: the address space holds its listeners, this one included.
    private weak var space: AddressSpace?
    private let map: CommittedMemoryMap

    init(space: AddressSpace, map: CommittedMemoryMap) {
        self.space = space
        self.map = map
    }

    func begin() {
        guard let space else { return }
        map.beginChange(addressSpace: space.id, incoming: space.sections)
    }
}
