-- A paper's details as each day's post listed them, kept for papers hot on more than one
-- day: `papers` holds the newest day's, and when that day's post is replaced without the
-- paper, the next newest listing takes its place instead of the replaced post's details.

CREATE TABLE paper_listings (
    date          TEXT NOT NULL,
    arxiv_id      TEXT NOT NULL,
    title         TEXT NOT NULL,
    authors       TEXT NOT NULL,             -- JSON array
    categories    TEXT NOT NULL,             -- JSON array, primary first
    abstract      TEXT NOT NULL,
    abs_url       TEXT NOT NULL,
    pdf_url       TEXT,
    PRIMARY KEY (arxiv_id, date),
    FOREIGN KEY (date, arxiv_id) REFERENCES appearances(date, arxiv_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX paper_listings_by_day ON paper_listings (date, arxiv_id);
