"""bot.digest: which papers of a sample day a channel's categories select, and the per-day cache."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import pytest

from bot.digest import DayDigests, Digest, DigestEntry, build_digest, subscription_codes
from bot.follows import parse_follow
from bot.ingest.parser import parse_post
from bot.models import Day
from bot.samples import sample_posts
from bot.taxonomy import UnknownCategory


@functools.cache
def sample_day(date: str) -> Day:
    for path in sample_posts():
        if path.name.startswith(date):
            return parse_post(path.read_bytes(), str(path))
    raise LookupError(date)


def ranks(digest: Digest | None) -> list[int]:
    assert digest is not None
    return [e.ranked.appearance.rank for e in digest.entries]


def test_exact_code_keeps_the_post_rank_order() -> None:
    digest = build_digest(sample_day("2021-03-05"), ["cs.CV"], top=25)
    assert digest is not None
    assert ranks(digest) == [3, 4, 7, 8, 9, 10, 11, 12]
    assert digest.matched == 8
    assert digest.total == 13
    assert digest.date == dt.date(2021, 3, 5)
    assert digest.categories == ("cs.CV",)
    assert not digest.cut
    perceiver = digest.entries[0]
    assert perceiver.ranked.paper.arxiv_id == "2103.03206"
    assert perceiver.ranked.paper.title == "Perceiver: General Perception with Iterative Attention"
    assert perceiver.matching == ("cs.CV",)
    assert (perceiver.ranked.appearance.retweets, perceiver.ranked.appearance.favorites) == (
        857,
        251,
    )
    assert perceiver.ranked.tweets[0].url == (
        "https://twitter.com/arankomatsuzaki/status/1367657530143383561"
    )


def test_matching_lists_the_covered_categories_in_the_paper_order() -> None:
    digest = build_digest(sample_day("2021-03-05"), ["cs.LG", "cs.CV"], top=25)
    assert digest is not None
    by_rank = {e.ranked.appearance.rank: e.matching for e in digest.entries}
    assert by_rank[3] == ("cs.CV", "cs.LG")  # cs.CV cs.AI cs.LG cs.SD eess.AS
    assert by_rank[2] == ("cs.LG",)  # stat.ML cs.LG
    assert by_rank[9] == ("cs.CV", "cs.LG")  # eess.IV cs.CV cs.LG
    assert digest.categories == ("cs.CV", "cs.LG")  # sorted, whatever order they came in
    assert ranks(digest) == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13]  # all but #5, cs.PL


@pytest.mark.parametrize("wildcard", ["eess.*", "eess", "EESS"])
def test_an_archive_wildcard_matches_its_categories(wildcard: str) -> None:
    digest = build_digest(sample_day("2021-03-05"), [wildcard], top=10)
    assert digest is not None
    assert ranks(digest) == [3, 9]
    assert [e.matching for e in digest.entries] == [("eess.AS",), ("eess.IV",)]
    assert digest.categories == ("eess.*",)


def test_wildcard_and_code_together_match_each_paper_once() -> None:
    digest = build_digest(sample_day("2021-03-24"), ["math.*", "econ.TH", "cs.CL"], top=10)
    assert digest is not None
    assert ranks(digest) == [8, 10, 12]
    assert digest.entries[2].matching == ("econ.TH", "math.OC")
    assert digest.categories == ("cs.CL", "econ.TH", "math.*")


def test_top_cuts_after_matching() -> None:
    digest = build_digest(sample_day("2021-03-05"), ["cs.CV"], top=3)
    assert digest is not None
    assert ranks(digest) == [3, 4, 7]
    assert (digest.matched, digest.total) == (8, 13)
    assert digest.cut


def test_min_score_counts_retweets_plus_favorites() -> None:
    day = sample_day("2021-03-05")
    # cs.CV scores by rank: 3: 1108, 4: 975, 7: 543, 8: 450, 9: 373, 10: 283, 11: 101, 12: 83.
    at_373 = build_digest(day, ["cs.CV"], top=10, min_score=373)
    assert ranks(at_373) == [3, 4, 7, 8, 9]
    assert at_373 is not None
    assert at_373.matched == 5
    assert at_373.min_score == 373
    assert ranks(build_digest(day, ["cs.CV"], top=10, min_score=374)) == [3, 4, 7, 8]
    # min_score filters before top cuts: 5 qualify, 2 shown.
    cut = build_digest(day, ["cs.CV"], top=2, min_score=373)
    assert ranks(cut) == [3, 4]
    assert cut is not None
    assert cut.matched == 5
    assert cut.total == 13


def test_no_match_is_none() -> None:
    day = sample_day("2021-03-05")
    assert build_digest(day, ["hep-th"], top=10) is None
    assert build_digest(day, ["cs.CV"], top=10, min_score=1109) is None
    assert build_digest(day, [], top=10) is None


def test_a_paper_without_tweets_is_kept() -> None:
    digest = build_digest(sample_day("2021-03-15"), ["cs.CV"], top=25)
    assert ranks(digest) == [1, 2, 4, 5, 6, 8, 9]
    assert digest is not None
    assert digest.entries[-1].ranked.tweets == ()


def test_bad_arguments_raise() -> None:
    day = sample_day("2021-03-05")
    with pytest.raises(UnknownCategory) as info:
        build_digest(day, ["cs.VC"], top=10)
    assert "cs.CV" in info.value.suggestions
    for top in (0, 26):
        with pytest.raises(ValueError, match="top must be 1 to 25"):
            build_digest(day, ["cs.CV"], top=top)
    with pytest.raises(ValueError, match="min_score"):
        build_digest(day, ["cs.CV"], top=10, min_score=-1)


def test_subscription_codes_normalize_dedupe_and_sort() -> None:
    assert subscription_codes(["cs.lg", " CS.CV", "cs.LG", "stat"]) == ("cs.CV", "cs.LG", "stat.*")


def test_digest_types_are_frozen() -> None:
    digest = build_digest(sample_day("2021-03-05"), ["cs.PL"], top=10)
    assert digest is not None
    assert digest.entries == (
        DigestEntry(ranked=sample_day("2021-03-05").papers[4], matching=("cs.PL",)),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        digest.matched = 3  # type: ignore[misc]


def test_day_digests_returns_the_same_objects_for_equal_keys() -> None:
    day = sample_day("2021-03-05")
    digests = DayDigests(day)
    first = digests.digest(["cs.CV", "cs.LG"], top=5)
    assert first is not None
    assert digests.digest(["cs.LG", "cs.CV"], top=5) is first
    assert digests.digest(frozenset({"cs.CV", "cs.LG"}), top=5, min_score=0) is first
    assert digests.digest(("cs.lg", "CS.CV", "cs.CV"), top=5) is first  # same once normalized
    assert digests.builds == 1
    assert first == build_digest(day, ["cs.CV", "cs.LG"], top=5)

    other_top = digests.digest(["cs.CV", "cs.LG"], top=4)
    other_score = digests.digest(["cs.CV", "cs.LG"], top=5, min_score=1)
    assert other_top is not first
    assert other_score is not first
    assert digests.builds == 3
    assert len(digests) == 3

    assert digests.digest(["hep-th"], top=5) is None
    assert digests.digest(["hep-th"], top=5) is None
    assert digests.builds == 4


def test_day_digests_keys_are_normalized() -> None:
    digests = DayDigests(sample_day("2021-03-05"))
    assert digests.key(["CS", "cs.lg"], top=5) == (frozenset({"cs.*", "cs.LG"}), 5, 0, ())
    assert digests.key({"cs.*", "cs.LG"}, top=5, min_score=7) == (
        frozenset({"cs.*", "cs.LG"}),
        5,
        7,
        (),
    )


def test_day_digests_rejects_bad_arguments() -> None:
    digests = DayDigests(sample_day("2021-03-05"))
    with pytest.raises(UnknownCategory):
        digests.digest(["cs.XX"], top=10)
    with pytest.raises(ValueError, match="top must be 1 to 25, got 0"):
        digests.key(["cs.CV"], top=0)
    with pytest.raises(ValueError, match="min_score must be at least 0, got -1"):
        digests.digest(["cs.CV"], top=10, min_score=-1)


# --- follows -----------------------------------------------------------------------------------

DIMENSION = parse_follow("keyword", "dimension reduction")  # #3 Modern Dimension Reduction, cs.LG
MILTENBURG = parse_follow("author", "Emiel van Miltenburg")  # #10, cs.CL, 80 retweets + favorites
KRAHENBUHL = parse_follow("author", "Philipp Krahenbuhl")  # #2, cs.CV: Philipp Krähenbühl


def marks(digest: Digest | None) -> dict[int, tuple[str, ...]]:
    assert digest is not None
    return {e.ranked.appearance.rank: tuple(f.text for f in e.followed) for e in digest.entries}


def test_follows_add_their_papers_after_the_selected_ones_whatever_their_rank() -> None:
    day = sample_day("2021-03-15")
    follows = [KRAHENBUHL, MILTENBURG, DIMENSION]
    digest = build_digest(day, ["cs.CV"], top=10, follows=follows)
    # cs.CV selects #1 #2 #4 #5 #6 #8 #9; the follows add #3 (cs.LG) and #10 (cs.CL) after
    # them in rank order, and mark #2 as well.
    assert ranks(digest) == [1, 2, 4, 5, 6, 8, 9, 3, 10]
    assert marks(digest) == {
        1: (),
        2: ("Philipp Krahenbuhl",),
        4: (),
        5: (),
        6: (),
        8: (),
        9: (),
        3: ("dimension reduction",),
        10: ("Emiel van Miltenburg",),
    }
    assert digest is not None
    assert (digest.matched, digest.followed, digest.cut) == (7, 2, False)
    # The categories a followed paper has in common with the channel's are shown as such.
    assert [e.matching for e in digest.entries[-2:]] == [(), ()]


def test_follows_pass_the_top_cut_and_the_minimum_score() -> None:
    day = sample_day("2021-03-15")
    digest = build_digest(day, ["cs.CV"], top=1, min_score=200, follows=[MILTENBURG, KRAHENBUHL])
    # #1 (915) is the top 1 of the 3 cs.CV papers scoring 200 or more (915, 418, 294); #2
    # (418) was cut and #10 (80, cs.CL) scores less, but both are followed.
    assert ranks(digest) == [1, 2, 10]
    assert digest is not None
    assert (digest.matched, digest.followed, digest.cut) == (3, 2, True)


def test_a_channel_with_follows_only() -> None:
    day = sample_day("2021-03-15")
    digest = build_digest(day, [], top=10, follows=[DIMENSION])
    assert ranks(digest) == [3]
    assert digest is not None
    assert (digest.categories, digest.matched, digest.followed) == ((), 0, 1)
    assert build_digest(day, [], top=10, follows=[parse_follow("keyword", "quantum")]) is None
    assert build_digest(day, [], top=10) is None


def test_follows_add_at_most_the_digest_top() -> None:
    day = sample_day("2021-03-24")  # 15 papers
    every = [parse_follow("keyword", w) for w in ("the", "a", "of", "and", "with", "for")]
    digest = build_digest(day, ["hep-lat"], top=1, follows=every)
    assert digest is not None
    assert (len(digest.entries), digest.followed) == (15, 15)  # all of them: 15 <= 25
    assert ranks(digest) == list(range(1, 16))


def test_channels_whose_follows_match_nothing_share_the_plain_digest() -> None:
    digests = DayDigests(sample_day("2021-03-15"))
    plain = digests.digest(["cs.CV"], top=10)
    unmatched = digests.digest(["cs.CV"], top=10, follows=[parse_follow("keyword", "quantum")])
    followed = digests.digest(["cs.CV"], top=10, follows=[DIMENSION])
    again = digests.digest(
        ["cs.CV"], top=10, follows=[parse_follow("keyword", "quantum"), DIMENSION]
    )
    # The mark shows the follow as the channel typed it: typed otherwise, another digest.
    retyped = digests.digest(
        ["cs.CV"], top=10, follows=[parse_follow("keyword", "Dimension-Reduction")]
    )
    assert unmatched is plain
    assert followed is not plain
    assert again is followed
    assert retyped is not followed
    assert marks(retyped)[3] == ("Dimension-Reduction",)
    assert digests.builds == 3
