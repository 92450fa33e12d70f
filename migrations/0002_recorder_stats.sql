-- memjournal journal file format, schema 2: recorder statistics.
--
-- Schema 1 journals have no record of how the recorder kept up; migrating one
-- adds the table with a single row of NULLs ("not measured").

-- recorder_stats: exactly one row (id = 1), rewritten by the recorder with
-- every batch it commits, so a killed run still shows how far it got.
CREATE TABLE recorder_stats (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    -- Capacity of the recorder's queue, in items (transactions and faults).
    queue_capacity      INTEGER CHECK (queue_capacity > 0),
    -- Producer stalls: times a committing thread or vCPU found the queue full and
    -- waited for the writer (the queue-full policy: block, count, never drop).
    queue_stalls        INTEGER CHECK (queue_stalls >= 0),
    -- Total time producers spent stalled (u64 ns).
    queue_stall_ns      INTEGER,
    -- Batches committed and the largest batch, in items.
    batches             INTEGER CHECK (batches >= 0),
    max_batch           INTEGER CHECK (max_batch >= 0),
    -- Highest transaction sequence whose outcome is committed (u64), or NULL.
    last_sequence       INTEGER
) STRICT;

INSERT INTO recorder_stats (id) VALUES (1);

PRAGMA user_version = 2;
