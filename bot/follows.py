"""Follows: what a followed keyword or author name matches, and a day's papers indexed so that
each follow is a dictionary lookup, however many channels and members follow something.

Pure. Text is normalised once: Unicode NFKD, accents (combining marks) dropped, case folded,
cut into words at every character that is not a letter or digit ("Self-Supervised" is the
two words "self supervised").

- A keyword matches a phrase of whole words in a paper's title or in its abstract: "diffusion
  model" matches "a Diffusion Model for", "diffusion-model" and "diffusion modèl", but not
  "diffusion models" ("models" is another word).
- An author name matches by its key, first name + surname: the first word, then the last word
  with the particles before it joined on (van, von, der, de, le, la, di, da, ...). Every word
  in between (middle names and middle initials) is left out, apostrophes are dropped and
  "Last, First" is read as "First Last". So "Yann LeCun", "Yann A. LeCun", "yann lecun",
  "Yann Le Cun" and "LeCun, Yann" are one author, and so are "Juan Carlos Niebles" and "Juan
  C. Niebles". A first name given only as an initial ("Y. LeCun") is not forgiven: it is
  another key, as it could be any Y. LeCun.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from bot.models import Day, Follow, FollowKind
from bot.text import fold

__all__ = [
    "FOLLOW_KINDS",
    "MAX_PHRASE_WORDS",
    "TEXT_LIMIT",
    "DayIndex",
    "InvalidFollow",
    "label",
    "name_key",
    "parse_follow",
    "phrase_key",
]

FOLLOW_KINDS: Final = ("keyword", "author")
# The longest keyword phrase, in words; a day's index holds every phrase up to this long.
MAX_PHRASE_WORDS = 8
# Characters of a follow as typed: with its kind it makes an autocomplete value (100 at most).
TEXT_LIMIT = 80

_WORD = re.compile(r"\w+")
_NAME_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile("['\u2019\u02bc]")
_PARENTHESES = re.compile(r"\([^()]*\)")  # "Ludwig Schmidt (Google)": an affiliation
# Generational suffixes, never a surname: "Robert L. Logan IV", "Martin Luther King, Jr."
_SUFFIXES: Final = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Lower-case words that belong to the surname after them: "van der Maaten", "Le Cun".
_PARTICLES = frozenset(
    {
        *("al", "bin", "da", "dal", "das", "de", "degli", "dei", "del", "della", "den", "der"),
        *("des", "di", "do", "dos", "du", "el", "ibn", "la", "le", "lo", "san", "st", "te"),
        *("ten", "ter", "van", "vande", "vander", "von", "zu"),
    }
)


class InvalidFollow(ValueError):
    """A keyword or author name that cannot be followed; the message says why and what is
    expected."""


def phrase_key(text: str) -> str:
    """A keyword's words, folded and joined by single spaces ("" when it has none)."""
    return " ".join(_WORD.findall(fold(text)))


def name_key(name: str) -> str | None:
    """An author's first name + surname, as matching compares them; None for a name of fewer
    than two words."""
    name = _PARENTHESES.sub(" ", name)
    if "," in name:  # "LeCun, Yann", but not "Martin Luther King, Jr."
        last, _, first = name.partition(",")
        if not set(_NAME_WORD.findall(fold(first))) <= _SUFFIXES:
            name = f"{first} {last}"
    words = _NAME_WORD.findall(fold(_APOSTROPHES.sub("", name)))
    while len(words) > 2 and words[-1] in _SUFFIXES:
        words.pop()
    if len(words) < 2:
        return None
    start = len(words) - 1
    while start > 1 and words[start - 1] in _PARTICLES:
        start -= 1
    return f"{words[0]} {''.join(words[start:])}"


def parse_follow(kind: FollowKind, text: str) -> Follow:
    """The follow of a keyword or author name as typed; raises InvalidFollow saying what is
    wrong with it."""
    shown = " ".join(text.split())
    if len(shown) > TEXT_LIMIT:
        raise InvalidFollow(f"it is {len(shown)} characters long; at most {TEXT_LIMIT} are taken")
    if kind == "keyword":
        key = phrase_key(shown)
        if not key:
            raise InvalidFollow("it has no letter or digit; a keyword is one or more words")
        count = key.count(" ") + 1
        if count > MAX_PHRASE_WORDS:
            raise InvalidFollow(f"it has {count} words; a keyword has at most {MAX_PHRASE_WORDS}")
        return Follow("keyword", shown, key)
    found = name_key(shown)
    if found is None:
        raise InvalidFollow("an author is followed by first and last name, like Yann LeCun")
    return Follow("author", shown, found)


def label(follow: Follow) -> str:
    """A follow as the bot shows it, plain: "keyword 'diffusion'" or "author Yann LeCun"."""
    if follow.kind == "keyword":
        return f"keyword '{follow.text}'"
    return f"author {follow.text}"


class DayIndex:
    """A day's papers indexed for follows: every phrase of up to `max_words` words of each
    title and abstract, and every author's name key, each with the papers that have it.

    Built once per day; then each follow of each channel or member is one dictionary lookup
    (`papers`), whatever the number of papers.
    """

    def __init__(self, day: Day, max_words: int = MAX_PHRASE_WORDS) -> None:
        self.day = day
        phrases: dict[str, list[int]] = {}
        authors: dict[str, list[int]] = {}
        for position, ranked in enumerate(day.papers):
            paper = ranked.paper
            found: set[str] = set()
            for text in (paper.title, paper.abstract):
                found.update(_phrases(_WORD.findall(fold(text)), max_words))
            for phrase in found:
                phrases.setdefault(phrase, []).append(position)
            for key in {name_key(author) for author in paper.authors}:
                if key is not None:
                    authors.setdefault(key, []).append(position)
        self._tables: dict[str, dict[str, tuple[int, ...]]] = {
            "keyword": {k: tuple(v) for k, v in phrases.items()},
            "author": {k: tuple(v) for k, v in authors.items()},
        }

    def papers(self, follow: Follow) -> tuple[int, ...]:
        """The positions in `day.papers` (rank order) of the papers `follow` matches."""
        return self._tables[follow.kind].get(follow.key, ())

    def matches(self, follows: Iterable[Follow]) -> dict[int, tuple[Follow, ...]]:
        """Each matched paper's position, in rank order, with the follows that matched it
        (in the order given)."""
        found: dict[int, list[Follow]] = {}
        tables = self._tables
        for follow in follows:
            for position in tables[follow.kind].get(follow.key, ()):
                found.setdefault(position, []).append(follow)
        return {position: tuple(found[position]) for position in sorted(found)}


def _phrases(words: list[str], max_words: int) -> Iterable[str]:
    """Every run of 1 to `max_words` consecutive words, joined by spaces."""
    count = len(words)
    for start in range(count):
        phrase = words[start]
        yield phrase
        for end in range(start + 1, min(start + max_words, count)):
            phrase = f"{phrase} {words[end]}"
            yield phrase
