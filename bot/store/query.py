"""What a member typed into /search, as a full-text query that SQLite cannot misread.

Words must all be present, `"quoted phrases"` as written (typographic quotes too), `-word`,
`NOT word` and `-"a phrase"` must be absent, and `word*` also finds longer words
(`transform*`: transformer, transformers); `AND` is what a search does anyway, and `OR` or
`NEAR` is refused with the reason. Each
term reaches FTS5 as a quoted string, so nothing typed is read as FTS5 syntax (AND, NEAR,
column filters, parentheses); the tokenizer splits it as it split the papers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TERMS = 20
MIN_PREFIX = 3  # letters before a `*`: shorter prefixes would match most of the archive

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Typographic quotes (phones type them for ") and a minus sign or dash before a term (for -).
_QUOTES = re.compile("[\u201c\u201d\u201e\u201f\u00ab\u00bb\uff02]")
_MINUS = re.compile("(?:^|(?<=\\s))[\u2212\u2013\u2014]")
# Operators typed out of habit: AND is what a search does anyway, NOT leaves the next term
# out (as -term does); OR and NEAR it cannot do.
_UNSUPPORTED = {"OR", "NEAR"}
_TERM = re.compile(r'(?P<not>-)?(?:"(?P<phrase>[^"]*)(?:"|$)|(?P<word>[^\s"]+))')


class InvalidSearch(ValueError):
    """A query that cannot be searched; `reason` says why, for the member who typed it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase as typed, without its quotes, minus sign or star."""

    text: str
    phrase: bool = False
    prefix: bool = False

    def fts(self) -> str:
        return '"' + self.text.replace('"', "") + '"' + (" *" if self.prefix else "")

    def __str__(self) -> str:
        if self.phrase:
            return f'"{self.text}"'
        return self.text + ("*" if self.prefix else "")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """The terms a paper must have (`wanted`) and must not have (`unwanted`)."""

    wanted: tuple[Term, ...]
    unwanted: tuple[Term, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SearchQuery:
        """The query `text` asks for; InvalidSearch when nothing in it can be searched."""
        wanted: list[Term] = []
        unwanted: list[Term] = []
        # Control characters (a NUL ends an FTS5 string early) separate words, as spaces do.
        text = _MINUS.sub("-", _QUOTES.sub('"', _CONTROL.sub(" ", text)))
        negate_next = False
        for found in _TERM.finditer(text):
            phrase = found["phrase"]
            if phrase is None and not found["not"]:
                if found["word"] == "NOT":
                    negate_next = True
                    continue
                if found["word"] == "AND":
                    continue
                if found["word"] in _UNSUPPORTED:
                    raise InvalidSearch(
                        f"{found['word']} is not supported: a paper must have every word "
                        "searched for, so search once for each alternative; -word (or NOT "
                        "word) leaves papers with that word out"
                    )
            negated, negate_next = bool(found["not"]) or negate_next, False
            words = " ".join((phrase if phrase is not None else found["word"]).split())
            prefix = phrase is None and words.endswith("*")
            words = words.rstrip("*") if prefix else words
            if not any(c.isalnum() for c in words):
                continue  # a lone "-", "&" or "*": nothing the index holds
            if prefix and len(re.findall(r"[^\W_]+", words)[-1]) < MIN_PREFIX:
                raise InvalidSearch(
                    f"“{words}*” is too short a prefix: give at least {MIN_PREFIX} letters "
                    "before the *"
                )
            term = Term(words, phrase=phrase is not None, prefix=prefix)
            (unwanted if negated else wanted).append(term)
        if len(wanted) + len(unwanted) > MAX_TERMS:
            raise InvalidSearch(
                f"{len(wanted) + len(unwanted)} words and phrases are more than the "
                f"{MAX_TERMS} a search takes"
            )
        if not wanted:
            raise InvalidSearch(
                "it only says what to leave out; add a word to look for, "
                "as in “transformer -vision”"
                if unwanted
                else "it has no word to look for"
            )
        return cls(tuple(dict.fromkeys(wanted)), tuple(dict.fromkeys(unwanted)))

    @property
    def phrases(self) -> bool:
        """Whether it asks for a phrase (of more than one word)."""
        return any(" " in t.text or not t.text.isalnum() for t in self.wanted)

    def fts(self) -> str:
        """The FTS5 MATCH expression: every wanted term, then NOT each unwanted one."""
        expression = "(" + " AND ".join(t.fts() for t in self.wanted) + ")"
        return expression + "".join(f" NOT {t.fts()}" for t in self.unwanted)

    def __str__(self) -> str:
        """The query as it was understood, e.g. `"deep learning" transformer* -gan`."""
        return " ".join([*map(str, self.wanted), *(f"-{t}" for t in self.unwanted)])
