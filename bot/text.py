"""Plain-text helpers shared by the Discord messages and the command line: no markup, no I/O."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

ELLIPSIS = "…"

# Letters that carry no combining mark to drop, spelled as a reader without them would: after
# NFKD and case folding, what makes "Łukasz", "Søren" and "Þór" be found as typed in ASCII.
BARE_LETTERS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "\u0131": "i"}
)


def fold(text: str) -> str:
    """`text` without accents and case, as names and keywords are compared: NFKD, combining
    marks dropped, case folded, and the letters without a mark to drop spelled as without
    them (ł is l, ø is o, æ is ae)."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.casefold().translate(BARE_LETTERS)


def shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a word boundary, ending with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    cut = cut.rstrip()
    # Never leave half of a backslash escape behind.
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + ELLIPSIS


def author_list(authors: Sequence[str], limit: int = 5) -> str:
    """`A, B, C and 14 more (17 authors)` when there are more than `limit`."""
    if len(authors) <= limit:
        return ", ".join(authors)
    return f"{', '.join(authors[:limit])} and {len(authors) - limit} more ({len(authors)} authors)"


def plural(count: int, one: str, many: str) -> str:
    """`1 paper`, `2 papers`, `1,000 papers`: a count and its word."""
    return f"{count:,} {one if count == 1 else many}"
