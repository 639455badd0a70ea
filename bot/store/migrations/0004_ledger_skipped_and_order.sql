-- Days older than the catch-up window that were never begun are marked 'skipped' rather
-- than sent late, and due deliveries are read by index in the order they are sent
-- (due time, day, channel), however long the ledger grows. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt; no other table refers to it.

CREATE TABLE deliveries_rebuilt (
    channel_id    INTEGER NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,
    date          TEXT NOT NULL,             -- the Hot Papers day
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'sent', 'empty', 'failed', 'skipped')),
    digest_hash   TEXT REFERENCES digests(digest_hash),
    due_at        TEXT NOT NULL,             -- UTC, YYYY-MM-DDTHH:MM:SSZ
    parts_sent    INTEGER NOT NULL DEFAULT 0,
    message_ids   TEXT NOT NULL DEFAULT '[]',
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    sent_at       TEXT,
    PRIMARY KEY (channel_id, date)
) WITHOUT ROWID;
INSERT INTO deliveries_rebuilt SELECT channel_id, date, status, digest_hash, due_at, parts_sent,
    message_ids, attempts, last_error, created_at, sent_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (due_at, date, channel_id) WHERE status = 'pending';
CREATE INDEX deliveries_pending_by_channel ON deliveries (channel_id, date)
    WHERE status = 'pending';
-- A changed post replans its day's deliveries not begun yet.
CREATE INDEX deliveries_unsent_by_date ON deliveries (date)
    WHERE status IN ('pending', 'empty') AND parts_sent = 0 AND attempts = 0;
