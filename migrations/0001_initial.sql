-- memjournal journal file format, schema 1.
--
-- A journal is an SQLite database (WAL mode while it is being written) that
-- records the memory-topology transactions of one VMM run. This file is the only
-- definition of the schema: the program embeds it at build time and applies it
-- to a new journal; later migrations/NNNN_*.sql files are applied in order to
-- bring older journals up to date.
--
-- Identification (database header, see https://sqlite.org/fileformat.html):
--   application_id (offset 68) = 0x4D4A524E, the ASCII bytes "MJRN".
--   user_version   (offset 60) = the number of the last migration applied.
-- A file with another application_id is not a journal and is never modified.
--
-- Conventions used by every table:
--   * u64 columns hold unsigned 64-bit values (guest-physical addresses,
--     nanosecond times, sizes, hashes) as their two's-complement bit pattern in
--     SQLite's signed 64-bit INTEGER: values at or above 2^63 read back as
--     negative numbers. The program converts losslessly both ways
--     (Int64(bitPattern:) / UInt64(bitPattern:)). In the sqlite3 shell, show
--     them with printf('0x%x', column), which prints the unsigned pattern; the
--     views below already do.
--   * Guest ranges are stored as (first address, last address), both inclusive,
--     so a range ending at 2^64-1 is representable; size = last - start + 1.
--   * Booleans are INTEGER 0 or 1 (enforced by CHECK).
--   * Times named *_ns are CLOCK_MONOTONIC nanoseconds of the recording host,
--     comparable only within one journal; *_unix_ns columns are wall-clock.
--   * Host addresses are never stored: host memory is named by (backing id,
--     byte offset into that backing), so a journal replays in a fresh process.
--   * Enumerations are lower-case TEXT restricted by CHECK.

PRAGMA application_id = 1296716366; -- 0x4D4A524E "MJRN"

-- journal_header: exactly one row (id = 1), written when recording starts.
CREATE TABLE journal_header (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    -- Version string of the memjournal binary that wrote the journal.
    tool_version        TEXT    NOT NULL,
    -- Wall-clock time the journal was created (u64, ns since the Unix epoch).
    created_unix_ns     INTEGER NOT NULL,
    -- uname(2) of the recording host: "sysname release version machine".
    host_kernel         TEXT    NOT NULL,
    -- Backend the transactions were applied to: 'kvm' (a real VM) or 'sim'.
    backend             TEXT    NOT NULL CHECK (backend IN ('kvm', 'sim')),
    -- KVM_GET_API_VERSION; NULL for the simulated backend.
    kvm_api_version     INTEGER,
    -- KVM_CHECK_EXTENSION results; NULL for the simulated backend.
    -- KVM_CAP_NR_MEMSLOTS: usable slots per address space.
    kvm_cap_nr_memslots INTEGER,
    -- KVM_CAP_READONLY_MEM: 0 or 1.
    kvm_cap_readonly_mem INTEGER CHECK (kvm_cap_readonly_mem IN (0, 1)),
    -- KVM_CAP_IMMEDIATE_EXIT: 0 or 1.
    kvm_cap_immediate_exit INTEGER CHECK (kvm_cap_immediate_exit IN (0, 1)),
    -- KVM_CAP_MULTI_ADDRESS_SPACE: number of address spaces (2 on x86 with SMM).
    kvm_cap_multi_address_space INTEGER,
    -- Limits the listener used, whatever the backend:
    -- slots per address space,
    max_slots           INTEGER NOT NULL CHECK (max_slots > 0),
    -- the largest slot in bytes (u64; a section larger than this is split),
    max_slot_size       INTEGER NOT NULL,
    -- the page size in bytes (slot alignment).
    page_size           INTEGER NOT NULL CHECK (page_size > 0),
    -- Whether the backend accepts read-only slots (KVM_MEM_READONLY): 0 or 1.
    readonly_slots      INTEGER NOT NULL CHECK (readonly_slots IN (0, 1)),
    -- Number of vCPUs running while the topology changed.
    vcpus               INTEGER NOT NULL CHECK (vcpus >= 0),
    -- How the inhibitor waited for in-flight ioctls: 'event' or 'spin'.
    wait_strategy       TEXT    NOT NULL CHECK (wait_strategy IN ('event', 'spin')),
    -- 1 if overlapping transactions inhibited ioctls, 0 for --no-inhibit runs.
    inhibit             INTEGER NOT NULL CHECK (inhibit IN (0, 1)),
    -- Built-in scenario name (e.g. 'pam'), or NULL for imported histories.
    scenario            TEXT,
    -- Seed of the scenario's choices (u64), or NULL.
    seed                INTEGER,
    -- The recording command line as a JSON array of strings (argv).
    -- (Not CHECKed with json_valid: journals are opened with trusted_schema=OFF,
    -- under which schema objects may not call json functions.)
    command_line        TEXT    NOT NULL,
    -- 'normal' (synchronous=NORMAL: a committed batch survives a process crash)
    -- or 'full' (synchronous=FULL: it also survives a host crash).
    durability          TEXT    NOT NULL CHECK (durability IN ('normal', 'full')),
    -- 0 while recording; set to 1 in the last write, after every queued
    -- transaction was written. A journal left at 0 was cut short (crash, kill):
    -- its tail may be missing and some transactions may be cut off (see
    -- transactions.outcome).
    clean_close         INTEGER NOT NULL DEFAULT 0 CHECK (clean_close IN (0, 1)),
    -- Wall-clock time of the clean close (u64 ns since the epoch), else NULL.
    closed_unix_ns      INTEGER
) STRICT;

-- backings: the blocks of host memory guest memory lives in.
CREATE TABLE backings (
    -- Backing id (u32), as named by sections and slot operations.
    id                  INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 4294967295),
    -- Size in bytes (u64).
    size                INTEGER NOT NULL,
    -- How host memory is provided: 'anonymous' mapping or 'memfd'.
    kind                TEXT    NOT NULL CHECK (kind IN ('anonymous', 'memfd'))
) STRICT;

-- regions: the VM's memory configuration when recording started — the flat
-- view of each address space, one row per section, in address order.
CREATE TABLE regions (
    -- Address-space id (0 = memory, 1 = SMM on x86).
    as_id               INTEGER NOT NULL CHECK (as_id BETWEEN 0 AND 65535),
    -- Position in the address space's flat view, from 0.
    ordinal             INTEGER NOT NULL CHECK (ordinal >= 0),
    -- Guest-physical range [start, last] (u64 each).
    start               INTEGER NOT NULL,
    last                INTEGER NOT NULL,
    -- Name of the memory region the section belongs to (e.g. 'pc.ram').
    region_name         TEXT    NOT NULL,
    -- 'ram', 'rom', 'rom_device' or 'mmio'.
    region_kind         TEXT    NOT NULL CHECK (region_kind IN ('ram', 'rom', 'rom_device', 'mmio')),
    -- Host memory of the first byte: backing id and offset (u64); both NULL for MMIO.
    backing_id          INTEGER,
    backing_offset      INTEGER,
    -- Attributes: read-only, ROMD mode (ROM devices), dirty logging. 0 or 1.
    read_only           INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    romd                INTEGER NOT NULL CHECK (romd IN (0, 1)),
    dirty_log           INTEGER NOT NULL CHECK (dirty_log IN (0, 1)),
    PRIMARY KEY (as_id, ordinal),
    CHECK ((backing_id IS NULL) = (backing_offset IS NULL))
) STRICT;

-- transactions: one row per memory-listener transaction that changed something.
--
-- Written in two steps (see "Crash safety" in Sources/Journal/JournalRecorder.swift):
-- the intent columns (sequence … overlap_add_last) and the sections first; then,
-- in a later SQLite transaction, the outcome columns, slot operations and digest.
-- outcome IS NULL therefore means the transaction was CUT OFF: its intent reached
-- the disk, its outcome did not (the recording process died in between).
CREATE TABLE transactions (
    -- Position in the machine's history, from 1, across all address spaces (u64).
    sequence            INTEGER PRIMARY KEY,
    -- Address-space id of the listener that committed it.
    as_id               INTEGER NOT NULL CHECK (as_id BETWEEN 0 AND 65535),
    -- CLOCK_MONOTONIC at the listener's begin (u64 ns).
    begin_ns            INTEGER NOT NULL,
    -- 1 if some deleted section overlaps some added one (atomicity needed), else 0.
    overlaps            INTEGER NOT NULL CHECK (overlaps IN (0, 1)),
    -- The first overlapping pair the merge walk met, NULL when overlaps = 0:
    -- index among the transaction's deletes and among its adds (arrival order,
    -- counting only sections of that kind), and the two guest ranges (u64).
    overlap_delete_index INTEGER,
    overlap_add_index   INTEGER,
    overlap_delete_start INTEGER,
    overlap_delete_last INTEGER,
    overlap_add_start   INTEGER,
    overlap_add_last    INTEGER,
    -- CLOCK_MONOTONIC at the end of the listener's commit (u64 ns; NULL while cut off).
    commit_ns           INTEGER,
    -- Outcome. NULL = cut off. 'ok' when every slot operation succeeded,
    -- 'failed' when at least one returned an errno.
    outcome             TEXT    CHECK (outcome IN ('ok', 'failed')),
    -- 1 if ioctls were inhibited for this transaction (NULL while cut off).
    inhibited           INTEGER CHECK (inhibited IN (0, 1)),
    -- Kick to quiescence: from locking the ioctl counters until none was in flight (u64 ns).
    drain_ns            INTEGER,
    -- The critical section: applying every delete then every add (u64 ns).
    apply_ns            INTEGER,
    -- The whole inhibit, from locking the counters until they were released (u64 ns).
    inhibit_ns          INTEGER,
    -- Distinct vCPUs kicked out of KVM_RUN.
    vcpus_kicked        INTEGER CHECK (vcpus_kicked >= 0),
    CHECK (overlaps = (overlap_delete_index IS NOT NULL)),
    CHECK ((overlap_delete_index IS NULL) = (overlap_add_index IS NULL)
       AND (overlap_delete_index IS NULL) = (overlap_delete_start IS NULL)
       AND (overlap_delete_index IS NULL) = (overlap_delete_last IS NULL)
       AND (overlap_delete_index IS NULL) = (overlap_add_start IS NULL)
       AND (overlap_delete_index IS NULL) = (overlap_add_last IS NULL)),
    CHECK ((outcome IS NULL) = (commit_ns IS NULL)
       AND (outcome IS NULL) = (inhibited IS NULL)
       AND (outcome IS NULL) = (drain_ns IS NULL)
       AND (outcome IS NULL) = (apply_ns IS NULL)
       AND (outcome IS NULL) = (inhibit_ns IS NULL)
       AND (outcome IS NULL) = (vcpus_kicked IS NULL))
) STRICT;

-- sections: the listener callbacks of a transaction, in arrival order.
CREATE TABLE sections (
    sequence            INTEGER NOT NULL REFERENCES transactions (sequence),
    -- Position among the transaction's callbacks, from 0.
    ordinal             INTEGER NOT NULL CHECK (ordinal >= 0),
    -- region_del, region_add, region_nop, log_start, log_stop.
    kind                TEXT    NOT NULL CHECK (kind IN ('delete', 'add', 'nop', 'log_start', 'log_stop')),
    -- The section: guest range, region and host memory as in regions above.
    start               INTEGER NOT NULL,
    last                INTEGER NOT NULL,
    region_name         TEXT    NOT NULL,
    region_kind         TEXT    NOT NULL CHECK (region_kind IN ('ram', 'rom', 'rom_device', 'mmio')),
    -- Backing id (u32) and offset (u64) of the first byte; both NULL for MMIO.
    -- Not a foreign key: the initial mapping is committed while the machine is
    -- being built, before its backings are written. The reader checks instead.
    backing_id          INTEGER,
    backing_offset      INTEGER,
    read_only           INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    romd                INTEGER NOT NULL CHECK (romd IN (0, 1)),
    dirty_log           INTEGER NOT NULL CHECK (dirty_log IN (0, 1)),
    PRIMARY KEY (sequence, ordinal),
    CHECK ((backing_id IS NULL) = (backing_offset IS NULL))
) STRICT;

-- slot_ops: the memslot operations a transaction issued, in order, with results.
-- Each is one KVM_SET_USER_MEMORY_REGION (or KVM_GET_DIRTY_LOG) call.
CREATE TABLE slot_ops (
    sequence            INTEGER NOT NULL REFERENCES transactions (sequence),
    -- Position among the transaction's operations, from 0.
    ordinal             INTEGER NOT NULL CHECK (ordinal >= 0),
    -- What KVM made of the call: 'create', 'delete', 'move', 'flags', or
    -- 'dirty_log' (bitmap fetched before deleting a dirty-logged slot).
    kind                TEXT    NOT NULL CHECK (kind IN ('create', 'delete', 'move', 'flags', 'dirty_log')),
    -- KVM slot id (u32): index in bits 0-15, address-space id in bits 16-31.
    slot_id             INTEGER NOT NULL CHECK (slot_id BETWEEN 0 AND 4294967295),
    -- The slot's guest range (u64 each); for a delete, the range removed.
    start               INTEGER NOT NULL,
    last                INTEGER NOT NULL,
    -- Host memory: backing id (u32) and byte offset (u64). Never a raw address.
    backing_id          INTEGER NOT NULL,
    backing_offset      INTEGER NOT NULL,
    -- KVM_MEM_* flags (u32): bit 0 LOG_DIRTY_PAGES, bit 1 READONLY; others kept whole.
    flags               INTEGER NOT NULL CHECK (flags BETWEEN 0 AND 4294967295),
    -- 0 on success, else the errno returned (e.g. 17 EEXIST, 22 EINVAL).
    errno               INTEGER NOT NULL,
    -- Duration of the call (u64 ns).
    duration_ns         INTEGER NOT NULL,
    PRIMARY KEY (sequence, ordinal)
) STRICT;

-- slot_table_digests: the listener's slot table after each transaction.
-- Written with the outcome; missing for a cut-off transaction.
CREATE TABLE slot_table_digests (
    sequence            INTEGER PRIMARY KEY REFERENCES transactions (sequence),
    -- Number of slots installed in the transaction's address space.
    slot_count          INTEGER NOT NULL CHECK (slot_count >= 0),
    -- Order-independent hash (u64): the wrapping sum of a SplitMix64-chained
    -- hash of each slot's (id, start, last, backing, offset, flags). Equal
    -- tables have equal digests in every process.
    hash                INTEGER NOT NULL
) STRICT;

-- faults: spurious faults — a vCPU access that exited to userspace as MMIO
-- although the committed memory map said the address was memory.
CREATE TABLE faults (
    -- Order of arrival at the recorder, from 1.
    id                  INTEGER PRIMARY KEY,
    vcpu                INTEGER NOT NULL CHECK (vcpu >= 0),
    -- Guest-physical address accessed (u64).
    gpa                 INTEGER NOT NULL,
    -- 1 for a write, 0 for a read.
    is_write            INTEGER NOT NULL CHECK (is_write IN (0, 1)),
    -- CLOCK_MONOTONIC of the exit (u64 ns).
    time_ns             INTEGER NOT NULL,
    -- Sequence of the transaction whose slot operations were in progress, or
    -- NULL. Not a foreign key: a fault is reported while its transaction is
    -- still being applied, before the transaction's record exists.
    transaction_in_flight INTEGER
) STRICT;

CREATE INDEX faults_by_transaction ON faults (transaction_in_flight);

-- Views for the common questions (plain sqlite3 shell friendly; u64 shown in hex).

-- One line per transaction with counts and timings.
CREATE VIEW transaction_summary AS
SELECT t.sequence,
       t.as_id,
       coalesce(t.outcome, 'CUT OFF') AS outcome,
       t.overlaps,
       t.inhibited,
       t.inhibit_ns,
       t.drain_ns,
       t.apply_ns,
       t.vcpus_kicked,
       (SELECT count(*) FROM sections s WHERE s.sequence = t.sequence AND s.kind = 'delete') AS deletes,
       (SELECT count(*) FROM sections s WHERE s.sequence = t.sequence AND s.kind = 'add') AS adds,
       (SELECT count(*) FROM slot_ops o WHERE o.sequence = t.sequence) AS slot_ops,
       (SELECT count(*) FROM slot_ops o WHERE o.sequence = t.sequence AND o.errno <> 0) AS failed_ops,
       (SELECT count(*) FROM faults f WHERE f.transaction_in_flight = t.sequence) AS faults
FROM transactions t;

-- Transactions whose outcome never reached the disk.
CREATE VIEW cut_off_transactions AS
SELECT sequence, as_id, begin_ns, overlaps FROM transactions WHERE outcome IS NULL;

-- Slot operations that failed, with the errno.
CREATE VIEW failed_slot_ops AS
SELECT o.sequence, o.ordinal, o.kind, o.slot_id & 65535 AS slot, o.slot_id >> 16 AS as_id,
       printf('0x%x', o.start) AS start, printf('0x%x', o.last) AS last, o.errno
FROM slot_ops o WHERE o.errno <> 0;

-- Overlapping transactions and the pair that made them overlap.
CREATE VIEW overlapping_transactions AS
SELECT sequence, as_id, inhibited, inhibit_ns,
       printf('[0x%x, 0x%x]', overlap_delete_start, overlap_delete_last) AS deleted,
       printf('[0x%x, 0x%x]', overlap_add_start, overlap_add_last) AS added
FROM transactions WHERE overlaps = 1;

-- Spurious faults in readable form.
CREATE VIEW fault_report AS
SELECT f.id, f.vcpu, printf('0x%x', f.gpa) AS gpa, CASE f.is_write WHEN 1 THEN 'write' ELSE 'read' END AS access,
       f.transaction_in_flight, f.time_ns
FROM faults f;

PRAGMA user_version = 1;
