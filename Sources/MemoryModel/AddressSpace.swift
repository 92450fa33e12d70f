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
        let changes = ViewDiff.changes(old: old.ranges, new: new.ranges)
        guard !changes.isEmpty else { return }
        for listener in listeners {
            listener.begin()
            for change in changes { change.deliver(to: listener) }
            listener.commit()
        }
    }
}
