-- The delivery ledger: one row per (channel, day), from pending to sent, so a digest is
-- posted exactly once whatever restarts in between. Rendered digests are stored once per
-- distinct content and shared by every channel that receives the same one.

CREATE TABLE digests (
    digest_hash   TEXT PRIMARY KEY,          -- sha256 of `messages`
    messages      TEXT NOT NULL              -- JSON list of message-create bodies, in order
) WITHOUT ROWID;

CREATE TABLE deliveries (
    channel_id    INTEGER NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,
    date          TEXT NOT NULL,             -- the Hot Papers day
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'empty', 'failed')),
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
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
