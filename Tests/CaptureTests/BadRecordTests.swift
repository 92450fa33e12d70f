import CCaptureRecord
import Foundation
import Glibc
import Sync
import JournalStore
import Testing
import TestSupport
@testable import Capture

/// A bad record on the service's socket ends that VMM's journal there, named;
/// the service and its other journals go on.
@Suite(.serialized) struct BadRecordTests {
    /// A client of the socket, as the interposer is one.
    final class Client {
        let fd: Int32

        init(_ path: String) throws {
            fd = try #require(RecordSocket.connectClient(path), "connect: \(errno)")
        }

        func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } }

        func send(_ kind: CaptureRecord.Kind, _ fill: (inout memjournal_record) -> Void = { _ in }) {
            var raw = memjournal_record()
            raw.kind = kind.rawValue
            raw.version = UInt16(MEMJOURNAL_RECORD_VERSION)
            fill(&raw)
            send(withUnsafeBytes(of: raw) { Array($0) })
        }

        func hangUp() { shutdown(fd, Int32(SHUT_RDWR)) }

        deinit { close(fd) }
    }

    /// A service on a fresh socket in `dir`, running on a thread of its own.
    static func start(in dir: TemporaryDirectory, results: PlainLockedResults, journal: @escaping @Sendable () -> String)
        throws -> (RecordSocket, JournalService, Thread)
    {
        let socket = try RecordSocket(path: dir.file("s.sock"))
        let service = JournalService(
            socket: socket, place: { _ in journal() }, describe: { VMMLaunch.header(for: $0, service: "test") },
            finished: { results.append($0) })
        let thread = Thread { service.run() }
        thread.start()
        return (socket, service, thread)
    }

    @Test(arguments: [
        ([UInt8](repeating: 7, count: 50), "a datagram of 50 bytes"),
        ([UInt8](repeating: 0, count: 200), "a datagram of 200 bytes"),
    ])
    func aBadDatagramEndsThatJournalNamedAndTheServiceGoesOn(_ bad: [UInt8], _ expected: String) throws {
        let dir = makeTemporaryDirectory()
        let results = PlainLockedResults()
        let (socket, service, thread) = try Self.start(in: dir, results: results) { dir.file("j\(results.count).journal") }
        let client = try Client(socket.path)
        client.send(.hello)
        client.send(.setMemoryRegion) { $0.size = 0x1000; $0.userspace_addr = 0x7f00_0000_0000; $0.begin_ns = 1; $0.end_ns = 2 }
        client.send(bad)
        client.send(.setMemoryRegion) { $0.slot = 1; $0.gpa = 0x2000; $0.size = 0x1000; $0.userspace_addr = 0x7f00_0000_1000 }
        let deadline = Date().addingTimeInterval(10)
        while results.count == 0 && Date() < deadline { usleep(10_000) }
        let finished = try #require(results.first)
        #expect(finished.malformed?.contains("record 3") == true && finished.malformed?.contains(expected) == true,
                "\(String(describing: finished.malformed))")
        // A second VMM still gets its journal: the service did not stop.
        let second = try Client(socket.path)
        second.send(.hello)
        second.send(.goodbye)
        second.hangUp()
        while results.count < 2 && Date() < deadline { usleep(10_000) }
        #expect(results.count == 2)
        service.stop()
        while !thread.isFinished && Date() < deadline { usleep(10_000) }
        let facts = try #require(try JournalReader(path: finished.path).capture())
        #expect(facts.end == .badRecord && facts.records == 2)
        #expect(try JournalReader(path: finished.path).contents().cutOff.count == 1)  // the call before the bad record
        #expect(results.count == 2)
    }
}

extension BadRecordTests {
    @Test func stoppingTheServiceSealsTheJournalOfAVMMStillConnected() throws {
        let dir = makeTemporaryDirectory()
        let results = PlainLockedResults()
        let (socket, service, thread) = try Self.start(in: dir, results: results) { dir.file("live.journal") }
        let client = try Client(socket.path)
        client.send(.hello)
        client.send(.setMemoryRegion) { $0.size = 0x1000; $0.userspace_addr = 0x7f00_0000_0000; $0.begin_ns = 1; $0.end_ns = 2 }
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: dir.file("live.journal")) && Date() < deadline { usleep(10_000) }
        usleep(100_000)
        service.stop()
        while !thread.isFinished && Date() < deadline { usleep(10_000) }
        #expect(thread.isFinished && results.count == 1)
        #expect(results.first?.stoppedByService == true)
        #expect(try JournalReader(path: dir.file("live.journal")).capture()?.end == .recorderStopped)
        #expect(try JournalReader(path: dir.file("live.journal")).contents().header.cleanClose)
    }
}

extension BadRecordTests {
    /// A VMM that hung up before the service stopped, its records still queued:
    /// they are all read and the journal says how the VMM ended (not "stopped").
    @Test(arguments: [false, true])
    func aVMMGoneBeforeTheServiceStopsKeepsItsWholeRecordAndItsOwnEnding(saidGoodbye: Bool) throws {
        let dir = makeTemporaryDirectory()
        let results = PlainLockedResults()
        // The service's thread for the VMM waits here (after its hello) until the VMM is gone and stop() was called.
        let gate = DispatchSemaphore(value: 0)
        let (socket, service, thread) = try Self.start(in: dir, results: results) {
            gate.wait()
            return dir.file("gone.journal")
        }
        let client = try Client(socket.path)
        client.send(.hello)
        for slot in UInt32(0)..<40 {
            client.send(.setMemoryRegion) {
                $0.slot = slot; $0.gpa = UInt64(slot) << 20; $0.size = 0x1000
                $0.userspace_addr = 0x7f00_0000_0000 + (UInt64(slot) << 20); $0.begin_ns = UInt64(slot) * 10; $0.end_ns = UInt64(slot) * 10 + 5
            }
        }
        if saidGoodbye { client.send(.goodbye) }
        client.hangUp()
        service.stop()
        gate.signal()
        let deadline = Date().addingTimeInterval(10)
        while !thread.isFinished && Date() < deadline { usleep(10_000) }
        let finished = try #require(results.first)
        #expect(!finished.stoppedByService)
        let facts = try #require(try JournalReader(path: dir.file("gone.journal")).capture())
        #expect(facts.end == (saidGoodbye ? .exited : .died))
        #expect(facts.records == 41 + (saidGoodbye ? 1 : 0))
        #expect(try finished.result.get().memslotCalls == 40)
        // One transaction (adds only): closed by the goodbye, else cut off.
        let contents = try JournalReader(path: dir.file("gone.journal")).contents()
        #expect(contents.records.count == (saidGoodbye ? 1 : 0) && contents.cutOff.count == (saidGoodbye ? 0 : 1))
    }
}

/// Results handed over from the service's threads.
final class PlainLockedResults: Sendable {
    /// Guarded: appended by the service's threads, read by the test's.
    private let items = PlainLocked<[JournalService.Finished]>([])
    var count: Int { items.withLock { $0.count } }
    var first: JournalService.Finished? { items.withLock { $0.first } }
    func append(_ item: JournalService.Finished) { items.withLock { $0.append(item) } }
}
