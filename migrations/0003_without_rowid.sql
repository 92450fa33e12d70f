-- memjournal journal file format, schema 3: compact child tables.
--
-- sections and slot_ops are keyed by (sequence, ordinal). As rowid tables they
-- kept that key twice — in the table and in an automatic unique index — which was
-- about a fifth of a journal. Schema 3 stores both as WITHOUT ROWID tables, whose
-- b-tree is the primary key itself. Columns, meanings and constraints are exactly
-- those of schema 1 (see 0001_initial.sql); only the storage changes. Migrating
-- copies the rows into the new tables; the views keep referring to the tables by
-- name (the renames run with legacy_alter_table, which leaves views untouched).

PRAGMA legacy_alter_table = ON;

CREATE TABLE sections_v3 (
    sequence            INTEGER NOT NULL REFERENCES transactions (sequence),
    ordinal             INTEGER NOT NULL CHECK (ordinal >= 0),
    kind                TEXT    NOT NULL CHECK (kind IN ('delete', 'add', 'nop', 'log_start', 'log_stop')),
    start               INTEGER NOT NULL,
    last                INTEGER NOT NULL,
    region_name         TEXT    NOT NULL,
    region_kind         TEXT    NOT NULL CHECK (region_kind IN ('ram', 'rom', 'rom_device', 'mmio')),
    backing_id          INTEGER,
    backing_offset      INTEGER,
    read_only           INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    romd                INTEGER NOT NULL CHECK (romd IN (0, 1)),
    dirty_log           INTEGER NOT NULL CHECK (dirty_log IN (0, 1)),
    PRIMARY KEY (sequence, ordinal),
    CHECK ((backing_id IS NULL) = (backing_offset IS NULL))
) STRICT, WITHOUT ROWID;

INSERT INTO sections_v3 SELECT sequence, ordinal, kind, start, last, region_name, region_kind, backing_id,
    backing_offset, read_only, romd, dirty_log FROM sections;
DROP TABLE sections;
ALTER TABLE sections_v3 RENAME TO sections;

CREATE TABLE slot_ops_v3 (
    sequence            INTEGER NOT NULL REFERENCES transactions (sequence),
    ordinal             INTEGER NOT NULL CHECK (ordinal >= 0),
    kind                TEXT    NOT NULL CHECK (kind IN ('create', 'delete', 'move', 'flags', 'dirty_log')),
    slot_id             INTEGER NOT NULL CHECK (slot_id BETWEEN 0 AND 4294967295),
    start               INTEGER NOT NULL,
    last                INTEGER NOT NULL,
    backing_id          INTEGER NOT NULL,
    backing_offset      INTEGER NOT NULL,
    flags               INTEGER NOT NULL CHECK (flags BETWEEN 0 AND 4294967295),
    errno               INTEGER NOT NULL,
    duration_ns         INTEGER NOT NULL,
    PRIMARY KEY (sequence, ordinal)
) STRICT, WITHOUT ROWID;

INSERT INTO slot_ops_v3 SELECT sequence, ordinal, kind, slot_id, start, last, backing_id, backing_offset, flags,
    errno, duration_ns FROM slot_ops;
DROP TABLE slot_ops;
ALTER TABLE slot_ops_v3 RENAME TO slot_ops;

PRAGMA legacy_alter_table = OFF;

PRAGMA user_version = 3;
