import Benchmark

/// Every benchmark of BENCHMARKS.md, each next to its reference point.
let benchmarks: @Sendable () -> Void = {
    inhibitLatencyBenchmarks()
    inhibitBaselineBenchmarks()
    atomicityBenchmarks()
    recordingCostBenchmarks()
    recorderThroughputBenchmarks()
    scalingBenchmarks()
    replayThroughputBenchmarks()
    journalSizeBenchmarks()
    verifyThroughputBenchmarks()
    reduceAndDiffBenchmarks()
    realVMMRecordingBenchmarks()
}
