/// A vCPU access that exited to userspace as MMIO although the committed memory
/// map says the address is memory — the fault the atomic update prevents.
public struct SpuriousFault: Hashable, Sendable {
    public var vcpu: Int
    public var gpa: UInt64
    public var isWrite: Bool
    public var timeNs: UInt64
    /// Sequence of the transaction whose slot operations were in progress, if any.
    public var transactionInFlight: UInt64?

    public init(vcpu: Int, gpa: UInt64, isWrite: Bool, timeNs: UInt64, transactionInFlight: UInt64?) {
        self.vcpu = vcpu
        self.gpa = gpa
        self.isWrite = isWrite
        self.timeNs = timeNs
        self.transactionInFlight = transactionInFlight
    }
}
