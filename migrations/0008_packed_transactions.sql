-- memjournal journal file format, schema 8: one row per transaction.
--
-- Schema 7 stored a transaction as a row of `transactions`, a row of `sections`
-- per section change, a row of `slot_ops` per slot operation and a row of
-- `slot_table_digests`: ~159 bytes per slot operation, two thirds of them SQLite's
-- per-row overhead and repeated values. Schema 8 keeps one `transactions` row per
-- transaction, with its section changes and slot operations packed into two BLOB
-- columns (layout below), region names interned in `region_names`, the digest as
-- two columns, the overlap ranges dropped (they are the ranges of the sections the
-- two indices name) and the hash-chain links stored as their first 16 bytes.
-- (The same 5,000-transaction benchmark journal: 158.7 → under 64 bytes per slot
-- operation; BENCHMARKS.md.)
--
-- The packed columns are not readable in the plain sqlite3 shell; every scalar of
-- a transaction still is (the views below use only those), and
-- `memjournal inspect J show N` or `memjournal export` give the whole record.
--
-- Migration from schema 7: this file renames the old `transactions` table to
-- `transactions_v7` and creates the new tables; then the program's data step
-- (`Migrations.dataSteps[8]`, Sources/JournalStore/Schema8Conversion.swift) fills
-- `region_names` and `transactions` from the old tables, transaction by
-- transaction, and drops `transactions_v7`, `sections`, `slot_ops` and
-- `slot_table_digests`. Both run in one SQLite transaction. An old row that does
-- not fit (an unknown kind, a range that ends below its start, overlap ranges that
-- are not those of the sections they name) stops the migration, naming the
-- transaction; the journal it came from is never modified (older journals are
-- migrated on a copy). `memjournal export` of a journal before and after this
-- migration is byte-identical (Tests/JournalFormatsTests/Schema8MigrationTests.swift).
--
-- Packed layout. Integers are unsigned LEB128 varints (7 bits per byte, least
-- significant first, high bit set on every byte but the last; at most 10 bytes).
-- "Extent" is last − start of an inclusive guest range (so a range of all 2^64
-- bytes is start 0, extent 2^64 − 1). A zero-length BLOB is an empty list.
--
--   transactions.sections: one record per section change, in arrival order:
--     byte     bits 0-2 change: 0 delete, 1 add, 2 nop, 3 log_start, 4 log_stop
--              bits 3-4 region kind: 0 ram, 1 rom, 2 rom_device, 3 mmio
--              bit 5 read_only, bit 6 romd, bit 7 dirty_log
--     varint   region_names.id × 4 + 2 if the section has host memory
--              + 1 if it is page-scaled (below)
--     varint   start, varint extent
--     (host memory only) varint backing id (u32), varint backing offset
--     Page-scaled: start, last + 1 and the backing offset are multiples of 4096;
--     start, extent and offset are then stored shifted right by 12 (the extent of
--     a scaled range is last − start = 4096·k − 1, stored as k − 1).
--
--   transactions.slot_ops: one record per slot operation, in issue order; NULL
--   while the transaction is cut off:
--     byte     bits 0-2 kind: 0 create, 1 delete, 2 move, 3 flags, 4 dirty_log
--              bit 3 copies a section: its range and host memory are those of a
--                section of this transaction (the first one with both equal)
--              bit 4 errno ≠ 0
--              bits 5-6 the KVM_MEM_* flags when below 3; 3 = a flags varint follows
--              bit 7 reserved, 0
--     varint   slot id (u32: index in bits 0-15, address-space id in bits 16-31)
--     bit 3:   varint section ordinal (from 0)
--     else:    varint start, varint extent, varint backing id (u32), varint offset
--     (bits 5-6 = 3) varint flags (u32)
--     (bit 4)  varint errno, zigzag-encoded (n ≥ 0 → 2n, n < 0 → −2n − 1)
--     varint   duration of the call (u64 ns)

PRAGMA legacy_alter_table = ON; -- drain_timeouts and capture_exits keep naming `transactions`

DROP VIEW transaction_summary;
DROP VIEW cut_off_transactions;
DROP VIEW failed_slot_ops;
DROP VIEW overlapping_transactions;
DROP VIEW drain_timeout_summary;

ALTER TABLE transactions RENAME TO transactions_v7;

-- region_names: each distinct region name, once; sections name regions by id.
CREATE TABLE region_names (
    -- From 0, in order of first use.
    id                  INTEGER PRIMARY KEY CHECK (id >= 0),
    name                TEXT    NOT NULL UNIQUE
) STRICT;

-- transactions: one row per memory-listener transaction that changed something.
-- Written in two steps as before: the intent columns (sequence … sections), then
-- in a later SQLite transaction the outcome columns (commit_ns … timing_chain).
-- outcome IS NULL means the transaction was CUT OFF (see schema 1).
CREATE TABLE transactions (
    -- Position in the machine's history, from 1, across all address spaces (u64).
    sequence            INTEGER PRIMARY KEY,
    -- Address-space id of the listener that committed it.
    as_id               INTEGER NOT NULL CHECK (as_id BETWEEN 0 AND 65535),
    -- CLOCK_MONOTONIC at the listener's begin (u64 ns).
    begin_ns            INTEGER NOT NULL,
    -- 1 if some deleted section overlaps some added one (atomicity needed), else 0.
    overlaps            INTEGER NOT NULL CHECK (overlaps IN (0, 1)),
    -- The first overlapping pair the merge walk met, NULL when overlaps = 0: index
    -- among the transaction's deletes and among its adds (arrival order, counting
    -- only sections of that kind). Their ranges are those sections' ranges.
    overlap_delete_index INTEGER CHECK (overlap_delete_index >= 0),
    overlap_add_index   INTEGER CHECK (overlap_add_index >= 0),
    -- The section changes, packed (layout above).
    sections            BLOB    NOT NULL,
    -- CLOCK_MONOTONIC at the end of the listener's commit (u64 ns; NULL while cut off).
    commit_ns           INTEGER,
    -- NULL = cut off; 'ok' when every slot operation succeeded, 'failed' when one
    -- returned an errno.
    outcome             TEXT    CHECK (outcome IN ('ok', 'failed')),
    -- Inhibit and timings, as in schema 1 (u64 ns).
    inhibited           INTEGER CHECK (inhibited IN (0, 1)),
    drain_ns            INTEGER,
    apply_ns            INTEGER,
    inhibit_ns          INTEGER,
    vcpus_kicked        INTEGER CHECK (vcpus_kicked >= 0),
    -- The slot operations, packed (layout above).
    slot_ops            BLOB,
    -- The listener's slot table after the transaction: slots installed in its
    -- address space and their order-independent hash (u64; see schema 1's
    -- slot_table_digests).
    slot_count          INTEGER CHECK (slot_count >= 0),
    slot_hash           INTEGER,
    -- Hash-chain links (schema 5), their first 16 bytes. The chain itself runs on
    -- the full 32-byte links, recomputed by `verify`; the seal stays 32 bytes.
    chain               BLOB    CHECK (chain IS NULL OR length(chain) = 16),
    timing_chain        BLOB    CHECK (timing_chain IS NULL OR length(timing_chain) = 16),
    CHECK (overlaps = (overlap_delete_index IS NOT NULL)),
    CHECK ((overlap_delete_index IS NULL) = (overlap_add_index IS NULL)),
    CHECK ((outcome IS NULL) = (commit_ns IS NULL)
       AND (outcome IS NULL) = (inhibited IS NULL)
       AND (outcome IS NULL) = (drain_ns IS NULL)
       AND (outcome IS NULL) = (apply_ns IS NULL)
       AND (outcome IS NULL) = (inhibit_ns IS NULL)
       AND (outcome IS NULL) = (vcpus_kicked IS NULL)
       AND (outcome IS NULL) = (slot_ops IS NULL)
       AND (outcome IS NULL) = (slot_count IS NULL)
       AND (outcome IS NULL) = (slot_hash IS NULL))
) STRICT;

-- Views for the common questions (plain sqlite3 shell; u64 shown in hex).

-- One line per transaction.
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
       t.slot_count,
       (SELECT count(*) FROM faults f WHERE f.transaction_in_flight = t.sequence) AS faults
FROM transactions t;

-- Transactions whose outcome never reached the disk.
CREATE VIEW cut_off_transactions AS
SELECT sequence, as_id, begin_ns, overlaps FROM transactions WHERE outcome IS NULL;

-- Transactions in which a slot operation failed (`memjournal inspect J show N`
-- names the operation and its errno).
CREATE VIEW failed_transactions AS
SELECT sequence, as_id, inhibited, slot_count FROM transactions WHERE outcome = 'failed';

-- Overlapping transactions and the pair (delete index, add index) that made them overlap.
CREATE VIEW overlapping_transactions AS
SELECT sequence, as_id, inhibited, inhibit_ns, overlap_delete_index, overlap_add_index
FROM transactions WHERE overlaps = 1;

CREATE VIEW drain_timeout_summary AS
    SELECT t.sequence, t.as_id, d.vcpus, d.vm_ioctls, t.drain_ns, t.inhibit_ns
    FROM drain_timeouts d JOIN transactions t USING (sequence)
    ORDER BY t.sequence;

PRAGMA legacy_alter_table = OFF;
PRAGMA user_version = 8;
