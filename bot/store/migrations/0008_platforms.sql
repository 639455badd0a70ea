-- Days built from Bluesky beside the Twitter-era posts: each day and each post shown under a
-- paper says which platform it is from (every row so far is Twitter-era), and a Bluesky post
-- keeps what its embed needs: the record's at-URI and CID, and when it was posted.

ALTER TABLE days ADD COLUMN platform TEXT NOT NULL DEFAULT 'twitter'
    CHECK (platform IN ('twitter', 'bluesky'));
ALTER TABLE tweets ADD COLUMN platform TEXT NOT NULL DEFAULT 'twitter'
    CHECK (platform IN ('twitter', 'bluesky'));
ALTER TABLE tweets ADD COLUMN uri TEXT;               -- at://<did>/app.bsky.feed.post/<rkey>
ALTER TABLE tweets ADD COLUMN cid TEXT;               -- the record's CID; '' when unknown
ALTER TABLE tweets ADD COLUMN posted_at TEXT;         -- ISO 8601 UTC, to the minute
