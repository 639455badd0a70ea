-- The Bluesky posts that link arXiv papers, as the Jetstream collector kept them, and how far
-- in the stream it got: after any restart it resumes from `bluesky_cursor`, a little earlier.

CREATE TABLE bluesky_posts (
    uri         TEXT PRIMARY KEY,           -- at://<did>/app.bsky.feed.post/<rkey>
    did         TEXT NOT NULL,              -- the author
    rkey        TEXT NOT NULL,
    text        TEXT NOT NULL,
    langs       TEXT NOT NULL,              -- JSON array of language tags
    created_at  TEXT,                       -- the record's createdAt, ISO 8601 UTC; NULL if invalid
    time_us     INTEGER NOT NULL,           -- Jetstream's time_us when first kept, microseconds
    arxiv_ids   TEXT NOT NULL               -- JSON array, version-less, in order of appearance
);
CREATE INDEX bluesky_posts_by_time ON bluesky_posts (time_us, uri);
CREATE INDEX bluesky_posts_by_author ON bluesky_posts (did);

-- One row: the position of the last event whose changes are stored.
CREATE TABLE bluesky_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    time_us  INTEGER NOT NULL,              -- Jetstream's time_us
    seq      INTEGER                        -- Jetstream v2's sequence number, when it sends one
);
