import Harness
import Memslots

/// What a replay did and found.
public struct ReplayReport: Sendable {
    public var backend: Backend
    public var mode: ReplayOptions.Mode
    /// Transactions applied, and how many of them were compared (the range).
    public var applied: Int
    public var compared: Int
    public var firstCompared: UInt64?
    public var lastCompared: UInt64?
    /// The first divergence, if any (replay stops there).
    public var divergence: Divergence?
    /// The slot-table digest after the last applied transaction (each one before
    /// it was compared with its record as it was applied; none is kept, so a
    /// report does not grow with the journal).
    public var finalDigest: SlotTableDigest?
    public var vcpus: Int
    public var vcpuTargets: Int
    public var statistics: VCPUStatistics?
    /// A vCPU that stopped on an unexpected exit, described.
    public var vcpuFailure: String?
    public var elapsedNs: UInt64

    public var transactionsPerSecond: Double {
        elapsedNs == 0 ? 0 : Double(applied) / (Double(elapsedNs) / 1e9)
    }
}
