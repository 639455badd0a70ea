"""The YAML front matter is read through libyaml where that reads exactly as the pure-Python
loader does, and by the pure loader everywhere else: the same posts, the same errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest import front_matter
from bot.ingest.parser import ParseError, parse_post
from bot.models import Day
from bot.samples import sample_posts
from tests.support.real_posts import all_post_params

MARCH_5_TEXT = sample_posts()[0].read_text(encoding="utf-8")
needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")


def with_draft(value: str) -> str:
    """The March 5 post with `draft: false` (line 5) replaced by `draft: {value}`."""
    assert MARCH_5_TEXT.count("draft: false") == 1
    return MARCH_5_TEXT.replace("draft: false", f"draft: {value}")


def outcome(text: str | bytes) -> Day | str:
    try:
        return parse_post(text, "p.md")
    except ParseError as exc:
        return str(exc)


@contextmanager
def pure_loader_only() -> Iterator[None]:
    """As on a PyYAML built without libyaml."""
    with mock.patch.object(front_matter, "LIBYAML_LOADER", None):
        yield


@contextmanager
def loaders_used() -> Iterator[list[Any]]:
    """The Loader classes that yaml.load was called with, in order."""
    used: list[Any] = []
    load = yaml.load

    def spy(stream: str, Loader: Any) -> Any:
        used.append(Loader)
        return load(stream, Loader=Loader)

    with mock.patch.object(yaml, "load", spy):
        yield used


@needs_libyaml
def test_real_posts_are_read_by_libyaml() -> None:
    with loaders_used() as used:
        for path in sample_posts():
            parse_post(path.read_bytes(), str(path))
    assert used == [front_matter.LIBYAML_LOADER] * 3


@pytest.mark.parametrize("post", all_post_params())
def test_real_posts_read_the_same_without_libyaml(post: Path) -> None:
    data = post.read_bytes()
    with pure_loader_only():
        expected = parse_post(data, str(post))
    assert parse_post(data, str(post)) == expected


@pytest.mark.parametrize(
    "nested",
    [
        pytest.param("[" * 600 + "]" * 600, id="600 flow levels, closed"),
        pytest.param("{a: " * 600 + "1" + "}" * 600, id="600 flow mappings, closed"),
        pytest.param(
            "\n" + "".join(f"{' ' * level}k:\n" for level in range(1, 601)), id="600 block"
        ),
        pytest.param("[" * 50_000, id="50,000 flow levels, never closed"),
    ],
)
def test_deep_nesting_is_a_parse_error(nested: str) -> None:
    """libyaml reads 600 levels (and some builds crash on far more); the pure loader, which
    the posts were always read with, refuses them with a RecursionError."""
    assert outcome(with_draft(nested)) == "p.md:2: front matter is not valid YAML: RecursionError"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            with_draft("false\t"),
            "p.md:5: front matter is not valid YAML: found character '\\t' that cannot start "
            "any token",
            id="tab after a value",
        ),
        pytest.param(
            MARCH_5_TEXT.replace('category: "arXiv"', 'category\t: "arXiv"'),
            "p.md:7: front matter is not valid YAML: found character '\\t' that cannot start "
            "any token",
            id="tab before a colon",
        ),
        pytest.param(
            with_draft("false\n\ufeff"),
            "p.md:7: front matter is not valid YAML: could not find expected ':'",
            id="byte order mark on a line",
        ),
        pytest.param(
            MARCH_5_TEXT.replace("title: Hot Papers 2021-03-05", "title: !"),
            "p.md:2: front matter has no title; expected 'Hot Papers YYYY-MM-DD'",
            id="empty value tagged !",
        ),
    ],
)
def test_what_libyaml_reads_differently_is_read_as_before(text: str, expected: str) -> None:
    """libyaml accepts each of these (reading the last title as '', not None)."""
    assert outcome(text) == expected
    with pure_loader_only():
        assert outcome(text) == expected


def test_libyaml_errors_are_told_in_the_pure_loaders_words() -> None:
    text = with_draft("false: true")
    expected = "p.md:5: front matter is not valid YAML: mapping values are not allowed here"
    assert outcome(text) == expected
    with pure_loader_only():
        assert outcome(text) == expected


FRONT_MATTER_END = MARCH_5_TEXT.index("\n---\n")
TOKENS = [
    "\t", "\ufeff", "!", "! ", "!!str ", "&a ", "*a", "<<: *a\n", "? ", ": ", ":", "- ", "[", "]",
    "{", "}", ",", "#", "|", ">-\n  ", '"', "'", "\\", "\n", "\n  ", "%YAML 1.1\n", "---\n",
    "...\n", "\x85", "\u2028", "\x00", "\x7f", "\xa0", "~", "0x1F", "1_000", ".inf", "yes",
    "2021-03-06", "12:30:00", "title: x\n",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_front_matter_reads_the_same_without_libyaml(data: st.DataObject) -> None:
    text = MARCH_5_TEXT
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(4, FRONT_MATTER_END))
        insert = data.draw(st.one_of(st.sampled_from(TOKENS), st.characters(), st.text()))
        cut = data.draw(st.integers(0, 3))
        text = text[:at] + insert + text[at + cut :]
    with pure_loader_only():
        expected = outcome(text)
    assert outcome(text) == expected
