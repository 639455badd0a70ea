"""The floor `bench.ingest` holds `hotpapers ingest` to: the posts of a directory read with
regular expressions alone and printed as JSON, with no checking, no YAML and no database.

It extracts what the real parser keeps (the title's date, the published date and, per paper,
rank, title, authors, counts, arXiv id and links, categories, abstract and each tweet's url,
author, handle, date, language and text), drops a paper listed again in the same post as the
real parser does, and imports nothing from `bot`, so it costs a bare Python start-up.

Run: .venv/bin/python bench/bare_parse.py CORPUS_DIR > posts.json
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
TITLE = re.compile(r"^title: *Hot Papers (\d{4}-\d{2}-\d{2})", re.MULTILINE)
PUBLISHED = re.compile(r"^date: *(\S+)", re.MULTILINE)
HEADING = re.compile(r"^# (\d+)\.[ \t]*(.*)$", re.MULTILINE)
PAPER = re.compile(
    r"\n+(?:(?P<authors>(?!- retweets).*)\n+)?"
    r"- retweets: (?P<retweets>\d+), favorites: (?P<favorites>\d+) \([^)]*\)\n+"
    r"- links: \[abs\]\((?P<abs>https?://arxiv\.org/abs/(?P<id>[^)]+))\)"
    r"(?: \| \[pdf\]\((?P<pdf>[^)]*)\))?\n+"
    r"(?P<categories>-.*)\n\n(?P<abstract>.*)\n"
)
CATEGORY = re.compile(r"\]\(https?://arxiv\.org/list/([^/)]+)/recent\)")
TWEET = re.compile(
    r'<blockquote class="twitter-tweet"[^>]*><p lang="(?P<lang>[^"]*)"[^>]*>(?P<text>.*?)</p>'
    r"&mdash; (?P<author>[^<]*?) \(@(?P<handle>\w+)\)\s*"
    r'<a href="(?P<url>https?://twitter\.com/\w+/status/\d+)[^"]*">'
    r"(?P<month>[A-Z][a-z]+) (?P<day>\d+), (?P<year>\d{4})</a></blockquote>",
    re.DOTALL,
)
TAG = re.compile(r"<[^>]*>")
BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
SPACES = re.compile(r"\s+")
MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}


def paper(rank: str, title: str, section: str) -> dict[str, object] | None:
    found = PAPER.match(section)
    if found is None:
        return None
    tweets = [
        {
            "url": t["url"],
            "author": html.unescape(t["author"]),
            "handle": t["handle"],
            "posted": f"{t['year']}-{MONTHS[t['month']]:02d}-{int(t['day']):02d}",
            "lang": t["lang"],
            "text": html.unescape(TAG.sub("", BR.sub("\n", t["text"]))).strip(),
        }
        for t in TWEET.finditer(section, found.end())
    ]
    authors = found["authors"] or ""
    return {
        "rank": int(rank),
        "title": SPACES.sub(" ", title).strip(),
        "authors": [a.strip() for a in authors.split(",") if a.strip()],
        "retweets": int(found["retweets"]),
        "favorites": int(found["favorites"]),
        "arxiv_id": found["id"],
        "abs_url": found["abs"],
        "pdf_url": found["pdf"],
        "categories": CATEGORY.findall(found["categories"]),
        "abstract": found["abstract"].strip(),
        "tweets": tweets,
    }


def post(text: str) -> dict[str, object] | None:
    front = FRONT_MATTER.match(text)
    if front is None:
        return None
    title, published = TITLE.search(front[1]), PUBLISHED.search(front[1])
    headings = list(HEADING.finditer(text, front.end()))
    papers, seen = [], set()
    ends = [h.start() for h in headings[1:]] + [len(text)]
    for heading, end in zip(headings, ends, strict=False):  # no heading: one end, unused
        found = paper(heading[1], heading[2], text[heading.end() : end])
        if found is not None and found["arxiv_id"] not in seen:
            seen.add(found["arxiv_id"])
            papers.append(found)
    return {
        "date": title[1] if title else None,
        "published": published[1] if published else None,
        "papers": papers,
    }


def main(directory: str) -> None:
    posts = []
    for path in sorted(Path(directory).rglob("*.md")):
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        posts.append({"path": str(path), **(post(text) or {})})
    sys.stdout.write(json.dumps(posts, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
