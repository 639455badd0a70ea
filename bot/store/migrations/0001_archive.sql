-- The archive of Hot Papers posts: one row per day, papers keyed by arXiv id,
-- one appearance per (day, paper) and the tweets listed under it that day.

CREATE TABLE days (
    date          TEXT PRIMARY KEY,          -- YYYY-MM-DD, the day the post covers
    published_at  TEXT NOT NULL,             -- ISO 8601 UTC, when the post was published
    source        TEXT NOT NULL,             -- where the post was read from
    content_hash  TEXT NOT NULL,             -- sha256 of the post's bytes: re-ingest is a no-op
    ingested_at   TEXT NOT NULL,
    paper_count   INTEGER NOT NULL,
    tweet_count   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX days_by_content_hash ON days (content_hash);

CREATE TABLE papers (
    arxiv_id      TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    authors       TEXT NOT NULL,             -- JSON array, in the post's order
    categories    TEXT NOT NULL,             -- JSON array, primary first
    abstract      TEXT NOT NULL,
    abs_url       TEXT NOT NULL,
    pdf_url       TEXT,
    updated_on    TEXT NOT NULL              -- the day whose post last set these fields
);

CREATE TABLE appearances (
    date          TEXT NOT NULL REFERENCES days(date) ON DELETE CASCADE,
    arxiv_id      TEXT NOT NULL REFERENCES papers(arxiv_id),
    rank          INTEGER NOT NULL CHECK (rank >= 1),
    retweets      INTEGER NOT NULL CHECK (retweets >= 0),
    favorites     INTEGER NOT NULL CHECK (favorites >= 0),
    PRIMARY KEY (date, arxiv_id),
    UNIQUE (date, rank)
) WITHOUT ROWID;
CREATE INDEX appearances_by_paper ON appearances (arxiv_id, date);

CREATE TABLE paper_categories (
    arxiv_id      TEXT NOT NULL REFERENCES papers(arxiv_id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,          -- 0 is the primary category
    category      TEXT NOT NULL,
    PRIMARY KEY (arxiv_id, position)
) WITHOUT ROWID;
CREATE INDEX paper_categories_by_category ON paper_categories (category, arxiv_id);

CREATE TABLE tweets (
    date          TEXT NOT NULL,
    arxiv_id      TEXT NOT NULL,
    position      INTEGER NOT NULL,          -- order under the paper in that day's post
    url           TEXT NOT NULL,
    author        TEXT NOT NULL,
    handle        TEXT NOT NULL,
    posted        TEXT NOT NULL,             -- YYYY-MM-DD
    lang          TEXT NOT NULL,
    text          TEXT NOT NULL,
    PRIMARY KEY (date, arxiv_id, position),
    FOREIGN KEY (date, arxiv_id) REFERENCES appearances(date, arxiv_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX tweets_by_paper ON tweets (arxiv_id, date, position);

-- Full-text search over title, abstract and authors, kept in step with `papers` by triggers.
CREATE VIRTUAL TABLE papers_fts USING fts5(
    title, abstract, authors, content='papers', content_rowid='rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
    INSERT INTO papers_fts (rowid, title, abstract, authors)
    VALUES (new.rowid, new.title, new.abstract, new.authors);
END;
CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
    VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
END;
CREATE TRIGGER papers_fts_update AFTER UPDATE ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors)
    VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
    INSERT INTO papers_fts (rowid, title, abstract, authors)
    VALUES (new.rowid, new.title, new.abstract, new.authors);
END;
