/// A set of vCPUs that run concurrently with topology changes — simulated
/// threads or real KVM vCPU threads.
public protocol VCPUDriver: AnyObject, Sendable {
    func start()
    /// Stops and joins every vCPU thread.
    func stop()
    var statistics: VCPUStatistics { get }
}
