"""bot.follows: what a followed keyword or author name matches in the real sample days, and
what cannot be followed, with the reason a member reads."""

from __future__ import annotations

import pytest

from bot.follows import DayIndex, InvalidFollow, label, name_key, parse_follow, phrase_key
from bot.models import Follow
from bot.text import fold
from tests.support.archive import MARCH_5, MARCH_15, MARCH_24, SAMPLES

MARCH_15_DAY = SAMPLES[MARCH_15][0]


def ranks(index: DayIndex, kind: str, text: str) -> list[int]:
    """The ranks of the papers a follow matches."""
    follow = parse_follow(kind, text)  # type: ignore[arg-type]
    return [index.day.papers[p].appearance.rank for p in index.papers(follow)]


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Philipp Krähenbühl", "philipp krahenbuhl"),
        ("Adam Goliński", "adam golinski"),
        ("Eduardo Salmerón Castaño", "eduardo salmeron castano"),
        ("Straße", "strasse"),
        ("ﬁne-tuning", "fine-tuning"),  # the ligature, decomposed
        ("\uff27\uff30\uff34", "gpt"),  # full-width letters
        # Letters with no mark to drop, spelled as a reader without them would.
        ("Łukasz Kaiser", "lukasz kaiser"),
        ("Søren Hauberg", "soren hauberg"),
        ("Þór Ægisdóttir, Œuvre", "thor aegisdottir, oeuvre"),
    ],
)
def test_fold_drops_accents_and_case(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Dimension Reduction", "dimension reduction"),
        ("  dimension   REDUCTION ", "dimension reduction"),
        ("Self-Supervised Pretraining", "self supervised pretraining"),
        ("GPT-3", "gpt 3"),
        ("modèl", "model"),
    ],
)
def test_a_keyword_is_its_folded_words(text: str, key: str) -> None:
    assert phrase_key(text) == key


@pytest.mark.parametrize(
    "name",
    [
        "Yann LeCun",
        "Yann A. LeCun",
        "yann lecun",
        "YANN LECUN",
        "Yann Le Cun",
        "Yann le Cun",
        "LeCun, Yann",
        "Yann André LeCun",
        "Yánn LeCún",
    ],
)
def test_author_names_forgive_accents_case_particles_and_middle_names(name: str) -> None:
    assert name_key(name) == "yann lecun"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Y. LeCun", "y lecun"),  # a first name given as an initial is another key
        ("Philip D. Waggoner", "philip waggoner"),
        ("Chris van der Lee", "chris vanderlee"),
        ("Hélène Le Cadre", "helene lecadre"),
        ("Nicola De Cao", "nicola decao"),
        ("Quoc V. Le", "quoc le"),  # a one-word surname that is also a particle
        ("Conan O'Brien", "conan obrien"),
        ("Jun-Yan Zhu", "jun zhu"),
        # Generational suffixes and an affiliation in parentheses are no surname.
        ("Robert L. Logan IV", "robert logan"),
        ("Martin Luther King, Jr.", "martin king"),
        ("King, Martin Luther, Jr.", "martin king"),
        ("Ludwig Schmidt (Google)", "ludwig schmidt"),
        ("Łukasz Kaiser", "lukasz kaiser"),
        ("LeCun", None),
        ("", None),
    ],
)
def test_author_name_keys(name: str, key: str | None) -> None:
    assert name_key(name) == key


def test_a_follow_keeps_the_text_as_typed_with_spaces_tidied() -> None:
    assert parse_follow("keyword", "  Dimension   Reduction ") == Follow(
        "keyword", "Dimension Reduction", "dimension reduction"
    )
    lecun = Follow("author", "Yann A. LeCun", "yann lecun")
    assert parse_follow("author", "Yann A. LeCun") == lecun
    assert label(parse_follow("keyword", "diffusion")) == "keyword 'diffusion'"
    assert label(parse_follow("author", "Yann LeCun")) == "author Yann LeCun"


@pytest.mark.parametrize(
    ("kind", "text", "reason"),
    [
        ("keyword", "--", "it has no letter or digit; a keyword is one or more words"),
        ("keyword", "a b c d e f g h i", "it has 9 words; a keyword has at most 8"),
        ("keyword", "x" * 81, "it is 81 characters long; at most 80 are taken"),
        ("author", "LeCun", "an author is followed by first and last name, like Yann LeCun"),
        ("author", "J.-", "an author is followed by first and last name, like Yann LeCun"),
    ],
)
def test_what_cannot_be_followed_says_why(kind: str, text: str, reason: str) -> None:
    with pytest.raises(InvalidFollow) as info:
        parse_follow(kind, text)  # type: ignore[arg-type]
    assert str(info.value) == reason


def test_a_keyword_matches_whole_words_of_the_title_or_the_abstract() -> None:
    index = DayIndex(MARCH_15_DAY)
    assert ranks(index, "keyword", "Dimension Reduction") == [3]  # the title
    assert ranks(index, "keyword", "dimension-reduction") == [3]
    assert ranks(index, "keyword", "generative adversarial networks") == [1]  # the abstract
    assert ranks(index, "keyword", "two-stage object detection") == [2]
    assert ranks(index, "keyword", "dimension reductions") == []  # another word
    assert ranks(index, "keyword", "reduction dimension") == []  # another order
    assert ranks(index, "keyword", "dimens") == []  # part of a word
    # "Modern Dimension Reduction" then "Data are not only ...": no phrase across the two.
    assert ranks(index, "keyword", "reduction data") == []


def test_an_author_matches_forgiving_accents_and_middle_initials() -> None:
    index = DayIndex(MARCH_15_DAY)
    assert ranks(index, "author", "Philipp Krahenbuhl") == [2]  # listed as Philipp Krähenbühl
    assert ranks(index, "author", "Philip Waggoner") == [3]  # listed as Philip D. Waggoner
    assert ranks(index, "author", "vladlen koltun") == [2, 5]
    assert ranks(index, "author", "Chris Lee") == []  # listed as Chris van der Lee
    assert ranks(index, "author", "Chris Van Der Lee") == [10]
    march_24 = DayIndex(SAMPLES[MARCH_24][0])
    assert ranks(march_24, "author", "Helene LeCadre") == [12]  # Hélène Le Cadre
    assert ranks(march_24, "author", "Andrew Davison") == [1]  # Andrew J. Davison


def test_matches_group_the_follows_by_paper_in_rank_order() -> None:
    index = DayIndex(SAMPLES[MARCH_5][0])
    perceiver = parse_follow("keyword", "iterative attention")
    machine = parse_follow("keyword", "machine learning")
    author = parse_follow("author", "Xavier Bouthillier")
    unknown = parse_follow("author", "Nobody Here")
    found = index.matches([machine, perceiver, author, unknown])
    # Read from the post: "machine learning" is in the titles of #1, #2 and #6 and in their
    # abstracts (tweets are not searched).
    assert {MARCH_5_RANKS[p]: follows for p, follows in found.items()} == {
        1: (machine, author),
        2: (machine,),
        3: (perceiver,),
        6: (machine,),
    }
    assert list(found) == sorted(found)


MARCH_5_RANKS = [r.appearance.rank for r in SAMPLES[MARCH_5][0].papers]
