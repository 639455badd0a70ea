"""bench/bare_parse.py, the floor bench.ingest times `hotpapers ingest` against, extracts what
the real parser keeps from every real post: a floor that skipped work would flatter nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import bare_parse
from bot.ingest.parser import parse_post
from bot.samples import sample_posts
from tests.support.real_posts import REPO_ROOT, all_post_params


def parsed(path: Path) -> dict[str, Any]:
    """The real parser's reading of a post, in the bare parse's terms."""
    day = parse_post(path.read_bytes(), str(path))
    return {
        "date": day.date.isoformat(),
        "papers": [
            {
                "rank": p.appearance.rank,
                "title": p.paper.title,
                "authors": list(p.paper.authors),
                "retweets": p.appearance.retweets,
                "favorites": p.appearance.favorites,
                "arxiv_id": p.paper.arxiv_id,
                "abs_url": p.paper.abs_url,
                "pdf_url": p.paper.pdf_url,
                "categories": list(p.paper.categories),
                "abstract": p.paper.abstract,
                "tweets": [
                    {
                        "url": t.url,
                        "author": t.author,
                        "handle": t.handle,
                        "posted": t.posted.isoformat(),
                        "lang": t.lang,
                        "text": t.text,
                    }
                    for t in p.tweets
                ],
            }
            for p in day.papers
        ],
    }


@pytest.mark.parametrize("post", all_post_params())
def test_the_bare_parse_finds_what_the_parser_keeps(post: Path) -> None:
    found = bare_parse.post(post.read_text(encoding="utf-8"))
    assert found is not None
    assert found["published"] is not None
    assert {"date": found["date"], "papers": found["papers"]} == parsed(post)


def test_the_bare_parse_prints_every_post_as_json(tmp_path: Path) -> None:
    for path in sample_posts():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "bare_parse.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=True,
    )
    posts = json.loads(done.stdout)
    assert [(p["path"], p["date"], len(p["papers"])) for p in posts] == [
        (str(tmp_path / "2021-03-05---Hot-Papers.md"), "2021-03-05", 13),
        (str(tmp_path / "2021-03-15---Hot-Papers.md"), "2021-03-15", 10),
        (str(tmp_path / "2021-03-24---Hot-Papers.md"), "2021-03-24", 15),
    ]
