/// Receives the changes of one address space's flat view, in QEMU's order:
/// `begin`; `regionDel` for every old range not present identically (ascending);
/// then, ascending, `regionAdd` for each new range and `regionNop` (followed by
/// `logStart`/`logStop` when its dirty-log flag changed) for each identical one;
/// `commit`. Called on the thread that holds the topology lock.
public protocol MemoryListener: AnyObject {
    func begin()
    func regionDel(_ section: MemorySection)
    func regionAdd(_ section: MemorySection)
    func regionNop(_ section: MemorySection)
    func logStart(_ section: MemorySection)
    func logStop(_ section: MemorySection)
    func commit()
}

extension MemoryListener {
    public func begin() {}
    public func regionDel(_ section: MemorySection) {}
    public func regionAdd(_ section: MemorySection) {}
    public func regionNop(_ section: MemorySection) {}
    public func logStart(_ section: MemorySection) {}
    public func logStop(_ section: MemorySection) {}
    public func commit() {}
}
