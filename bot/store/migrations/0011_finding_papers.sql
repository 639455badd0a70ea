-- Finding papers: an index of author names for /author, each paper's total attention for
-- /top, and which stretch of the full-text index each day's papers are in, for /search
-- between dates. Kept in step with `papers` and `appearances` whenever the archive writes
-- them, and filled here for an archive stored before them.

-- An author as a paper lists them, and the name folded (hotpapers_name_key: no accents,
-- case or punctuation), so that "José García" and "jose garcia" are one author.
CREATE TABLE paper_authors (
    name_key      TEXT NOT NULL,
    arxiv_id      TEXT NOT NULL REFERENCES papers(arxiv_id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,          -- in the paper's author list
    name          TEXT NOT NULL,             -- as the paper spells it
    PRIMARY KEY (name_key, arxiv_id, position)
) WITHOUT ROWID;
CREATE INDEX paper_authors_by_paper ON paper_authors (arxiv_id);

-- Each word of each folded name, so a name is found by the start of any of its words.
-- A name no paper lists any more may stay behind; lookups join paper_authors.
CREATE TABLE author_name_parts (
    part          TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    PRIMARY KEY (part, name_key)
) WITHOUT ROWID;

-- Retweets + favorites (reposts + likes on Bluesky days) over every day a paper was hot.
CREATE TABLE paper_scores (
    arxiv_id      TEXT PRIMARY KEY REFERENCES papers(arxiv_id) ON DELETE CASCADE,
    total         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX paper_scores_by_total ON paper_scores (total, arxiv_id);

-- The lowest and highest rowid (the full-text index's key) of a day's papers: a search
-- between two dates reads only that stretch of the index.
CREATE TABLE day_paper_rowids (
    date          TEXT PRIMARY KEY REFERENCES days(date) ON DELETE CASCADE,
    low           INTEGER NOT NULL,
    high          INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO paper_authors (name_key, arxiv_id, position, name)
    SELECT hotpapers_name_key(a.value), p.arxiv_id, a.key, a.value
    FROM papers p, json_each(p.authors) a
    WHERE a.type = 'text' AND hotpapers_name_key(a.value) <> '';
-- A folded name holds only letters, digits and single spaces: a JSON array of its words.
INSERT OR IGNORE INTO author_name_parts (part, name_key)
    SELECT w.value, k.name_key
    FROM (SELECT DISTINCT name_key FROM paper_authors) k,
        json_each('["' || replace(k.name_key, ' ', '","') || '"]') w;
INSERT INTO paper_scores (arxiv_id, total)
    SELECT arxiv_id, sum(retweets + favorites) FROM appearances GROUP BY arxiv_id;
INSERT INTO day_paper_rowids (date, low, high)
    SELECT a.date, min(p.rowid), max(p.rowid)
    FROM appearances a JOIN papers p USING (arxiv_id) GROUP BY a.date;
