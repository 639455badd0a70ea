"""Hot Papers posts for tests and benches: the bundled samples, days made from them, and
the ways a post arrives broken (cut short, junk, Latin-1, a line missing).

``as_archived`` says how the archive gives parsed days back, to compare with what it stores.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
from collections.abc import Iterable
from pathlib import Path

from bot.models import Day, Paper
from bot.samples import sample_posts

# The three bundled posts, oldest first.
SAMPLE_POSTS: tuple[Path, ...] = tuple(sample_posts())


def sample_post(date: str) -> Path:
    """The bundled post of ``date`` (YYYY-MM-DD)."""
    for path in SAMPLE_POSTS:
        if path.name.startswith(date):
            return path
    raise LookupError(f"no bundled post for {date}: {[p.name for p in SAMPLE_POSTS]}")


def sample_text(date: str) -> str:
    return sample_post(date).read_text(encoding="utf-8")


def retitled(text: str, date: str) -> str:
    """The same post published as the Hot Papers of another day."""
    old = re.search(r"^title: Hot Papers (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    assert old is not None
    return text.replace(old[1], date)


def merged_post(date: str, texts: Iterable[str]) -> str:
    """One post listing the papers of several posts, renumbered in order: a big day."""
    parts = list(texts)
    front, _, _ = parts[0].partition("\n# 1. ")
    sections: list[str] = []
    for text in parts:
        body = "# 1. " + text.partition("\n# 1. ")[2]
        sections += [s for s in re.split(r"(?m)^(?=# \d+\. )", body) if s.strip()]
    renumbered = [
        re.sub(r"^# \d+\. ", f"# {rank}. ", section.rstrip("\n") + "\n\n\n", count=1)
        for rank, section in enumerate(sections, start=1)
    ]
    return retitled(front + "\n" + "".join(renumbered), date)


# ---------------------------------------------------------------------------------------------
# Broken posts
# ---------------------------------------------------------------------------------------------

STRUCTURAL = re.compile(r"- (links|retweets): ")


def mid_line_cut(data: bytes, fraction: float) -> bytes:
    """The first ``fraction`` of ``data``, ending inside a line (as a writer leaves it).

    A post cut right after a blank line can be a valid shorter post: nothing in the format
    tells, so this never cuts there.
    """
    cut = max(1, int(len(data) * fraction))
    while cut > 1 and data[cut - 1 : cut] in (b"\n", b"\r"):
        cut -= 1
    return data[:cut]


def binary_junk(rng: random.Random, size: int = 4096) -> bytes:
    """Random bytes with NULs in them, as a failed download or a stray binary leaves."""
    data = bytearray(rng.randbytes(size))
    data[rng.randrange(size)] = 0
    return bytes(data)


def as_latin1(data: bytes) -> bytes:
    """The post saved in Latin-1 (characters outside it as '?'): not UTF-8 when it has any
    of U+0080..U+00FF."""
    return data.decode("utf-8").encode("latin-1", errors="replace")


def without_line(data: bytes, rng: random.Random) -> bytes:
    """The post minus one of its papers' links or counts lines (picked by ``rng``)."""
    lines = data.decode("utf-8").split("\n")
    candidates = [i for i, line in enumerate(lines) if STRUCTURAL.match(line)]
    del lines[rng.choice(candidates)]
    return "\n".join(lines).encode("utf-8")


def as_archived(days: list[Day]) -> dict[dt.date, Day]:
    """The days as the archive gives them back: each as ``parse_post`` read it, except that
    a paper listed on several days carries the metadata of the newest of them (the archive
    keeps one record per paper)."""
    newest: dict[str, Paper] = {}
    for day in sorted(days, key=lambda d: d.date):
        for ranked in day.papers:
            newest[ranked.paper.arxiv_id] = ranked.paper
    return {
        day.date: dataclasses.replace(
            day,
            papers=tuple(
                dataclasses.replace(p, paper=newest[p.paper.arxiv_id]) for p in day.papers
            ),
        )
        for day in days
    }
