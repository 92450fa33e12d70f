import MemoryModel

/// Something that covers a guest-physical range (a memslot).
public protocol GuestRanged: Sendable {
    var range: GuestRange { get }
}

extension Memslot: GuestRanged {}

/// Disjoint ranges ordered by start address, with O(log n) insert, remove and
/// floor lookup — a treap (a binary search tree kept balanced by random heap
/// priorities) in flat arrays. Slot tables and flat views need ordered lookups
/// ("which slot contains this address", "does this range overlap a slot") that
/// stay fast at KVM's 32,764 slots, where a sorted array's O(n) inserts made a
/// full remap quadratic.
struct OrderedRangeMap<Element: GuestRanged>: Sendable {
    private struct Node: Sendable {
        var element: Element
        var priority: UInt64
        var left: Int32 = -1
        var right: Int32 = -1
    }

    private var nodes: [Node] = []
    private var freeList: [Int32] = []
    private var root: Int32 = -1
    private var rng = SeededRandom(seed: 0x7265_6170)  // fixed: the shape never affects results
    private(set) var count = 0

    /// The element with the greatest start address at or below `address`.
    func floor(_ address: UInt64) -> Element? {
        var node = root
        var best: Int32 = -1
        while node >= 0 {
            if nodes[Int(node)].element.range.start <= address {
                best = node
                node = nodes[Int(node)].right
            } else {
                node = nodes[Int(node)].left
            }
        }
        return best >= 0 ? nodes[Int(best)].element : nil
    }

    /// The element containing `address`, if any.
    func element(containing address: UInt64) -> Element? {
        guard let found = floor(address), found.range.contains(address) else { return nil }
        return found
    }

    /// All elements in ascending order.
    var ascending: [Element] {
        var result: [Element] = []
        result.reserveCapacity(count)
        var stack: [Int32] = []
        var node = root
        while node >= 0 || !stack.isEmpty {
            while node >= 0 {
                stack.append(node)
                node = nodes[Int(node)].left
            }
            let top = stack.removeLast()
            result.append(nodes[Int(top)].element)
            node = nodes[Int(top)].right
        }
        return result
    }

    /// Inserts an element whose start is not yet present.
    mutating func insert(_ element: Element) {
        let node = Node(element: element, priority: rng.next())
        let index: Int32
        if let reused = freeList.popLast() {
            nodes[Int(reused)] = node
            index = reused
        } else {
            nodes.append(node)
            index = Int32(nodes.count - 1)
        }
        let (less, greater) = split(root, below: element.range.start)
        root = merge(merge(less, index), greater)
        count += 1
    }

    /// Removes the element starting at `start`, if present, and returns it.
    @discardableResult
    mutating func remove(start: UInt64) -> Element? {
        let (less, rest) = split(root, below: start)
        let (match, greater) = split(rest, below: start &+ 1, allowWrap: start == .max)
        var removed: Element?
        if match >= 0 {
            removed = nodes[Int(match)].element
            freeList.append(match)
            count -= 1
        }
        root = merge(less, greater)
        return removed
    }

    /// Splits a subtree into keys `< key` and keys `>= key`. With `allowWrap`
    /// (key wrapped to 0 from 2^64), everything goes to the first part.
    private mutating func split(_ node: Int32, below key: UInt64, allowWrap: Bool = false) -> (Int32, Int32) {
        guard node >= 0 else { return (-1, -1) }
        if allowWrap || nodes[Int(node)].element.range.start < key {
            let (l, r) = split(nodes[Int(node)].right, below: key, allowWrap: allowWrap)
            nodes[Int(node)].right = l
            return (node, r)
        } else {
            let (l, r) = split(nodes[Int(node)].left, below: key)
            nodes[Int(node)].left = r
            return (l, node)
        }
    }

    /// Joins two subtrees where every key of `a` is below every key of `b`.
    private mutating func merge(_ a: Int32, _ b: Int32) -> Int32 {
        guard a >= 0 else { return b }
        guard b >= 0 else { return a }
        if nodes[Int(a)].priority > nodes[Int(b)].priority {
            nodes[Int(a)].right = merge(nodes[Int(a)].right, b)
            return a
        } else {
            nodes[Int(b)].left = merge(a, nodes[Int(b)].left)
            return b
        }
    }
}
