-- memjournal journal file format, schema 6: a comment for people.
--
-- Words about where a history came from, e.g. what `memjournal reduce` reduced
-- it from and the failure it keeps. It travels with the history: the canonical
-- JSONL form carries it as its optional top-level "comment" key, and an import
-- writes it here, so export(import(F)) is F again for a reduced fixture too.
-- When present it is part of the header's identity, and so of the hash chain's
-- start (Sources/JournalStore/HashChain.swift): editing it breaks the chain.
-- Journals from schema 5 and older are migrated with it NULL (their chain
-- starts are unchanged: an absent comment adds no bytes).

-- NULL, or 1 to 65,536 characters of text.
ALTER TABLE journal_header ADD COLUMN comment TEXT CHECK (comment IS NULL OR length(comment) BETWEEN 1 AND 65536);

PRAGMA user_version = 6;
