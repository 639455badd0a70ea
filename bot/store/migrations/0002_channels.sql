-- Channels that receive digests, their category subscriptions and settings,
-- and small key/value state of the bot itself (e.g. the hash of the synced commands).

CREATE TABLE channels (
    channel_id    INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    since_date    TEXT NOT NULL,             -- first day to deliver: days after the subscription
    top           INTEGER,                   -- NULL: the configured default
    min_score     INTEGER NOT NULL DEFAULT 0,
    deliver_at    TEXT,                      -- HH:MM local time, NULL: as soon as ingested
    timezone      TEXT NOT NULL DEFAULT 'UTC',
    paused        INTEGER NOT NULL DEFAULT 0,
    pause_reason  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX channels_by_guild ON channels (guild_id);

CREATE TABLE subscriptions (
    channel_id    INTEGER NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,
    category      TEXT NOT NULL,             -- a category code (cs.CV) or an archive wildcard (cs.*)
    created_at    TEXT NOT NULL,
    PRIMARY KEY (channel_id, category)
) WITHOUT ROWID;
CREATE INDEX subscriptions_by_category ON subscriptions (category);

CREATE TABLE bot_state (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL
) WITHOUT ROWID;
