/// A bounded hand-off from one producer thread to one consumer thread: the
/// producer waits while `capacity` items are waiting, the consumer while none
/// are. The producer ends it with `finish()` (the consumer takes what is left,
/// then nil); the consumer with `cancel()` (it wants no more: a waiting or later
/// `put` returns false at once, so the producer can stop).
///
/// For a pipeline of two stages (import: reading and parsing lines on one
/// thread, decoding and writing them on the other), where the items are batches
/// so that the lock is taken once per batch, not per line.
///
/// `@unchecked Sendable`: every stored `var` is read and written only with
/// `mutex` held (each method takes it for its whole body; `changed` waits on
/// that same mutex), and `mutex` and `changed` are themselves thread-safe.
public final class Handoff<Item: Sendable>: @unchecked Sendable {
    private let mutex = PlainMutex()
    /// Signalled on every change either side may wait for (an item put or
    /// taken, finished, cancelled). With one producer and one consumer, whoever
    /// signals is running, so the only thread that can be waiting is the other.
    private let changed = PlainMutex.Condition()
    public let capacity: Int
    // Invariant (under `mutex`): items.count - head <= capacity.
    private var items: [Item] = []
    private var head = 0
    private var finished = false
    private var cancelled = false

    public init(capacity: Int) {
        precondition(capacity > 0, "a hand-off holds at least one item")
        self.capacity = capacity
    }

    /// Hands `item` over, waiting while the hand-off is full; false (and the item
    /// dropped) once the consumer has cancelled.
    public func put(_ item: Item) -> Bool {
        mutex.withLock {
            while !cancelled && items.count - head >= capacity { changed.wait(mutex) }
            guard !cancelled else { return false }
            precondition(!finished, "put after finish")
            items.append(item)
            changed.signal()
            return true
        }
    }

    /// The producer has no more items.
    public func finish() {
        mutex.withLock {
            finished = true
            changed.signal()
        }
    }

    /// The next item, waiting while there is none; nil once the producer has
    /// finished and every item was taken (or after `cancel`).
    public func take() -> Item? {
        mutex.withLock {
            while !cancelled && head == items.count && !finished { changed.wait(mutex) }
            guard !cancelled, head < items.count else { return nil }
            let item = items[head]
            head += 1
            // Compacted when drained or when `capacity` were taken, so the array
            // holds fewer than twice `capacity` items.
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= capacity {
                items.removeFirst(head)
                head = 0
            }
            changed.signal()
            return item
        }
    }

    /// The consumer wants no more: wakes a waiting producer, whose `put` returns false.
    public func cancel() {
        mutex.withLock {
            cancelled = true
            items.removeAll()
            head = 0
            changed.signal()
        }
    }
}
