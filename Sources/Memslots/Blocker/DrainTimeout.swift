/// An inhibit whose drain gave up at its deadline (`record --drain-timeout`):
/// what its last check found inside an ioctl when the inhibitor stopped waiting.
/// The transaction was applied anyway, without atomicity for these — the
/// diagnosis of the case QEMU's
/// blocker turns into a hang (a vCPU blocked in the kernel on a userfault that
/// only the topology-lock holder could serve).
public struct DrainTimeout: Hashable, Sendable, CustomStringConvertible {
    /// vCPU indices found inside an ioctl by the inhibitor's last check, ascending.
    public var vcpus: [Int]
    /// VM ioctls (made outside the topology lock) in flight at that check.
    public var vmIoctls: Int

    public init(vcpus: [Int], vmIoctls: Int) {
        self.vcpus = vcpus
        self.vmIoctls = vmIoctls
    }

    public var description: String {
        let who = vcpus.isEmpty ? "no vCPU" : "vCPU " + vcpus.map(String.init).joined(separator: ", ")
        return "drain timeout: \(who) and \(vmIoctls) VM ioctl(s) still inside at the deadline; not atomic for them"
    }
}
