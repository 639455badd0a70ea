"""bot.text: shortening at a word, and author lists, as messages and the command line show them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.markup import escape_markdown
from bot.text import ELLIPSIS, author_list, shorten


def test_shorten_keeps_short_text() -> None:
    assert shorten("abc", 3) == "abc"
    assert shorten("", 0) == ""


def test_shorten_cuts_at_a_word_with_an_ellipsis() -> None:
    assert shorten("the quick brown fox jumps", 20) == "the quick brown" + ELLIPSIS
    assert shorten("a" * 10, 5) == "aaaa" + ELLIPSIS  # no space: cut inside the word
    assert shorten("abc", 1) == ELLIPSIS
    assert shorten("abc", 0) == ""


def test_shorten_never_leaves_half_an_escape() -> None:
    escaped = escape_markdown("aaaaaaaaa*bbbb")  # aaaaaaaaa\*bbbb
    assert shorten(escaped, 11) == "aaaaaaaaa" + ELLIPSIS


@given(st.text(alphabet="ab \\*", max_size=60), st.integers(min_value=0, max_value=70))
def test_shorten_respects_the_limit(text: str, limit: int) -> None:
    out = shorten(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
    elif limit >= 1:
        assert out.endswith(ELLIPSIS)


def test_author_list_names_the_first_few_and_counts_the_rest() -> None:
    authors = [f"A{i}" for i in range(1, 8)]
    assert author_list(authors[:5]) == "A1, A2, A3, A4, A5"
    assert author_list(authors) == "A1, A2, A3, A4, A5 and 2 more (7 authors)"
    assert author_list(authors, 3) == "A1, A2, A3 and 4 more (7 authors)"
    assert author_list([]) == ""
