import Testing
import TestSupport

/// The suites that run Debian's real QEMU, one test at a time across all of
/// them: each QEMU spins two vCPUs, and several suites' QEMUs at once on a
/// two-core machine measure the host's load rather than the recorder.
@Suite(.serialized, requiresKVM) enum LiveQEMU {}
