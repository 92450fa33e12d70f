-- memjournal journal file format, schema 4: drain timeouts.
--
-- An inhibitor waits for every vCPU to leave KVM_RUN and every VM ioctl made
-- outside the topology lock to finish before it applies a transaction. A vCPU
-- blocked in the kernel on something only the topology-lock holder can provide
-- (a userfault its handler serves under that lock) never leaves, and the wait
-- would never end. With a drain deadline (`record --drain-timeout`, default
-- 10 s) the inhibitor stops waiting, keeps every counter locked (an idle vCPU
-- stays out), applies the transaction anyway — not atomically for the ioctls
-- still in flight — and the journal says so here. Everything else about the
-- transaction is in `transactions` as usual.

CREATE TABLE drain_timeouts (
    -- The transaction whose inhibit gave up waiting.
    sequence            INTEGER PRIMARY KEY REFERENCES transactions (sequence),
    -- JSON array of the vCPU indices still inside an ioctl at the deadline (as the
    -- inhibitor's last check saw them: one may have left a moment later), ascending.
    vcpus               TEXT    NOT NULL CHECK (vcpus LIKE '[%]'),
    -- VM ioctls (made outside the topology lock) still in flight at the deadline.
    vm_ioctls           INTEGER NOT NULL CHECK (vm_ioctls >= 0)
) STRICT;

-- Transactions applied after a drain timeout, for the sqlite3 shell.
CREATE VIEW drain_timeout_summary AS
    SELECT t.sequence, t.as_id, d.vcpus, d.vm_ioctls, t.drain_ns, t.inhibit_ns
    FROM drain_timeouts d JOIN transactions t USING (sequence)
    ORDER BY t.sequence;

PRAGMA user_version = 4;
