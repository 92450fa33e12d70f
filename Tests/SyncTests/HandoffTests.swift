import Synchronization
import Testing
@testable import Sync

/// The hand-off between a producer thread and a consumer: order kept, never
/// more than its capacity waiting, and either side able to stop the other.
struct HandoffTests {
    @Test
    func itemsArriveInOrderAndNeverMoreThanTheCapacityWait() {
        let handoff = Handoff<Int>(capacity: 3)
        // The producer's count of items put, read by the consumer after each take:
        // at most capacity ahead of what was taken.
        let put = Atomic<Int>(0)
        let producer = OSThread {
            for item in 0..<5_000 {
                guard handoff.put(item) else { return }
                // Relaxed: only a bound is read from it, and `put`'s lock orders it anyway.
                put.add(1, ordering: .relaxed)
            }
            handoff.finish()
        }
        var taken: [Int] = []
        var mostAhead = 0
        while let item = handoff.take() {
            taken.append(item)
            mostAhead = max(mostAhead, put.load(ordering: .relaxed) - taken.count)
        }
        producer.join()
        #expect(taken == Array(0..<5_000))
        #expect(mostAhead <= handoff.capacity, "the producer ran \(mostAhead) items ahead")
    }

    @Test
    func cancellingReleasesAWaitingProducerAndEndsTheConsumer() {
        let handoff = Handoff<Int>(capacity: 2)
        let refused = Atomic<Int>(-1)
        let producer = OSThread {
            for item in 0..<1_000 {
                guard handoff.put(item) else {
                    refused.store(item, ordering: .relaxed)  // read after join, which orders it
                    return
                }
            }
            handoff.finish()
        }
        #expect(handoff.take() == 0)
        handoff.cancel()
        producer.join()
        // The producer stopped short of the end, and nothing more is taken.
        #expect((1..<1_000).contains(refused.load(ordering: .relaxed)))
        #expect(handoff.take() == nil)
        #expect(!handoff.put(7))
    }

    @Test func whatIsLeftAfterFinishIsTakenThenNil() {
        let handoff = Handoff<String>(capacity: 4)
        #expect(handoff.put("a") && handoff.put("b"))
        handoff.finish()
        #expect(handoff.take() == "a")
        #expect(handoff.take() == "b")
        #expect(handoff.take() == nil)
    }
}
