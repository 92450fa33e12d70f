/// What a live capture saw of its VMM besides its memory-slot calls (schema 7,
/// `migrations/0007_capture.sql`): who it was, how its recording ended, the
/// exits that were not spurious and the records the interposer dropped.
public struct CaptureFacts: Hashable, Sendable {
    public enum End: String, Sendable {
        case exited, died
        case recorderStopped = "recorder stopped"
        case badRecord = "bad record"
    }

    public struct ExitCounts: Hashable, Sendable {
        public var deviceExits: Int
        public var internalErrors: Int
        public init(deviceExits: Int = 0, internalErrors: Int = 0) {
            self.deviceExits = deviceExits
            self.internalErrors = internalErrors
        }
    }

    public var vmmPID: Int32
    public var vmmBinary: String
    public var vmmVersion: String?
    /// nil while recording.
    public var end: End?
    public var records = 0
    public var mmioExits = 0
    public var deviceExits = 0
    public var internalErrors = 0
    public var droppedExitRecords = 0
    public var dirtyLogCalls = 0
    /// Device exits and emulation failures by the transaction they are counted against.
    public var exitsByTransaction: [UInt64: ExitCounts] = [:]

    public init(vmmPID: Int32, vmmBinary: String, vmmVersion: String?) {
        self.vmmPID = vmmPID
        self.vmmBinary = vmmBinary
        self.vmmVersion = vmmVersion
    }
}
