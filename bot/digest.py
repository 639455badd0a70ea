"""Daily digests: which of a day's Hot Papers a channel's categories select, and in what order.

Pure: takes data, returns data. `build_digest` picks the papers for one subscription;
`DayDigests` serves many channels of one day, building each distinct subscription's digest
only once, since a day's delivery runs for every subscribed channel and most channels share a
few category sets. A channel's follows add the papers they match after the papers its
categories select, whatever their rank, score or categories, and mark every paper they match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot import taxonomy
from bot.follows import DayIndex
from bot.limits import DIGEST_TOP
from bot.models import Day, Follow, Platform, RankedPaper

__all__ = [
    "DayDigests",
    "Digest",
    "DigestEntry",
    "DigestKey",
    "Followed",
    "build_digest",
    "subscription_codes",
]


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One paper of a digest and its categories that the channel's subscription covers."""

    ranked: RankedPaper
    matching: tuple[str, ...]  # in the paper's order
    followed: tuple[Follow, ...] = ()  # the channel's or member's follows that matched it


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
    followed: int = 0  # entries after the selected ones: papers only the follows matched

    @property
    def cut(self) -> bool:
        """Whether `top` left out some matching papers."""
        return len(self.entries) - self.followed < self.matched


def subscription_codes(categories: Iterable[str]) -> tuple[str, ...]:
    """Normalized, de-duplicated, sorted codes; raises taxonomy.UnknownCategory for a bad one."""
    return tuple(sorted({taxonomy.normalize(c) for c in categories}))


def _check(top: int, min_score: int) -> None:
    if not 1 <= top <= DIGEST_TOP:
        raise ValueError(f"top must be 1 to {DIGEST_TOP}, got {top}")
    if min_score < 0:
        raise ValueError(f"min_score must be at least 0, got {min_score}")


Followed = tuple[tuple[int, tuple[Follow, ...]], ...]
"""Papers follows matched: each one's position in the day's list (rank order) with the follows
that matched it; what a channel's follows add to its digest."""


def _select(
    day: Day, codes: tuple[str, ...], top: int, min_score: int, followed: Followed
) -> tuple[list[DigestEntry], int, int]:
    """The entries in rank order, how many papers the categories and score matched before the
    top cut, and how many entries only the follows brought."""
    subscribed = frozenset(codes)
    marks = dict(followed)
    entries: list[DigestEntry] = []
    chosen: set[int] = set()
    matched = 0
    for position, ranked in enumerate(day.papers if subscribed else ()):
        seen = ranked.appearance
        if seen.score < min_score:
            continue
        covered = taxonomy.matching(subscribed, ranked.paper.categories)
        if not covered:
            continue
        matched += 1
        if len(entries) < top:
            entries.append(DigestEntry(ranked, covered, marks.get(position, ())))
            chosen.add(position)
    added = 0
    for position, follows in followed:
        if position in chosen or added >= DIGEST_TOP:
            continue
        ranked = day.papers[position]
        covered = taxonomy.matching(subscribed, ranked.paper.categories) if subscribed else ()
        entries.append(DigestEntry(ranked, covered, follows))
        added += 1
    return entries, matched, added


def build_digest(
    day: Day,
    categories: Iterable[str],
    *,
    top: int,
    min_score: int = 0,
    follows: Iterable[Follow] = (),
) -> Digest | None:
    """The day's papers in any of `categories` (codes or wildcards like "cs.*"), best first,
    then those only `follows` match.

    Keeps the post's rank order and papers scoring (retweets + favorites) at least
    `min_score`, then the first `top` of them; the papers a follow matches come after them in
    rank order (at most DIGEST_TOP), and every entry a follow matched is marked with it. None
    when no paper matches: nothing to post. Raises taxonomy.UnknownCategory for a category
    that is not one, ValueError for a `top` outside 1..DIGEST_TOP or a negative `min_score`.
    """
    _check(top, min_score)
    follows = tuple(follows)
    followed = tuple(DayIndex(day).matches(follows).items()) if follows else ()
    return _build(day, subscription_codes(categories), top, min_score, followed)


def _build(
    day: Day, codes: tuple[str, ...], top: int, min_score: int, followed: Followed = ()
) -> Digest | None:
    entries, matched, added = _select(day, codes, top, min_score, followed)
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
        followed=added,
    )


DigestKey = tuple[frozenset[str], int, int, Followed]
"""What decides a digest of a day: the normalized category codes, `top`, `min_score` and the
papers the channel's follows matched (empty for most channels, which then share a digest)."""


class DayDigests:
    """The digests of one day for every channel, each distinct one built once.

    Results are cached per key (`key()`): equal keys get the very same objects back, and
    spellings that normalize alike ("CS", "cs.*") share one entry. The day's follow index
    (`index`) is built at the first follow looked up.
    """

    def __init__(self, day: Day) -> None:
        self.day = day
        self._keys: dict[tuple[frozenset[str], int, int], tuple[frozenset[str], int, int]] = {}
        self._digests: dict[DigestKey, Digest | None] = {}
        self._index: DayIndex | None = None
        self.builds = 0  # digests actually built, for tests and metrics

    @property
    def index(self) -> DayIndex:
        if self._index is None:
            self._index = DayIndex(self.day)
        return self._index

    def followed(self, follows: Iterable[Follow]) -> Followed:
        """The papers `follows` match, with the follows that matched each; () without follows."""
        follows = tuple(follows)
        return tuple(self.index.matches(follows).items()) if follows else ()

    def followed_entries(self, followed: Followed) -> tuple[DigestEntry, ...]:
        """The papers of `followed()`, in rank order, each marked with its follows: what a
        member who follows them is sent."""
        return tuple(
            DigestEntry(self.day.papers[position], (), marks) for position, marks in followed
        )

    def key(
        self,
        categories: Iterable[str],
        *,
        top: int,
        min_score: int = 0,
        follows: Iterable[Follow] = (),
    ) -> DigestKey:
        """The normalized key; raises as build_digest does for bad arguments."""
        asked = (frozenset(categories), top, min_score)
        key = self._keys.get(asked)
        if key is None:
            _check(top, min_score)
            key = (frozenset(subscription_codes(asked[0])), top, min_score)
            self._keys[asked] = key
        return (*key, self.followed(follows))

    def digest(
        self,
        categories: Iterable[str],
        *,
        top: int,
        min_score: int = 0,
        follows: Iterable[Follow] = (),
    ) -> Digest | None:
        """Like build_digest(self.day, ...), cached."""
        key = self.key(categories, top=top, min_score=min_score, follows=follows)
        return self.built(key)

    def built(self, key: DigestKey) -> Digest | None:
        """The digest of a key from `key()`, built at the first call."""
        try:
            return self._digests[key]
        except KeyError:
            pass
        self.builds += 1
        codes, top, min_score, followed = key
        digest = _build(self.day, tuple(sorted(codes)), top, min_score, followed)
        self._digests[key] = digest
        return digest

    def __len__(self) -> int:
        """How many distinct digests have been built."""
        return len(self._digests)
