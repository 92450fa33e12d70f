/// One range of a flat view together with the region that terminates it.
///
/// Two flat ranges are *identical* (QEMU's `flatrange_equal`) when they cover the
/// same addresses of the same region at the same offset with the same read-only
/// and ROMD attributes; the dirty-log flag is not part of identity — a change of
/// it alone is a `log_start`/`log_stop`, not a delete plus an add.
struct FlatRange: ViewPiece {
    var range: GuestRange
    let region: MemoryRegion
    var offsetInRegion: UInt64
    let readOnly: Bool
    let romd: Bool
    let dirtyLog: Bool

    func isIdentical(to other: FlatRange) -> Bool {
        range == other.range && region === other.region && offsetInRegion == other.offsetInRegion
            && readOnly == other.readOnly && romd == other.romd
    }

    /// Whether `next` continues this range so that the two can be one range.
    func canMerge(with next: FlatRange) -> Bool {
        guard region === next.region, readOnly == next.readOnly, romd == next.romd,
              dirtyLog == next.dirtyLog, range.isImmediatelyFollowed(by: next.range),
              let length = range.size else { return false }
        let (expected, overflow) = offsetInRegion.addingReportingOverflow(length)
        return !overflow && expected == next.offsetInRegion
    }

    var section: MemorySection {
        let kind = region.kind ?? .mmio
        var backing: BackingLocation?
        switch region.content {
        case .memory(let location), .romDevice(let location):
            backing = BackingLocation(backing: location.backing, offset: location.offset &+ offsetInRegion)
        default:
            backing = nil
        }
        let isROMD = kind == .romDevice ? romd : false
        return MemorySection(
            range: range, regionName: region.name, kind: kind, backing: backing,
            readOnly: readOnly, romd: isROMD, dirtyLog: dirtyLog)
    }
}

/// The flattened form of a region tree: sorted, disjoint ranges, each mapped to
/// the highest-priority region that covers it, adjacent compatible ranges merged.
struct FlatView {
    private(set) var ranges: [FlatRange] = []

    init() {}

    /// Renders the tree under `root` (QEMU's `generate_memory_topology`).
    init(root: MemoryRegion) {
        guard let all = try? GuestRange(start: 0, last: .max) else { return }
        render(root, base: 0, clip: all, readOnly: false)
        simplify()
    }

    /// Renders `region` placed at `base` (which may lie below 0 for aliases, hence
    /// `Int128`), clipped to `clip`. Subregions go first in priority order, so a
    /// lower-priority region only fills the gaps left by higher ones.
    private mutating func render(_ region: MemoryRegion, base: Int128, clip: GuestRange, readOnly: Bool) {
        guard region.isEnabled else { return }
        let regionStart = max(base, 0)
        let regionLast = min(base + Int128(region.size) - 1, Int128(UInt64.max))
        guard regionLast >= regionStart,
              let own = try? GuestRange(start: UInt64(regionStart), last: UInt64(regionLast)),
              let visible = own.intersection(clip) else { return }
        let readOnly = readOnly || region.readOnly

        switch region.content {
        case .alias(let target, let offset):
            render(target, base: base - Int128(offset), clip: visible, readOnly: readOnly)
            return
        default:
            break
        }
        for child in region.subregions {
            render(child, base: base + Int128(child.address), clip: visible, readOnly: readOnly)
        }
        if case .container = region.content { return }

        let piece = FlatRange(
            range: visible, region: region, offsetInRegion: UInt64(Int128(visible.start) - base),
            readOnly: readOnly, romd: region.romd, dirtyLog: region.dirtyLog)
        fillGaps(with: piece)
    }

    /// Inserts the parts of `piece` not yet covered by higher-priority ranges.
    private mutating func fillGaps(with piece: FlatRange) {
        var cursor = piece.range.start
        let last = piece.range.last
        // First range that ends at or after the piece's start.
        var index = firstIndex(endingAtOrAfter: cursor)
        var done = false
        while !done {
            let gapLast: UInt64
            if index < ranges.count, ranges[index].range.start <= last {
                let next = ranges[index].range
                if next.start > cursor {
                    gapLast = next.start - 1
                } else {
                    // Covered: skip past this range.
                    if next.last >= last { return }
                    cursor = next.last + 1
                    index += 1
                    continue
                }
            } else {
                gapLast = last
                done = true
            }
            var gap = piece
            gap.range = GuestRange(unchecked: cursor, last: gapLast)
            gap.offsetInRegion = piece.offsetInRegion + (cursor - piece.range.start)
            ranges.insert(gap, at: index)
            index += 1
            if gapLast == last { return }
            cursor = gapLast + 1
        }
    }

    private func firstIndex(endingAtOrAfter address: UInt64) -> Int {
        var low = 0, high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].range.last < address { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Merges adjacent ranges that continue each other (QEMU's `flatview_simplify`).
    private mutating func simplify() {
        guard ranges.count > 1 else { return }
        var merged: [FlatRange] = []
        merged.reserveCapacity(ranges.count)
        for range in ranges {
            if let lastIndex = merged.indices.last, merged[lastIndex].canMerge(with: range) {
                merged[lastIndex].range = GuestRange(unchecked: merged[lastIndex].range.start, last: range.range.last)
            } else {
                merged.append(range)
            }
        }
        ranges = merged
    }
}
