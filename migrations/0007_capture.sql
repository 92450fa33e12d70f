-- memjournal journal file format, schema 7: what a live capture saw of its VMM.
--
-- `memjournal capture` and `serve` record an unmodified VMM through an ioctl
-- interposer (docs/recording.md). Its memory-slot calls become transactions and
-- its spurious MMIO exits faults, in the tables every journal has. What else the
-- interposer reported lives here: who the VMM was, how its recording ended, the
-- exits that were not spurious (counted, not stored one by one) and the exit
-- records the interposer had to drop. A journal that was not captured has no row.
-- These rows are written when the VMM's recording starts and again when it ends;
-- they are not part of the hash chain (the transactions and faults are).

CREATE TABLE capture (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    -- The VMM process, as the kernel named it (SO_PEERCRED, /proc).
    vmm_pid               INTEGER NOT NULL CHECK (vmm_pid > 0),
    vmm_binary            TEXT    NOT NULL,
    -- The first line of `vmm_binary --version`, when it printed one.
    vmm_version           TEXT,
    -- How the recording ended: 'exited' (the VMM exited normally: it said goodbye),
    -- 'died' (its connection ended without a goodbye: a signal, _exit, a crash; its
    -- open transaction, if any, is cut off), 'recorder stopped' (the service was
    -- stopped first), 'bad record' (the service could not read a record and stopped
    -- there); NULL while recording, or when the service itself died.
    vmm_end               TEXT    CHECK (vmm_end IN ('exited', 'died', 'recorder stopped', 'bad record')),
    -- Records received from the interposer.
    records               INTEGER NOT NULL CHECK (records >= 0),
    -- KVM_RUN returns with KVM_EXIT_MMIO; those on RAM present before and after the
    -- transaction in flight are rows of `faults`, the rest device exits.
    mmio_exits            INTEGER NOT NULL CHECK (mmio_exits >= 0),
    device_exits          INTEGER NOT NULL CHECK (device_exits >= 0),
    -- KVM_RUN returns with KVM_EXIT_INTERNAL_ERROR (e.g. an instruction fetch from a
    -- GPA with no slot: the crash form of the same race).
    internal_errors       INTEGER NOT NULL CHECK (internal_errors >= 0),
    -- Exit records the interposer dropped because the socket was full (memory-slot
    -- records are never dropped while the recorder lives).
    dropped_exit_records  INTEGER NOT NULL CHECK (dropped_exit_records >= 0),
    -- KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG calls.
    dirty_log_calls       INTEGER NOT NULL CHECK (dirty_log_calls >= 0)
) STRICT;

-- Device exits and emulation failures counted against the transaction in flight (or
-- the last one begun before them); transactions with neither have no row.
CREATE TABLE capture_exits (
    sequence              INTEGER PRIMARY KEY REFERENCES transactions (sequence),
    device_exits          INTEGER NOT NULL CHECK (device_exits >= 0),
    internal_errors       INTEGER NOT NULL CHECK (internal_errors >= 0),
    CHECK (device_exits + internal_errors > 0)
) STRICT, WITHOUT ROWID;

PRAGMA user_version = 7;
