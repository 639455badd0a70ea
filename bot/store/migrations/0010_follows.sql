-- Follows: keywords and author names a channel or a member follows. A channel's follows add
-- the papers they match to its digest; a member's bring them a direct message on each new
-- day with a match, recorded in a ledger of its own so that none is sent twice or dropped.

-- Members with personal follows, and whether their direct messages get through.
CREATE TABLE members (
    user_id       INTEGER PRIMARY KEY,
    since_date    TEXT NOT NULL,             -- first day to send: days after the first follow
    dms_closed    INTEGER NOT NULL DEFAULT 0,  -- Discord refused their last DM (50007)
    note_owed     INTEGER NOT NULL DEFAULT 0,  -- say so once, in their next command reply
    created_at    TEXT NOT NULL
);

CREATE TABLE follows (
    channel_id    INTEGER REFERENCES channels(channel_id) ON DELETE CASCADE,  -- a channel's
    user_id       INTEGER REFERENCES members(user_id) ON DELETE CASCADE,      -- a member's
    guild_id      INTEGER NOT NULL,          -- the server it was made in
    kind          TEXT NOT NULL CHECK (kind IN ('keyword', 'author')),
    text          TEXT NOT NULL,             -- as typed
    key           TEXT NOT NULL,             -- normalised (bot/follows.py): what is matched
    created_at    TEXT NOT NULL,
    CHECK ((channel_id IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX follows_of_channel ON follows (channel_id, kind, key)
    WHERE channel_id IS NOT NULL;
CREATE UNIQUE INDEX follows_of_member ON follows (user_id, kind, key)
    WHERE user_id IS NOT NULL;
CREATE INDEX follows_by_guild ON follows (guild_id, user_id) WHERE user_id IS NOT NULL;

-- The direct-message ledger: one row per (member, day), from pending to sent, like
-- `deliveries`; the message body is stored once in `digests`.
CREATE TABLE direct_messages (
    user_id       INTEGER NOT NULL REFERENCES members(user_id) ON DELETE CASCADE,
    date          TEXT NOT NULL,             -- the Hot Papers day
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'sent', 'empty', 'failed', 'skipped')),
    digest_hash   TEXT REFERENCES digests(digest_hash),
    due_at        TEXT NOT NULL,             -- UTC, YYYY-MM-DDTHH:MM:SSZ
    attempts      INTEGER NOT NULL DEFAULT 0,
    message_id    INTEGER,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    sent_at       TEXT,
    PRIMARY KEY (user_id, date)
) WITHOUT ROWID;
CREATE INDEX direct_messages_due ON direct_messages (due_at, date, user_id)
    WHERE status = 'pending';
CREATE INDEX direct_messages_unsent_by_date ON direct_messages (date)
    WHERE status IN ('pending', 'empty') AND attempts = 0;
