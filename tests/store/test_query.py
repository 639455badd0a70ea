"""What members type into /search, read as full-text queries that SQLite cannot misread."""

from __future__ import annotations

import pytest

from bot.store import Store
from bot.store.query import InvalidSearch, SearchQuery, Term
from tests.support.archive import ingest_samples


@pytest.mark.parametrize(
    ("typed", "fts", "understood"),
    [
        ("perceiver", '("perceiver")', "perceiver"),
        ("  iterative   attention ", '("iterative" AND "attention")', "iterative attention"),
        ('"iterative attention"', '("iterative attention")', '"iterative attention"'),
        ("attention -pose", '("attention") NOT "pose"', "attention -pose"),
        (
            'attention -"human pose" -video',
            '("attention") NOT "human pose" NOT "video"',
            'attention -"human pose" -video',
        ),
        ("transform*", '("transform" *)', "transform*"),
        ("self-supervised", '("self-supervised")', "self-supervised"),
        ('"unclosed phrase', '("unclosed phrase")', '"unclosed phrase"'),
        ('a"b c', '("a" AND "b c")', 'a "b c"'),
        # FTS5's own syntax is only words here.
        (
            "NEAR(a b) title:x",
            '("NEAR(a" AND "b)" AND "title:x")',
            "NEAR(a b) title:x",
        ),
        # Operators typed out of habit: AND is what a search does, NOT is a minus sign.
        ("transformer NOT vision", '("transformer") NOT "vision"', "transformer -vision"),
        ("attention AND pose", '("attention" AND "pose")', "attention pose"),
        ('x NOT "human pose" NOT', '("x") NOT "human pose"', 'x -"human pose"'),
        ("not and or", '("not" AND "and" AND "or")', "not and or"),
        # Phones type typographic quotes and dashes.
        (
            "attention -\u201cpose estimation\u201d",
            '("attention") NOT "pose estimation"',
            'attention -"pose estimation"',
        ),
        (
            "\u00abdeep learning\u00bb \u2212gan",
            '("deep learning") NOT "gan"',
            '"deep learning" -gan',
        ),
        ("self-*", '("self-" *)', "self-*"),
        ("attention attention -x -x", '("attention") NOT "x"', "attention -x"),
        ("& attention - *", '("attention")', "attention"),
    ],
)
def test_what_is_typed_becomes_quoted_terms(typed: str, fts: str, understood: str) -> None:
    query = SearchQuery.parse(typed)
    assert query.fts() == fts
    assert str(query) == understood


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "it has no word to look for"),
        ('"" & ! -', "it has no word to look for"),
        (
            '-vision -"graph neural"',
            "it only says what to leave out; add a word to look for, as in “transformer -vision”",
        ),
        ("tr*", "“tr*” is too short a prefix: give at least 3 letters before the *"),
        ("self-tr*", "“self-tr*” is too short a prefix: give at least 3 letters before the *"),
        (
            "attention OR pose",
            "OR is not supported: a paper must have every word searched for, so search once"
            " for each alternative; -word (or NOT word) leaves papers with that word out",
        ),
        (
            " ".join(f"w{n}" for n in range(21)),
            "21 words and phrases are more than the 20 a search takes",
        ),
    ],
)
def test_queries_that_cannot_be_searched_say_why(typed: str, reason: str) -> None:
    with pytest.raises(InvalidSearch) as info:
        SearchQuery.parse(typed)
    assert info.value.reason == reason


def test_a_phrase_is_told_from_words() -> None:
    assert not SearchQuery.parse("iterative attention -pose").phrases
    assert SearchQuery.parse('"iterative attention"').phrases
    assert SearchQuery.parse("self-supervised").phrases
    assert SearchQuery.parse("perceiver").wanted == (Term("perceiver"),)


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ('NEAR("a" "b") title:perceiver ^start * AND NOT', ()),
        ('"a""b" (perceiver) {title} col:umn + - " \\ \'', ()),
        # A NUL would end the FTS5 string early: control characters separate words.
        ("perceiver\x00attention\x1f", ("2103.03206",)),
    ],
)
async def test_no_typed_text_is_an_sqlite_error(
    store: Store, typed: str, found: tuple[str, ...]
) -> None:
    await ingest_samples(store)
    assert (await store.finder.search(SearchQuery.parse(typed))).arxiv_ids == found
