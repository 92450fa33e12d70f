import JournalStore
import Sync

/// The journal service: every VMM that connects to its socket (a VMM started
/// with the interposer and `MEMJOURNAL_SOCKET`) gets a journal of its own,
/// written as it runs by a `VMMRecording` on a thread of its own. `serve` runs
/// one until SIGTERM; `capture` runs one for the command it starts.
public final class JournalService: Sendable {
    /// What became of one VMM's recording.
    public struct Finished: Sendable {
        public var vmm: VMMIdentity
        public var path: String
        public var result: Result<CaptureStatistics, JournalError>
        /// A record the service could not read, which ended the recording there.
        public var malformed: String?
        /// Whether the service stopped the recording (SIGTERM), not the VMM's end.
        public var stoppedByService: Bool
    }

    private let socket: RecordSocket
    private let place: @Sendable (VMMIdentity) -> String?
    private let describe: @Sendable (VMMIdentity) -> JournalHeader
    private let finished: @Sendable (Finished) -> Void
    /// Connections still recording, by a number of the service's own (to stop them);
    /// their threads (to join); and whether `stop()` was called. Guarded: the accept
    /// loop adds, connection threads remove themselves, `stop()` sets `stopping` and
    /// reads — so a connection accepted as the service stops is stopped by one side
    /// or the other, never by neither.
    private let live = PlainLocked<(next: Int, connections: [Int: RecordConnection], threads: [OSThread], stopping: Bool)>(
        (0, [:], [], false))

    /// The journals being written now. Guarded: connection threads add and remove
    /// theirs; `recording` is read by anyone (the web view of the directory).
    private let writing = PlainLocked<Set<String>>([])

    /// The paths of the journals being written now.
    public var recording: Set<String> { writing.withLock { $0 } }

    /// - `place`: the journal path for a VMM (nil turns it away);
    /// - `describe`: its journal header;
    /// - `finished`: called on the VMM's thread once its journal is sealed.
    public init(socket: RecordSocket, place: @escaping @Sendable (VMMIdentity) -> String?,
                describe: @escaping @Sendable (VMMIdentity) -> JournalHeader,
                finished: @escaping @Sendable (Finished) -> Void) {
        self.socket = socket
        self.place = place
        self.describe = describe
        self.finished = finished
    }

    /// Accepts VMMs until `stop()`, then waits for every recording to be sealed.
    public func run() {
        while let connection = socket.accept() {
            live.withLock { state in
                let id = state.next
                state.next += 1
                state.connections[id] = connection
                if state.stopping { connection.stop() }
                state.threads.append(OSThread { [self] in
                    record(connection)
                    _ = live.withLock { $0.connections.removeValue(forKey: id) }
                })
            }
        }
        for thread in live.withLock({ $0.threads }) { thread.join() }
    }

    /// Stops accepting and ends every recording: what each VMM sent is read, a VMM
    /// still running is cut off there (its open transaction journaled as cut off),
    /// one already gone keeps its own ending; `run()` returns once all are sealed.
    public func stop() {
        let connections = live.withLock { state in
            state.stopping = true
            return Array(state.connections.values)
        }
        socket.shutdown()
        for connection in connections { connection.stop() }
    }

    private func record(_ connection: RecordConnection) {
        guard case .record(let hello) = connection.next(), hello.kind == .hello, let pid = connection.peerPID else { return }
        let vmm = VMMIdentity(pid: pid)
        guard let path = place(vmm) else { return }
        let recording: VMMRecording
        do {
            recording = try VMMRecording(
                path: path, header: describe(vmm),
                facts: CaptureFacts(vmmPID: vmm.pid, vmmBinary: vmm.binary, vmmVersion: vmm.version))
        } catch {
            finished(Finished(vmm: vmm, path: path, result: .failure(error), malformed: nil, stoppedByService: false))
            return
        }
        writing.withLock { _ = $0.insert(path) }
        defer { writing.withLock { _ = $0.remove(path) } }
        recording.receive(hello)
        var malformed: String?
        reading: while true {
            switch connection.next() {
            case .record(let record): recording.receive(record)
            case .malformed(let problem):
                malformed = "record \(recording.statistics.facts.records + 1): \(problem.detail)"
                break reading
            case .end: break reading
            }
        }
        let stopped = connection.stoppedByService
        let end: CaptureFacts.End? = malformed != nil ? .badRecord : stopped ? .recorderStopped : nil
        let result: Result<CaptureStatistics, JournalError>
        do { result = .success(try recording.finish(stopped: end)) } catch { result = .failure(error) }
        finished(Finished(vmm: vmm, path: path, result: result, malformed: malformed, stoppedByService: stopped))
    }
}
