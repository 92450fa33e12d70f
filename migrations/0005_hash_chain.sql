-- memjournal journal file format, schema 5: the hash chain.
--
-- A journal is evidence in a post-mortem, so it must show when it was edited.
-- Every value below is a SHA-256 digest (a 32-byte BLOB); the bytes hashed are
-- defined once, in Sources/JournalStore/HashChain.swift ("Canonical bytes"), and
-- `memjournal inspect J verify` recomputes every one of them.
--
--   chain start  = SHA-256("memjournal chain 1" | the header's identity: every
--                  journal_header column up to durability)
--   link k       = SHA-256(link k-1 | the canonical content of transaction k:
--                  address space, sections, decision, outcome, inhibited, vCPUs
--                  kicked, slot operations with their results, digest, drain
--                  timeout), link 0 being the chain start; likewise a separate
--                  timing chain over the measured times (begin, commit, drain,
--                  apply, inhibit, each operation's duration), so a timing edit
--                  is caught and named as one
--   fault link k = the same two chains over faults, in id order
--   seal         = SHA-256 over the four last links, the counts and the
--                  configuration hash, written with the clean close
--
-- Transactions are chained in sequence order, complete ones only (a cut-off
-- transaction has no outcome to hash). Journals from schema 4 and older are
-- migrated with every chain value NULL: they read as before and are reported
-- "unchained".

-- Where the chain starts (NULL: an unchained journal).
ALTER TABLE journal_header ADD COLUMN chain_start BLOB CHECK (chain_start IS NULL OR length(chain_start) = 32);
-- SHA-256 over the chain start and the backings and regions rows, written with them.
ALTER TABLE journal_header ADD COLUMN config_hash BLOB CHECK (config_hash IS NULL OR length(config_hash) = 32);
-- Written with the clean close: the seal, and how many transactions (complete
-- ones) and faults it covers.
ALTER TABLE journal_header ADD COLUMN seal BLOB CHECK (seal IS NULL OR length(seal) = 32);
ALTER TABLE journal_header ADD COLUMN sealed_transactions INTEGER CHECK (sealed_transactions >= 0);
ALTER TABLE journal_header ADD COLUMN sealed_faults INTEGER CHECK (sealed_faults >= 0);

-- Link of the content chain and of the timing chain; NULL while cut off.
ALTER TABLE transactions ADD COLUMN chain BLOB CHECK (chain IS NULL OR length(chain) = 32);
ALTER TABLE transactions ADD COLUMN timing_chain BLOB CHECK (timing_chain IS NULL OR length(timing_chain) = 32);

-- The same for faults.
ALTER TABLE faults ADD COLUMN chain BLOB CHECK (chain IS NULL OR length(chain) = 32);
ALTER TABLE faults ADD COLUMN timing_chain BLOB CHECK (timing_chain IS NULL OR length(timing_chain) = 32);

PRAGMA user_version = 5;
