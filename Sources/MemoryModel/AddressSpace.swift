/// A guest-physical address space (as_id 0: memory, 1: SMM) rendered from a root
/// region, with the listeners that follow its flat view.
public final class AddressSpace {
    /// KVM's address-space id: 0 for normal memory, 1 for System Management Mode.
    public let id: UInt16
    public let name: String
    public let root: MemoryRegion
    private(set) var view: FlatView
    private var listeners: [any MemoryListener] = []

    public static let memoryID: UInt16 = 0
    public static let smmID: UInt16 = 1

    init(id: UInt16, name: String, root: MemoryRegion) {
        self.id = id
        self.name = name
        self.root = root
        self.view = FlatView(root: root)
    }

    /// The committed flat view as sections, ascending.
    public var sections: [MemorySection] { view.ranges.map(\.section) }

    /// Adds a listener and replays the current view to it (begin, `regionAdd` and,
    /// for dirty-logged ranges, `logStart` per range, commit), as QEMU does.
    public func register(_ listener: any MemoryListener) {
        listeners.append(listener)
        guard !view.ranges.isEmpty else { return }
        listener.begin()
        for range in view.ranges {
            let section = range.section
            listener.regionAdd(section)
            if section.dirtyLog { listener.logStart(section) }
        }
        listener.commit()
    }

    /// Re-renders the view and tells the listeners what changed; does nothing
    /// (not even begin/commit) when the view is unchanged.
    func update() {
        let new = FlatView(root: root)
        let old = view
        view = new
        let changes = Self.diff(old: old.ranges, new: new.ranges)
        guard !changes.isEmpty else { return }
        for listener in listeners {
            listener.begin()
            for change in changes {
                switch change {
                case .del(let s): listener.regionDel(s)
                case .add(let s): listener.regionAdd(s)
                case .nop(let s): listener.regionNop(s)
                case .logStart(let s): listener.logStart(s)
                case .logStop(let s): listener.logStop(s)
                }
            }
            listener.commit()
        }
    }

    enum Change: Equatable {
        case del(MemorySection), add(MemorySection), nop(MemorySection)
        case logStart(MemorySection), logStop(MemorySection)
    }

    /// QEMU's two topology passes: the deletes pass over both sorted views, then the
    /// adds pass. Nops are reported only when they carry a dirty-log change, since
    /// a nop without one tells a listener nothing.
    static func diff(old: [FlatRange], new: [FlatRange]) -> [Change] {
        var changes: [Change] = []
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
