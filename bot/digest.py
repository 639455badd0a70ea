"""Daily digests: which of a day's Hot Papers a channel's categories select, and in what order.

Pure: takes data, returns data. `build_digest` picks the papers for one subscription;
`DayDigests` serves many channels of one day, building each distinct subscription's digest
only once, since a day's delivery runs for every subscribed channel and most channels share a
few category sets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot import taxonomy
from bot.limits import DIGEST_TOP
from bot.models import Day, Platform, RankedPaper

__all__ = [
    "DayDigests",
    "Digest",
    "DigestEntry",
    "DigestKey",
    "build_digest",
    "subscription_codes",
]


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One paper of a digest and its categories that the channel's subscription covers."""

    ranked: RankedPaper
    matching: tuple[str, ...]  # in the paper's order


@dataclass(frozen=True, slots=True)
class Digest:
    """What one channel gets for one day: the selected papers in the post's rank order."""

    date: dt.date
    entries: tuple[DigestEntry, ...]
    matched: int  # papers that matched the categories and min_score, before the top cut
    total: int  # papers on the day's list
    categories: tuple[str, ...]  # the subscription's normalized codes, sorted
    min_score: int = 0  # the retweets + favorites (likes + reposts) a paper needed
    platform: Platform = "twitter"  # the day's, which says what its counts are called

    @property
    def cut(self) -> bool:
        """Whether `top` left out some matching papers."""
        return len(self.entries) < self.matched


def subscription_codes(categories: Iterable[str]) -> tuple[str, ...]:
    """Normalized, de-duplicated, sorted codes; raises taxonomy.UnknownCategory for a bad one."""
    return tuple(sorted({taxonomy.normalize(c) for c in categories}))


def _check(top: int, min_score: int) -> None:
    if not 1 <= top <= DIGEST_TOP:
        raise ValueError(f"top must be 1 to {DIGEST_TOP}, got {top}")
    if min_score < 0:
        raise ValueError(f"min_score must be at least 0, got {min_score}")


def _select(
    day: Day, codes: tuple[str, ...], top: int, min_score: int
) -> tuple[list[DigestEntry], int]:
    subscribed = frozenset(codes)
    entries: list[DigestEntry] = []
    matched = 0
    for ranked in day.papers:
        seen = ranked.appearance
        if seen.score < min_score:
            continue
        covered = taxonomy.matching(subscribed, ranked.paper.categories)
        if not covered:
            continue
        matched += 1
        if len(entries) < top:
            entries.append(DigestEntry(ranked=ranked, matching=covered))
    return entries, matched


def build_digest(
    day: Day, categories: Iterable[str], *, top: int, min_score: int = 0
) -> Digest | None:
    """The day's papers in any of `categories` (codes or wildcards like "cs.*"), best first.

    Keeps the post's rank order and papers scoring (retweets + favorites) at least
    `min_score`, then the first `top` of them. None when no paper matches: nothing to post.
    Raises taxonomy.UnknownCategory for a category that is not one, ValueError for a `top`
    outside 1..DIGEST_TOP or a negative `min_score`.
    """
    _check(top, min_score)
    return _build(day, subscription_codes(categories), top, min_score)


def _build(day: Day, codes: tuple[str, ...], top: int, min_score: int) -> Digest | None:
    entries, matched = _select(day, codes, top, min_score)
    if not entries:
        return None
    return Digest(
        date=day.date,
        entries=tuple(entries),
        matched=matched,
        total=len(day.papers),
        categories=codes,
        min_score=min_score,
        platform=day.platform,
    )


DigestKey = tuple[frozenset[str], int, int]
"""What decides a digest of a day: the normalized category codes, `top` and `min_score`."""


class DayDigests:
    """The digests of one day for every channel, each distinct one built once.

    Results are cached per key (`key()`): equal keys get the very same objects back, and
    spellings that normalize alike ("CS", "cs.*") share one entry.
    """

    def __init__(self, day: Day) -> None:
        self.day = day
        self._keys: dict[DigestKey, DigestKey] = {}  # as asked -> normalized
        self._digests: dict[DigestKey, Digest | None] = {}
        self.builds = 0  # digests actually built, for tests and metrics

    def key(self, categories: Iterable[str], *, top: int, min_score: int = 0) -> DigestKey:
        """The normalized key; raises as build_digest does for bad arguments."""
        asked = (frozenset(categories), top, min_score)
        key = self._keys.get(asked)
        if key is None:
            _check(top, min_score)
            key = (frozenset(subscription_codes(asked[0])), top, min_score)
            self._keys[asked] = key
        return key

    def digest(self, categories: Iterable[str], *, top: int, min_score: int = 0) -> Digest | None:
        """Like build_digest(self.day, ...), cached."""
        key = self.key(categories, top=top, min_score=min_score)
        try:
            return self._digests[key]
        except KeyError:
            pass
        self.builds += 1
        digest = _build(self.day, tuple(sorted(key[0])), top, min_score)
        self._digests[key] = digest
        return digest

    def __len__(self) -> int:
        """How many distinct digests have been built."""
        return len(self._digests)
