"""The admin command line, run in-process on temporary databases (and once as `python -m bot`)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.arxiv import EXPECTED_FORMS
from bot.bluesky.days import DaySchedule
from bot.cli import main
from bot.ingest.parser import parse_post
from bot.models import Day
from bot.samples import sample_posts
from bot.store import Store
from tests.support.bluesky_days import BLUESKY_DATE, BLUESKY_POST, HOSTILE_TEXT, bluesky_day
from tests.support.posts import PERCEIVER, PERCEIVER_TWEETS
from tests.support.real_posts import REPO_ROOT

SAMPLES_SUMMARY = "posts: 3 new, 0 updated, 0 unchanged, 0 rejected; papers: 38; tweets: 48"
JSON_KEYS = [
    "arxiv_id",
    "title",
    "authors",
    "categories",
    "abstract",
    "abs_url",
    "pdf_url",
    "appearances",
    "tweets",
]
APPEARANCE_KEYS = ["date", "rank", "retweets", "favorites", "platform"]
TWEET_KEYS = [
    "url",
    "author",
    "handle",
    "posted",
    "lang",
    "text",
    "platform",
    "uri",
    "cid",
    "posted_at",
]
# A tweet has none of the fields a Bluesky post's embed is made of.
TWEET_FIELDS = {"platform": "twitter", "uri": None, "cid": None, "posted_at": None}
PERCEIVER_JSON: dict[str, Any] = {
    "arxiv_id": "2103.03206",
    "title": "Perceiver: General Perception with Iterative Attention",
    "authors": [
        "Andrew Jaegle",
        "Felix Gimeno",
        "Andrew Brock",
        "Andrew Zisserman",
        "Oriol Vinyals",
        "Joao Carreira",
    ],
    "categories": ["cs.CV", "cs.AI", "cs.LG", "cs.SD", "eess.AS"],
    "abstract": PERCEIVER.abstract,
    "abs_url": "https://arxiv.org/abs/2103.03206",
    "pdf_url": "https://arxiv.org/pdf/2103.03206",
    "appearances": [
        {"date": "2021-03-05", "rank": 3, "retweets": 857, "favorites": 251, "platform": "twitter"}
    ],
    "tweets": [
        {
            "url": "https://twitter.com/arankomatsuzaki/status/1367657530143383561",
            "author": "Aran Komatsuzaki",
            "handle": "arankomatsuzaki",
            "posted": "2021-03-05",
            "lang": "en",
            "text": PERCEIVER_TWEETS[0].text,
            **TWEET_FIELDS,
        },
        {
            "url": "https://twitter.com/mosko_mule/status/1367673823739351048",
            "author": PERCEIVER_TWEETS[1].author,
            "handle": "mosko_mule",
            "posted": "2021-03-05",
            "lang": "ja",
            "text": PERCEIVER_TWEETS[1].text,
            **TWEET_FIELDS,
        },
        {
            "url": "https://twitter.com/ak92501/status/1367657218942894081",
            "author": "AK",
            "handle": "ak92501",
            "posted": "2021-03-05",
            "lang": "en",
            "text": PERCEIVER_TWEETS[2].text,
            **TWEET_FIELDS,
        },
    ],
}


class Run:
    """`hotpapers ...` in-process with an empty environ: (exit code, stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(
        self, *args: str | Path, environ: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = main([str(a) for a in args], environ={} if environ is None else environ)
        except SystemExit as exit_:  # argparse refusing the arguments
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(capsys)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "archive.sqlite3"


@pytest.fixture
async def empty_db(db: Path) -> Path:
    """An archive that exists but holds no posts yet."""
    await (await Store.open(db)).close()
    return db


@pytest.fixture
def samples_db(run: Run, db: Path) -> Path:
    code, _, err = run("ingest", "--samples", "--db", db)
    assert (code, err) == (0, "")
    return db


# --- ingest ------------------------------------------------------------------------------------


def test_ingest_samples_prints_the_summary(run: Run, db: Path) -> None:
    code, out, err = run("ingest", "--samples", "--db", db)
    assert code == 0
    assert err == ""
    assert out.splitlines() == [
        SAMPLES_SUMMARY,
        f"archive: 3 days, 38 papers, 48 tweets in {db}",
    ]


def test_reingest_is_unchanged(run: Run, samples_db: Path) -> None:
    code, out, err = run("ingest", "--samples", "--db", samples_db)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        "posts: 0 new, 0 updated, 3 unchanged, 0 rejected; papers: 0; tweets: 0"
    )


def test_changed_post_is_updated(run: Run, tmp_path: Path, db: Path) -> None:
    post = tmp_path / "posts" / "2021-03-05---Hot-Papers.md"
    post.parent.mkdir()
    shutil.copy(sample_posts()[0], post)
    assert run("ingest", post.parent, "--db", db)[0] == 0
    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("- retweets: 857,", "- retweets: 900,"), encoding="utf-8")
    code, out, _ = run("ingest", post.parent, "--db", db)
    assert code == 0
    assert out.splitlines()[0] == (
        "posts: 0 new, 1 updated, 0 unchanged, 0 rejected; papers: 13; tweets: 20"
    )
    paper = json.loads(run("paper", "2103.03206", "--json", "--db", db)[1])
    assert paper["appearances"] == [
        {"date": "2021-03-05", "rank": 3, "retweets": 900, "favorites": 251, "platform": "twitter"}
    ]


def test_a_bad_file_is_reported_and_the_good_one_stored(run: Run, tmp_path: Path, db: Path) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    good = folder / "good.md"
    shutil.copy(sample_posts()[0], good)
    bad = folder / "bad.md"
    text = sample_posts()[1].read_text(encoding="utf-8")
    bad.write_text(text.replace("- retweets: 311,", "- retweets: 3x1,"), encoding="utf-8")
    line = text.split("\n").index("- retweets: 311, favorites: 107 (03/16/2021 09:09:32)") + 1

    code, out, err = run("ingest", folder, "--db", db)
    assert code == 1
    assert err.splitlines() == [
        f"{bad}:{line}: bad counts line '- retweets: 3x1, favorites: 107 (03/16/2021 09:09:32)'; "
        "expected '- retweets: N, favorites: N (MM/DD/YYYY HH:MM:SS)'"
    ]
    assert out.splitlines() == [
        "posts: 1 new, 0 updated, 0 unchanged, 1 rejected; papers: 13; tweets: 20",
        f"archive: 1 days, 13 papers, 20 tweets in {db}",
    ]
    code, out, _ = run("days", "--db", db)
    assert code == 0
    assert "2021-03-05" in out
    assert "2021-03-15" not in out


def test_a_missing_path(run: Run, tmp_path: Path, db: Path) -> None:
    missing = tmp_path / "nowhere.md"
    code, out, err = run("ingest", missing, "--samples", "--db", db)
    assert code == 1
    assert err.splitlines() == [f"{missing}:0: no such file or directory"]
    assert out.splitlines()[0] == (
        "posts: 3 new, 0 updated, 0 unchanged, 1 rejected; papers: 38; tweets: 48"
    )


def test_nothing_to_ingest(run: Run, db: Path) -> None:
    code, out, err = run("ingest", "--db", db)
    assert (code, out) == (2, "")
    assert err.startswith("hotpapers: nothing to ingest")


# --- paper -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "2103.03206",
        "2103.03206v2",
        "arXiv:2103.03206",
        "https://arxiv.org/abs/2103.03206v1",
        "https://arxiv.org/pdf/2103.03206.pdf",
        "http://export.arxiv.org/abs/2103.03206",
    ],
)
def test_paper_json_for_every_accepted_form(run: Run, samples_db: Path, given: str) -> None:
    code, out, err = run("paper", given, "--json", "--db", samples_db)
    assert (code, err) == (0, "")
    assert out.endswith("\n")
    assert out.count("\n") == 1
    paper = json.loads(out)
    assert list(paper) == JSON_KEYS
    assert paper == PERCEIVER_JSON
    assert list(paper["appearances"][0]) == APPEARANCE_KEYS
    assert list(paper["tweets"][0]) == TWEET_KEYS
    assert "ワクワクさん" in out  # not \u-escaped


def test_paper_readable(run: Run, samples_db: Path) -> None:
    code, out, err = run("paper", "arXiv:2103.03206v2", "--db", samples_db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:5] == [
        "Perceiver: General Perception with Iterative Attention",
        "arXiv:2103.03206 · cs.CV, cs.AI, cs.LG, cs.SD, eess.AS",
        "Andrew Jaegle, Felix Gimeno, Andrew Brock, Andrew Zisserman, Oriol Vinyals, Joao Carreira",
        "abs: https://arxiv.org/abs/2103.03206",
        "pdf: https://arxiv.org/pdf/2103.03206",
    ]
    assert "  Biological systems understand the world by simultaneously processing" in out
    assert "  2021-03-05  #3   857 retweets, 251 favorites" in lines
    assert "Tweets (3):" in lines
    assert (
        "  Aran Komatsuzaki (@arankomatsuzaki) · 2021-03-05 · "
        "https://twitter.com/arankomatsuzaki/status/1367657530143383561"
    ) in lines


def test_paper_with_many_authors_and_no_tweets(run: Run, samples_db: Path) -> None:
    code, out, _ = run("paper", "2103.03098", "--db", samples_db)
    assert code == 0
    assert out.splitlines()[2] == (
        "Xavier Bouthillier, Pierre Delaunay, Mirko Bronzi, Assya Trofimov, Brennan Nichyporuk, "
        "Justin Szeto and 11 more (17 authors)"
    )
    code, out, _ = run("paper", "2103.07289", "--db", samples_db)
    assert code == 0
    assert "Tweets (0):" in out.splitlines()


@pytest.fixture
async def no_abstract_db(db: Path) -> Path:
    """2021-03-05 stored with Perceiver (#3) listed without an abstract."""
    day = parse_post(sample_posts()[0].read_bytes())
    papers = tuple(
        dataclasses.replace(p, paper=dataclasses.replace(p.paper, abstract=""))
        if p.paper.arxiv_id == "2103.03206"
        else p
        for p in day.papers
    )
    async with await Store.open(db) as store:
        await store.archive.ingest(
            dataclasses.replace(day, papers=papers), source="test", content_hash="no-abstract"
        )
    return db


def test_paper_without_an_abstract(run: Run, no_abstract_db: Path) -> None:
    code, out, err = run("paper", "2103.03206", "--db", no_abstract_db)
    assert (code, err) == (0, "")
    assert out.splitlines()[4:9] == [
        "pdf: https://arxiv.org/pdf/2103.03206",
        "",
        "  No abstract available",
        "",
        "Hot on:",
    ]


def test_digest_of_a_paper_without_an_abstract(run: Run, no_abstract_db: Path) -> None:
    code, out, err = run(
        "digest", "--date", "2021-03-05", "--categories", "cs.SD", "--db", no_abstract_db
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    perceiver = lines.index("#3 · Perceiver: General Perception with Iterative Attention")
    assert lines[perceiver + 3 : perceiver + 6] == [
        "    857 retweets · 251 favorites",
        "    No abstract available",
        "    Top tweet: https://twitter.com/arankomatsuzaki/status/1367657530143383561",
    ]


def test_unknown_paper(run: Run, samples_db: Path) -> None:
    code, out, err = run("paper", "2101.00001", "--db", samples_db)
    assert (code, out) == (1, "")
    assert err == (
        f"hotpapers: paper 2101.00001 is not in the archive ({samples_db}); "
        "see https://arxiv.org/abs/2101.00001\n"
    )


@pytest.mark.parametrize(
    "given",
    ["not-an-id", "2113.03206", "2103.0320", "٢١٠٣.٠٣٢٠٦"],  # the last: Arabic-Indic
)
def test_malformed_paper_id(run: Run, samples_db: Path, given: str) -> None:
    code, out, err = run("paper", given, "--json", "--db", samples_db)
    assert (code, out) == (2, "")
    assert err.startswith(f"hotpapers: {given!r} is not an arXiv id (")
    assert "expected an arXiv id like 2103.03206, 2103.03206v2, arXiv:2103.03206" in err


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("foo/1234567", "there is no arXiv archive 'foo'"),
        ("hep-th/9913001", "month 13 does not exist"),
        ("2103.03206v0", "version v0 does not exist; versions start at v1"),
    ],
)
def test_loose_paper_ids_are_malformed_not_missing(
    run: Run, samples_db: Path, given: str, reason: str
) -> None:
    assert run("paper", given, "--db", samples_db) == (
        2,
        "",
        f"hotpapers: {given!r} is not an arXiv id ({reason}); expected {EXPECTED_FORMS}\n",
    )


# --- export ------------------------------------------------------------------------------------


def check_export(run: Run, db: Path, count: int) -> list[dict[str, Any]]:
    """`export` gives `count` JSON lines, each exactly `paper --json` of its id."""
    code, out, err = run("export", "--db", db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == count
    papers = [json.loads(line) for line in lines]
    ids = [p["arxiv_id"] for p in papers]
    assert len(set(ids)) == count
    assert ids == sorted(ids)
    for line, paper in zip(lines, papers, strict=True):
        assert list(paper) == JSON_KEYS
        assert paper["title"]
        assert paper["authors"]
        assert all(isinstance(a, str) and a for a in paper["authors"])
        assert paper["categories"]
        assert paper["abstract"]
        assert paper["abs_url"].startswith(f"https://arxiv.org/abs/{paper['arxiv_id']}")
        assert paper["pdf_url"] is None or paper["pdf_url"].startswith("https://arxiv.org/pdf/")
        assert paper["appearances"]
        for appearance in paper["appearances"]:
            assert list(appearance) == APPEARANCE_KEYS
        for tweet in paper["tweets"]:
            assert list(tweet) == TWEET_KEYS
            site = "https://twitter.com/" if tweet["platform"] == "twitter" else "https://bsky.app/"
            assert tweet["url"].startswith(site)
        single = run("paper", paper["arxiv_id"], "--json", "--db", db)
        assert single == (0, line + "\n", "")
    return papers


def test_export_samples(run: Run, samples_db: Path) -> None:
    papers = check_export(run, samples_db, 38)
    assert next(p for p in papers if p["arxiv_id"] == "2103.03206") == PERCEIVER_JSON


@pytest.fixture
async def bluesky_db(samples_db: Path) -> Path:
    """The samples and a day built from Bluesky, on which the Perceiver is hot again."""
    async with await Store.open(samples_db) as store:
        await store.archive.ingest(bluesky_day(), source="bluesky", content_hash="bluesky")
    return samples_db


def test_paper_json_of_a_paper_hot_on_twitter_and_on_bluesky(run: Run, bluesky_db: Path) -> None:
    code, out, err = run("paper", "2103.03206", "--json", "--db", bluesky_db)
    assert (code, err) == (0, "")
    paper = json.loads(out)
    assert list(paper) == JSON_KEYS
    assert paper["appearances"] == [
        {"date": "2021-03-05", "rank": 3, "retweets": 857, "favorites": 251, "platform": "twitter"},
        {"date": "2025-06-15", "rank": 1, "retweets": 8, "favorites": 43, "platform": "bluesky"},
    ]
    assert paper["tweets"][:3] == PERCEIVER_JSON["tweets"]
    assert paper["tweets"][3:] == [
        {
            "url": "https://bsky.app/profile/ada.bsky.social/post/3lrada1",
            "author": "Ada L.",
            "handle": "ada.bsky.social",
            "posted": "2025-06-15",
            "lang": "en",
            "text": "Perceiver is hot again https://arxiv.org/abs/2103.03206",
            "platform": "bluesky",
            "uri": "at://did:plc:ada/app.bsky.feed.post/3lrada1",
            "cid": "bafyreiada",
            "posted_at": "2025-06-15T00:58:00Z",
        },
        {
            "url": "https://bsky.app/profile/did:plc:mallory/post/3lrmal2",
            "author": 'Mal <b>"lory"</b> &amp;\nCo',
            "handle": "handle.invalid",
            "posted": "2025-06-15",
            "lang": "fr",
            "text": HOSTILE_TEXT,
            "platform": "bluesky",
            "uri": "at://did:plc:mallory/app.bsky.feed.post/3lrmal2",
            "cid": "bafyreimal",
            "posted_at": "2025-06-15T13:05:00Z",
        },
    ]
    assert [list(t) for t in paper["tweets"]] == [TWEET_KEYS] * 5


def test_export_with_a_bluesky_day(run: Run, bluesky_db: Path) -> None:
    papers = check_export(run, bluesky_db, 39)
    bluesky_only = next(p for p in papers if p["arxiv_id"] == "2506.00002")
    assert bluesky_only["appearances"] == [
        {"date": "2025-06-15", "rank": 2, "retweets": 0, "favorites": 2, "platform": "bluesky"}
    ]
    assert bluesky_only["pdf_url"] is None
    assert [(t["uri"], t["cid"], t["posted_at"]) for t in bluesky_only["tweets"]] == [
        ("at://did:web:example.org/app.bsky.feed.post/3lrweb3", "", "2025-06-15T23:59:00Z")
    ]


def test_export_of_an_empty_archive(run: Run, empty_db: Path) -> None:
    assert run("export", "--db", empty_db) == (0, "", "")


def test_corpus_round_trip(run: Run, corpus_dir: Path, db: Path) -> None:
    code, out, err = run("ingest", "--samples", corpus_dir, "--db", db)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "posts: 129 new, 0 updated, 0 unchanged, 0 rejected; papers: 1190; tweets: 1327",
        f"archive: 129 days, 1187 papers, 1327 tweets in {db}",
    ]
    papers = check_export(run, db, 1187)
    repeated = {p["arxiv_id"]: p["appearances"] for p in papers if len(p["appearances"]) > 1}
    assert sorted(repeated) == ["2010.04296", "2010.14680", "2011.11660"]
    for appearances in repeated.values():
        dates = [a["date"] for a in appearances]
        assert len(dates) == 2
        assert dates == sorted(dates)


# --- days and day ------------------------------------------------------------------------------


def test_days(run: Run, samples_db: Path) -> None:
    code, out, err = run("days", "--db", samples_db)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "day         papers   posts  platform  published (UTC)",
        "2021-03-05      13      20  Twitter   2021-03-06 15:15",
        "2021-03-15      10      11  Twitter   2021-03-16 09:09",
        "2021-03-24      15      17  Twitter   2021-03-25 09:03",
        "3 days, 38 papers listed",
    ]


def test_days_of_an_empty_archive(run: Run, empty_db: Path) -> None:
    code, out, _ = run("days", "--db", empty_db)
    assert code == 0
    assert out == f"no days in the archive ({empty_db}); run `hotpapers ingest` first\n"


def test_day_shows_the_latest_days_top_papers(run: Run, samples_db: Path) -> None:
    code, out, err = run("day", "--db", samples_db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Hot Papers 2021-03-24: top 10 of 15"
    assert lines[2:5] == [
        " 1. iMAP: Implicit Mapping and Positioning in Real-Time",
        "    Edgar Sucar, Shikun Liu, Joseph Ortiz and 1 more (4 authors)",
        "    cs.CV · 6090 retweets, 370 favorites · https://arxiv.org/abs/2103.12352",
    ]
    ranks = [int(m[1]) for line in lines if (m := re.match(r"\s?(\d+)\. ", line))]
    assert ranks == list(range(1, 11))


def test_day_top_and_date(run: Run, samples_db: Path) -> None:
    code, out, _ = run("day", "2021-03-05", "--top", "3", "--db", samples_db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Hot Papers 2021-03-05: top 3 of 13"
    assert " 3. Perceiver: General Perception with Iterative Attention" in lines
    assert (
        "    cs.CV, cs.AI, cs.LG, cs.SD, eess.AS · 857 retweets, 251 favorites · "
        "https://arxiv.org/abs/2103.03206" in lines
    )
    assert not any(line.startswith(" 4.") for line in lines)
    code, out, _ = run("day", "2021-03-15", "--top", "99", "--db", samples_db)
    assert code == 0
    assert out.splitlines()[0] == "Hot Papers 2021-03-15: top 10 of 10"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["2021-13-01"], 2, "hotpapers: '2021-13-01' is not a date; expected YYYY-MM-DD"),
        (["yesterday"], 2, "hotpapers: 'yesterday' is not a date; expected YYYY-MM-DD"),
        (["--top", "0"], 2, "hotpapers: --top must be at least 1, got 0"),
        (
            ["2021-03-06"],
            1,
            "hotpapers: no post for 2021-03-06 in the archive; `hotpapers days` lists them",
        ),
    ],
)
def test_day_errors(run: Run, samples_db: Path, args: list[str], code: int, message: str) -> None:
    assert run("day", *args, "--db", samples_db) == (code, "", message + "\n")


@pytest.mark.parametrize("given", ["20210305", "2021-W10-1", "2021-03-05T00:00", "٢٠٢١-٠٣-٠٥"])  # noqa: RUF001
def test_day_and_digest_take_only_yyyy_mm_dd(run: Run, samples_db: Path, given: str) -> None:
    refused = (2, "", f"hotpapers: {given!r} is not a date; expected YYYY-MM-DD\n")
    assert run("day", given, "--db", samples_db) == refused
    digest = ("digest", "--date", given, "--categories", "cs.CV", "--db", samples_db)
    assert run(*digest) == refused
    assert run(*digest, "--json") == refused


CS_CV_0305 = ("--date", "2021-03-05", "--categories", "cs.CV")


@pytest.mark.parametrize("channel", ["0", "-1", str(2**64), "1" * 41])
def test_digest_channel_must_be_a_discord_id(run: Run, samples_db: Path, channel: str) -> None:
    assert run("digest", *CS_CV_0305, "--json", f"--channel={channel}", "--db", samples_db) == (
        2,
        "",
        f"hotpapers: --channel {int(channel)} is not a Discord channel id; "
        "expected a snowflake, 1 to 18446744073709551615\n",
    )


@pytest.mark.parametrize(
    ("option", "given"),
    [
        ("--channel", "\u0661\u0662\u0663"),  # Arabic-Indic digits, which int() reads
        ("--channel", "1_000"),
        ("--top", "\u0665"),
        ("--min-score", " 5"),
    ],
)
def test_digest_numbers_are_ascii_digits(
    run: Run, samples_db: Path, option: str, given: str
) -> None:
    code, out, err = run("digest", *CS_CV_0305, "--json", option, given, "--db", samples_db)
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        f"hotpapers digest: error: argument {option}: {given!r} is not a whole number in digits 0-9"
    )


def test_digest_min_score_is_at_most_what_settings_takes(run: Run, samples_db: Path) -> None:
    assert run("digest", *CS_CV_0305, "--min-score", "10000001", "--db", samples_db) == (
        2,
        "",
        "hotpapers: --min-score must be 0 to 10,000,000, got 10000001\n",
    )


def test_a_template_override_failing_on_the_day_is_one_line(
    run: Run, samples_db: Path, tmp_path: Path
) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "digest.j2").write_text(
        "{% block title %}{% if entry.ranked.appearance.date.day == 24 %}{{ entry.bogus.x }}"
        "{% endif %}{{ entry.ranked.paper.title }}{% endblock %}",
        encoding="utf-8",
    )
    config = tmp_path / "config.toml"
    config.write_text(f'[templates]\ndirectory = "{overrides}"\n', encoding="utf-8")
    on_the_24th = ("--date", "2021-03-24", "--categories", "cs.CV")
    code, out, err = run("digest", *on_the_24th, "--json", "--config", config, "--db", samples_db)
    assert (code, out) == (1, "")
    assert err == (
        f"hotpapers: {overrides / 'digest.j2'}:1: block 'title' cannot be rendered:"
        " 'bot.digest.DigestEntry object' has no attribute 'bogus'\n"
    )


def test_digest_for_the_largest_channel_id(run: Run, samples_db: Path) -> None:
    channel = str(2**64 - 1)
    code, out, err = run("digest", *CS_CV_0305, "--json", "--channel", channel, "--db", samples_db)
    assert (code, err) == (0, "")
    bodies = json.loads(out)
    assert [b["nonce"] for b in bodies] == [f"3w5e11264sgsf.210305.{i}" for i in range(len(bodies))]
    assert bodies[0]["enforce_nonce"] is True


def test_day_of_an_empty_archive(run: Run, empty_db: Path) -> None:
    code, out, err = run("day", "--db", empty_db)
    assert (code, out) == (1, "")
    assert err == "hotpapers: the archive has no days yet; run `hotpapers ingest` first\n"


# --- the words of a Bluesky day -----------------------------------------------------------------


def test_days_say_each_days_platform(run: Run, bluesky_db: Path) -> None:
    code, out, err = run("days", "--db", bluesky_db)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "day         papers   posts  platform  published (UTC)"
    assert out.splitlines()[-2:] == [
        "2025-06-15       2       3  Bluesky   2025-06-16 06:00",
        "4 days, 40 papers listed",
    ]


def test_day_of_bluesky_counts_reposts_and_likes(run: Run, bluesky_db: Path) -> None:
    code, out, err = run("day", "--db", bluesky_db)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Hot Papers 2025-06-15 on Bluesky: top 2 of 2",
        "",
        " 1. Perceiver: General Perception with Iterative Attention",
        "    Ada Lovelace, Alan Turing",
        "    cs.LG, cs.CV · 8 reposts, 43 likes · https://arxiv.org/abs/2103.03206",
        "",
        " 2. A Paper",
        "    Ada Lovelace, Alan Turing",
        "    cs.LG, cs.CV · 0 reposts, 2 likes · https://arxiv.org/abs/2506.00002",
        "",
    ]


def test_digest_of_bluesky_says_posts_reposts_and_likes(run: Run, bluesky_db: Path) -> None:
    day = ("digest", "--date", "2025-06-15", "--db", bluesky_db)
    code, out, err = run(*day, "--categories", "cs.LG", "--min-score", "3")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Hot Papers 2025-06-15 · 1 of 2 papers matches cs.LG with at least 3 likes + reposts",
        "",
        "#1 · Perceiver: General Perception with Iterative Attention",
        "    Ada Lovelace, Alan Turing",
        "    [cs.LG] · cs.CV",
        "    8 reposts · 43 likes",
        "    What Perceiver: General Perception with Iterative Attention is about, & why <it> "
        "matters.",
        "    Top post: https://bsky.app/profile/ada.bsky.social/post/3lrada1",
        "    https://arxiv.org/abs/2103.03206",
    ]
    assert run(*day, "--categories", "cs.LG", "--min-score", "100") == (
        0,
        "no paper on 2025-06-15 matches cs.LG with at least 100 likes + reposts\n",
        "",
    )


def test_paper_hot_on_twitter_and_on_bluesky(run: Run, bluesky_db: Path) -> None:
    code, out, err = run("paper", "2103.03206", "--db", bluesky_db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    hot_on = lines.index("Hot on:")
    assert lines[hot_on : hot_on + 5] == [
        "Hot on:",
        "  2021-03-05  #3   857 retweets, 251 favorites",
        "  2025-06-15  #1   8 reposts, 43 likes on Bluesky",
        "",
        "Posts (5):",
    ]
    assert lines[-8:] == [
        "  Ada L. (@ada.bsky.social) · 2025-06-15 · Bluesky · "
        "https://bsky.app/profile/ada.bsky.social/post/3lrada1",
        "    Perceiver is hot again https://arxiv.org/abs/2103.03206",
        # The display name's line break is a space; the text keeps its lines.
        '  Mal <b>"lory"</b> &amp; Co (@handle.invalid) · 2025-06-15 · Bluesky · '
        "https://bsky.app/profile/did:plc:mallory/post/3lrmal2",
        '     Read </p></blockquote><blockquote class="bluesky-embed"> & "this" it\'s <br> &amp;',
        "    # 1. Not a paper",
        "    ---",
        "    @everyone <@123> **bold**",
        "    end  ",
    ]


# --- post --------------------------------------------------------------------------------------


async def stored_day(db: Path, date: dt.date) -> Day | None:
    async with await Store.open(db) as store:
        return await store.archive.day(date)


def test_post_of_a_bluesky_day_is_read_back_by_ingest(
    run: Run, bluesky_db: Path, tmp_path: Path
) -> None:
    code, out, err = run("post", "--date", "2025-06-15", "--db", bluesky_db)
    assert (code, out, err) == (0, BLUESKY_POST, "")
    written = tmp_path / "site" / "2025-06-15---Hot-Papers.md"
    written.parent.mkdir()
    written.write_text(out, encoding="utf-8")
    fresh = tmp_path / "fresh.sqlite3"
    code, out, err = run("ingest", written, "--db", fresh)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        "posts: 1 new, 0 updated, 0 unchanged, 0 rejected; papers: 2; tweets: 3"
    )
    assert asyncio.run(stored_day(fresh, BLUESKY_DATE)) == bluesky_day()


def test_post_of_every_sample_day_is_read_back_by_ingest(
    run: Run, samples_db: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for path in sample_posts():
        date = path.name[:10]
        code, out, err = run("post", "--date", date, "--db", samples_db)
        assert (code, err) == (0, "")
        assert out.split("\n---\n", 1)[0] == path.read_text(encoding="utf-8").split("\n---\n", 1)[0]
        (site / path.name).write_text(out, encoding="utf-8")
    fresh = tmp_path / "fresh.sqlite3"
    code, out, _ = run("ingest", site, "--db", fresh)
    assert (code, out.splitlines()[0]) == (0, SAMPLES_SUMMARY)
    for path in sample_posts():
        day = parse_post(path.read_bytes())
        assert asyncio.run(stored_day(fresh, day.date)) == day


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--date", "2021-03-06"],
            1,
            "hotpapers: no post for 2021-03-06 in the archive; `hotpapers days` lists them",
        ),
        (["--date", "2021-3-5"], 2, "hotpapers: '2021-3-5' is not a date; expected YYYY-MM-DD"),
    ],
)
def test_post_errors(run: Run, samples_db: Path, args: list[str], code: int, message: str) -> None:
    assert run("post", *args, "--db", samples_db) == (code, "", message + "\n")


# --- forget-day -------------------------------------------------------------------------------


def test_forget_day(run: Run, samples_db: Path) -> None:
    code, out, err = run("forget-day", "2021-03-24", "--db", samples_db)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"forgot 2021-03-24 (from {sample_posts()[2]}): 15 papers listed, 17 tweets",
        "removed 15 papers no other day lists; dropped 0 deliveries not sent",
        "0 channels that subscribed while it was stored now start as if it never was",
    ]
    assert run("days", "--db", samples_db)[1].splitlines()[1:] == [
        "2021-03-05      13      20  Twitter   2021-03-06 15:15",
        "2021-03-15      10      11  Twitter   2021-03-16 09:09",
        "2 days, 23 papers listed",
    ]
    assert run("paper", "2103.12352", "--db", samples_db)[0] == 1  # iMAP, hot on 03-24 only
    assert (
        run("day", "--db", samples_db)[1].splitlines()[0] == "Hot Papers 2021-03-15: top 10 of 10"
    )
    # Stored again, the day is new again.
    code, out, _ = run("ingest", "--samples", "--db", samples_db)
    assert out.splitlines()[0] == (
        "posts: 1 new, 0 updated, 2 unchanged, 0 rejected; papers: 15; tweets: 17"
    )


def test_forget_day_notes_a_post_the_bot_would_read_again(run: Run, tmp_path: Path) -> None:
    watched = tmp_path / "posts"
    watched.mkdir()
    post = watched / "2021-03-05---Hot-Papers.md"
    shutil.copy(sample_posts()[0], post)
    config = tmp_path / "hotpapers.toml"
    config.write_text(
        f"[database]\npath = {json.dumps(str(tmp_path / 'bot.sqlite3'))}\n\n"
        f"[source]\ndirectory = {json.dumps(str(watched))}\n",
        encoding="utf-8",
    )
    assert run("ingest", watched, "--config", config)[0] == 0
    code, out, _ = run("forget-day", "2021-03-05", "--config", config)
    assert code == 0
    assert out.splitlines()[-1] == (
        f"note: {post} is still in the watched directory: delete it, or the bot stores the day "
        "again when it next starts"
    )
    post.unlink()
    assert run("ingest", "--samples", "--config", config)[0] == 0
    code, out, _ = run("forget-day", "2021-03-05", "--config", config)
    assert code == 0
    assert len(out.splitlines()) == 3  # no note: a bundled sample is no watched post


@pytest.mark.parametrize(
    ("date", "code", "message"),
    [
        ("2021-03-06", 1, "no post for 2021-03-06 in the archive; `hotpapers days` lists them"),
        ("2021-3-24", 2, "'2021-3-24' is not a date; expected YYYY-MM-DD"),
        ("20210324", 2, "'20210324' is not a date; expected YYYY-MM-DD"),
    ],
)
def test_forget_day_errors(run: Run, samples_db: Path, date: str, code: int, message: str) -> None:
    before = run("days", "--db", samples_db)
    assert run("forget-day", date, "--db", samples_db) == (code, "", f"hotpapers: {message}\n")
    assert run("days", "--db", samples_db) == before


# --- a missing archive ------------------------------------------------------------------------


def no_archive(path: Path | str) -> str:
    return f"hotpapers: no archive at {path}; store posts with `hotpapers ingest PATH...` first\n"


@pytest.mark.parametrize(
    "command",
    [
        ["paper", "2103.03206"],
        ["paper", "2103.03206", "--json"],
        ["export"],
        ["days"],
        ["day"],
        ["day", "2021-03-05"],
        ["digest", "--date", "2021-03-05", "--categories", "cs.CV"],
        ["digest", "--date", "2021-03-05", "--categories", "cs.CV", "--json"],
        ["forget-day", "2021-03-05"],
    ],
)
def test_read_only_commands_refuse_a_missing_archive(
    run: Run, tmp_path: Path, command: list[str]
) -> None:
    mistyped = tmp_path / "archve.sqlite3"
    assert run(*command, "--db", mistyped) == (1, "", no_archive(mistyped))
    assert list(tmp_path.iterdir()) == []


def test_the_default_archive_must_exist_too(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("days") == (1, "", no_archive("hotpapers.sqlite3"))
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_come_before_the_missing_archive(run: Run, tmp_path: Path) -> None:
    mistyped = tmp_path / "archve.sqlite3"
    assert run("paper", "not-an-id", "--db", mistyped)[0] == 2
    assert run("day", "yesterday", "--db", mistyped) == (
        2,
        "",
        "hotpapers: 'yesterday' is not a date; expected YYYY-MM-DD\n",
    )
    assert run("day", "--top", "0", "--db", mistyped)[0] == 2
    assert list(tmp_path.iterdir()) == []


def test_ingest_still_creates_the_archive(run: Run, tmp_path: Path) -> None:
    db = tmp_path / "new" / "archive.sqlite3"
    db.parent.mkdir()
    code, _, err = run("ingest", "--samples", "--db", db)
    assert (code, err) == (0, "")
    assert db.is_file()
    assert run("days", "--db", db)[1].splitlines()[-1] == "3 days, 38 papers listed"


# --- configuration -----------------------------------------------------------------------------


def test_config_file_database_path_and_db_override(run: Run, tmp_path: Path) -> None:
    configured = tmp_path / "from-config.sqlite3"
    config = tmp_path / "hotpapers.toml"
    config.write_text(f"[database]\npath = {json.dumps(str(configured))}\n", encoding="utf-8")

    code, out, _ = run("ingest", "--samples", "--config", config)
    assert code == 0
    assert out.splitlines()[1] == f"archive: 3 days, 38 papers, 48 tweets in {configured}"
    assert configured.is_file()

    override = tmp_path / "from-db-option.sqlite3"
    assert run("days", "--config", config, "--db", override) == (1, "", no_archive(override))
    assert not override.exists()
    assert run("days", "--config", config)[1].splitlines()[-1] == "3 days, 38 papers listed"


def test_hotpapers_db_in_the_environ(run: Run, samples_db: Path, tmp_path: Path) -> None:
    environ = {"HOTPAPERS_DB": str(samples_db)}
    assert run("days", environ=environ)[1].splitlines()[-1] == "3 days, 38 papers listed"
    other = tmp_path / "other.sqlite3"
    assert run("days", "--db", other, environ=environ) == (1, "", no_archive(other))
    missing = tmp_path / "missing.sqlite3"
    assert run("days", environ={"HOTPAPERS_DB": str(missing)}) == (1, "", no_archive(missing))
    assert not other.exists()
    assert not missing.exists()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[database]\npth = 1\n", "unknown key(s) in [database]: pth"),
        ("[database]\npath = 5\n", "[database] path must be a str, got 5"),
        ("[database\n", "not valid TOML"),
    ],
)
def test_bad_config_is_a_usage_error(run: Run, tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    code, out, err = run("days", "--config", config, "--db", tmp_path / "x.sqlite3")
    assert (code, out) == (2, "")
    assert err.startswith(f"hotpapers: {config}: ")
    assert message in err
    assert not (tmp_path / "x.sqlite3").exists()


def test_missing_config_file(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    assert run("days", "--config", missing) == (
        2,
        "",
        f"hotpapers: config file {missing} does not exist\n",
    )


def test_a_corrupt_database_is_reported(run: Run, tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"\x00not a database\xff" * 500)
    code, out, err = run("days", "--db", junk)
    assert (code, out) == (1, "")
    assert err.startswith(f"hotpapers: cannot use database {junk}: ")


def test_an_unopenable_database_is_reported_without_a_traceback(run: Run, tmp_path: Path) -> None:
    code, out, err = run("days", "--db", tmp_path)  # a directory
    assert (code, out) == (1, "")
    assert err == f"hotpapers: cannot open database {tmp_path}: unable to open database file\n"
    # An aiosqlite worker thread that outlived the event loop would fail now, and pytest
    # would report its exception at teardown.
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            thread.join(timeout=5)


def test_usage_errors_exit_2(run: Run) -> None:
    code, out, err = run()
    assert (code, out) == (2, "")
    assert err.splitlines()[-1].startswith("hotpapers: error: the following arguments are")


# --- run ----------------------------------------------------------------------------------------

NO_TOKEN = (
    "hotpapers: DISCORD_TOKEN is not set: export the bot token from the Discord developer "
    "portal; to try the bot offline without one, run `hotpapers sandbox`\n"
)


@pytest.mark.parametrize("environ", [{}, {"DISCORD_TOKEN": " "}])
def test_run_without_a_token_opens_no_database(
    run: Run, tmp_path: Path, environ: dict[str, str]
) -> None:
    configured = tmp_path / "production.sqlite3"
    config = tmp_path / "hotpapers.toml"
    config.write_text(f"[database]\npath = {json.dumps(str(configured))}\n", encoding="utf-8")
    assert run("run", "--config", config, environ=environ) == (2, "", NO_TOKEN)
    assert not configured.exists()


def test_run_without_a_token_leaves_an_archive_as_it_was(run: Run, samples_db: Path) -> None:
    config = samples_db.parent / "hotpapers.toml"
    config.write_text(f"[database]\npath = {json.dumps(str(samples_db))}\n", encoding="utf-8")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in samples_db.parent.iterdir()}
    assert run("run", "--config", config) == (2, "", NO_TOKEN)
    assert run("run", environ={"HOTPAPERS_DB": str(samples_db)}) == (2, "", NO_TOKEN)
    assert run("run", "--db", samples_db) == (2, "", NO_TOKEN)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in samples_db.parent.iterdir()}
    assert after == before


@pytest.mark.parametrize(
    "command",
    [["run"], ["digest", "--date", "2021-03-05", "--categories", "cs"]],
    ids=lambda command: command[0],
)
def test_a_missing_templates_directory_is_a_usage_error(
    run: Run, samples_db: Path, tmp_path: Path, command: list[str]
) -> None:
    config = tmp_path / "hotpapers.toml"
    nowhere = tmp_path / "nowhere"
    config.write_text(f"[templates]\ndirectory = {json.dumps(str(nowhere))}\n", encoding="utf-8")
    environ = {"DISCORD_TOKEN": "test-token"}
    assert run(*command, "--config", config, "--db", samples_db, environ=environ) == (
        2,
        "",
        f"hotpapers: [templates] directory {nowhere} does not exist or is not a directory\n",
    )


def start_run(config: Path, *args: str) -> subprocess.Popen[str]:
    """`hotpapers run -v` as a process, with a token."""
    environ = {k: v for k, v in os.environ.items() if k != "HOTPAPERS_DB"}
    environ["DISCORD_TOKEN"] = "test-token"
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config), "-v", *args],
        cwd=REPO_ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def discord_at(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "hotpapers.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "bot.sqlite3"}"\n\n'
        f'[discord]\napi_base = "http://127.0.0.1:{port}/api/v10"\n'
        f'gateway_url = "ws://127.0.0.1:{port}/"\n',
        encoding="utf-8",
    )
    return config


def test_run_when_discord_cannot_be_reached(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        port = closed.getsockname()[1]
        process = start_run(discord_at(tmp_path, port))
        out, err = process.communicate(timeout=60)
    assert (process.returncode, out) == (1, "")
    last = err.splitlines()[-1]
    assert last.startswith(
        f"hotpapers: cannot log in to Discord at http://127.0.0.1:{port}/api/v10: "
        f"Cannot connect to host 127.0.0.1:{port}"
    )
    assert "Traceback" not in err


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_logging_in_stops_cleanly(tmp_path: Path, number: signal.Signals) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(60)
        process = start_run(discord_at(tmp_path, server.getsockname()[1]))
        try:
            connection, _ = server.accept()  # the bot logs in; Discord never answers
            with connection:
                process.send_signal(number)
                out, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert (process.returncode, out) == (0, ""), err
    assert f"{number.name}: stopping once the messages being posted are recorded" in err
    assert "Traceback" not in err


# --- the installed entry point -----------------------------------------------------------------


def test_python_dash_m_bot(tmp_path: Path) -> None:
    db = tmp_path / "archive.sqlite3"
    environ = {k: v for k, v in os.environ.items() if k != "HOTPAPERS_DB"}

    def python_m_bot(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *map(str, args)],
            cwd=REPO_ROOT,
            env=environ,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )

    ingest = python_m_bot("ingest", "--samples", "--db", db)
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stdout.splitlines()[0] == SAMPLES_SUMMARY
    paper = python_m_bot("paper", "2103.03206", "--db", db)
    assert paper.returncode == 0, paper.stderr
    assert paper.stdout.splitlines()[0] == PERCEIVER.title
    assert "Tweets (3):" in paper.stdout


def test_python_dash_m_bot_prints_each_rejection_once(tmp_path: Path) -> None:
    db = tmp_path / "archive.sqlite3"
    bad = tmp_path / "bad.md"
    text = sample_posts()[1].read_text(encoding="utf-8")
    bad.write_text(text.replace("- retweets: 311,", "- retweets: 3x1,"), encoding="utf-8")
    line = text.split("\n").index("- retweets: 311, favorites: 107 (03/16/2021 09:09:32)") + 1
    environ = {k: v for k, v in os.environ.items() if k != "HOTPAPERS_DB"}

    ingest = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", "--db", str(db), str(bad)],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert ingest.stderr == (
        f"{bad}:{line}: bad counts line '- retweets: 3x1, favorites: 107 (03/16/2021 09:09:32)'; "
        "expected '- retweets: N, favorites: N (MM/DD/YYYY HH:MM:SS)'\n"
    )
    assert ingest.returncode == 1
    assert ingest.stdout.splitlines() == [
        "posts: 0 new, 0 updated, 0 unchanged, 1 rejected; papers: 0; tweets: 0",
        f"archive: 0 days, 0 papers, 0 tweets in {db}",
    ]


# --- make-day (with the Bluesky stand-ins: tests/e2e/test_bluesky.py) -------------------------


def test_make_day_of_a_malformed_date(run: Run, empty_db: Path) -> None:
    assert run("make-day", "--date", "2025-13-01", "--db", empty_db) == (
        2,
        "",
        "hotpapers: '2025-13-01' is not a date; expected YYYY-MM-DD\n",
    )


def test_make_day_of_a_day_not_over_yet(run: Run, empty_db: Path) -> None:
    code, out, err = run("make-day", "--date", "2999-01-01", "--db", empty_db)
    assert (code, out) == (2, "")
    assert re.fullmatch(
        r"hotpapers: 2999-01-01 is not over yet: its window \(2999-01-01 00:00 to 2999-01-02 "
        r"00:00 UTC\) ends in [\d,]+ days; build it after that\n",
        err,
    ), err


def test_make_day_says_in_how_long_an_open_day_ends(
    run: Run, empty_db: Path, tmp_path: Path
) -> None:
    closes = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=90)).replace(second=0, microsecond=0)
    day_ends = closes.strftime("%H:%M")
    config = tmp_path / "hotpapers.toml"
    config.write_text(f'[bluesky]\nday_ends = "{day_ends}"\n', encoding="utf-8")
    date = DaySchedule(day_ends).date_of(closes - dt.timedelta(microseconds=1))
    code, out, err = run(
        "make-day", "--date", date.isoformat(), "--db", empty_db, "--config", config
    )
    assert (code, out) == (2, "")
    assert re.search(
        rf"to \S+ {day_ends} UTC\) ends in (89|90) minutes; build it after that\n$", err
    )


def test_make_day_without_collected_posts_stores_nothing(run: Run, empty_db: Path) -> None:
    code, out, err = run("make-day", "--date", "2025-06-15", "--db", empty_db)
    assert (code, out) == (1, "")
    assert err == (
        "hotpapers: no Bluesky post linking a paper was collected for 2025-06-15 (2025-06-15 "
        "00:00 to 2025-06-16 00:00 UTC); nothing stored. `hotpapers run` or `hotpapers collect` "
        "collects them, and they are kept 14 days\n"
    )


def test_make_day_without_an_archive(run: Run, db: Path) -> None:
    code, out, err = run("make-day", "--date", "2025-06-15", "--db", db)
    assert (code, out) == (1, "")
    assert err.startswith(f"hotpapers: no archive at {db}")
    assert not db.exists()
