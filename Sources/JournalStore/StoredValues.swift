import MemoryModel

/// Checked reads of values as a journal's rows store them, shared by the reader
/// and the schema-8 migration (which reads schema 7's rows): a value outside its
/// domain is `Invalid`, which each caller turns into its own error.
enum StoredValues {
    /// What is wrong with a stored value, without the file (the caller names it).
    struct Invalid: Error {
        var detail: String
    }

    /// A section from the columns start, last, region_name, region_kind,
    /// backing_id, backing_offset, read_only, romd, dirty_log (a `regions` row, and
    /// a schema-7 `sections` row).
    static func section(_ r: Statement.Row, what: String) throws(Invalid) -> MemorySection {
        let kindText = r.text("region_kind")
        guard let kind = RegionKind(rawValue: kindText) else { throw Invalid(detail: "\(what): region kind '\(kindText)'") }
        let backing: BackingLocation? = r.isNull("backing_id")
            ? nil : BackingLocation(backing: try u32(r.int64("backing_id"), what), offset: r.u64("backing_offset"))
        return MemorySection(
            range: try range(r.u64("start"), r.u64("last"), what), regionName: r.text("region_name"), kind: kind,
            backing: backing, readOnly: r.bool("read_only"), romd: r.bool("romd"), dirtyLog: r.bool("dirty_log"))
    }

    static func range(_ start: UInt64, _ last: UInt64, _ what: String) throws(Invalid) -> GuestRange {
        do {
            return try GuestRange(start: start, last: last)
        } catch {
            throw Invalid(detail: "\(what): \(error)")
        }
    }

    static func u32(_ value: Int64, _ what: String) throws(Invalid) -> UInt32 {
        guard let v = UInt32(exactly: value) else { throw Invalid(detail: "\(what): \(value) is not a 32-bit unsigned value") }
        return v
    }
}
