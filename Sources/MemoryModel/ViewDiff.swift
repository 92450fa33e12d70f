/// A piece of a flat view as QEMU's topology passes compare it: two pieces are
/// *identical* when only their dirty-log flag may differ (a change of that flag
/// alone is a `log_start`/`log_stop`, not a delete plus an add).
public protocol ViewPiece {
    var range: GuestRange { get }
    var dirtyLog: Bool { get }
    /// The piece as listeners receive it.
    var section: MemorySection { get }
    func isIdentical(to other: Self) -> Bool
}

/// One change between two flat views, as a memory listener is told it.
public enum ViewChange: Hashable, Sendable {
    case del(MemorySection), add(MemorySection), nop(MemorySection)
    case logStart(MemorySection), logStop(MemorySection)

    /// Calls the listener callback this change stands for.
    public func deliver(to listener: any MemoryListener) {
        switch self {
        case .del(let s): listener.regionDel(s)
        case .add(let s): listener.regionAdd(s)
        case .nop(let s): listener.regionNop(s)
        case .logStart(let s): listener.logStart(s)
        case .logStop(let s): listener.logStop(s)
        }
    }
}

/// What a listener is told when a flat view changes: QEMU's two topology passes
/// (`address_space_update_topology_pass`), the deletes pass over both sorted
/// views, then the adds pass. Nops are reported only when they carry a dirty-log
/// change, since a nop without one tells a listener nothing. The address space
/// uses it for its own views; the history reduction uses it to turn two recorded
/// views into the transaction a listener would have received between them.
public enum ViewDiff {
    /// The changes from `old` to `new` (both ascending and disjoint).
    public static func changes<Piece: ViewPiece>(old: [Piece], new: [Piece]) -> [ViewChange] {
        var changes: [ViewChange] = []
        for adding in [false, true] {
            var i = 0, j = 0
            while i < old.count || j < new.count {
                if i < old.count, j >= new.count || old[i].range.start < new[j].range.start
                    || (old[i].range.start == new[j].range.start && !old[i].isIdentical(to: new[j])) {
                    if !adding { changes.append(.del(old[i].section)) }
                    i += 1
                } else if i < old.count, j < new.count, old[i].isIdentical(to: new[j]) {
                    if adding, old[i].dirtyLog != new[j].dirtyLog {
                        let section = new[j].section
                        changes.append(.nop(section))
                        changes.append(new[j].dirtyLog ? .logStart(section) : .logStop(old[i].section))
                    }
                    i += 1
                    j += 1
                } else {
                    if adding { changes.append(.add(new[j].section)) }
                    j += 1
                }
            }
        }
        return changes
    }
}

extension MemorySection: ViewPiece {
    public var section: MemorySection { self }

    /// Everything but the dirty-log flag equal (a recorded section names its
    /// region and where its memory lives, which stands for QEMU's region and offset).
    public func isIdentical(to other: MemorySection) -> Bool {
        var other = other
        other.dirtyLog = dirtyLog
        return self == other
    }
}
