#if canImport(Glibc)
import Glibc
#endif
import Memslots
import Sync

/// A one-line progress display for long runs, on standard error, only when it is
/// a terminal and the output is not JSON; redrawn at most every 200 ms.
final class ProgressLine {
    private let enabled: Bool
    private var lastDrawNs: UInt64 = 0
    private var drawn = false

    init(json: Bool) {
        enabled = !json && isatty(2) == 1
    }

    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = MonotonicClock.now()
        guard now - lastDrawNs >= 200_000_000 else { return }
        lastDrawNs = now
        write("\r\u{1B}[K" + text())
        drawn = true
    }

    /// Clears the line before the result is printed.
    func finish() {
        guard enabled, drawn else { return }
        write("\r\u{1B}[K")
    }

    private func write(_ text: String) {
        var standardError = StandardError()
        print(text, terminator: "", to: &standardError)
    }
}
