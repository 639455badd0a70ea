"""Which arXiv papers a post record links: every accepted form, and what must not count."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.bluesky.links import arxiv_ids, link_id

NEW = "2103.03206"
OLD = "hep-th/9901001"
SUBJECT = "math.GT/0309136"


def link_facet(start: int, end: int, uri: str) -> dict[str, Any]:
    return {
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


def external(uri: str) -> dict[str, Any]:
    return {
        "$type": "app.bsky.embed.external",
        "external": {"uri": uri, "title": "A paper", "description": "Its abstract"},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # arxiv.org abstract, PDF and HTML pages, with and without scheme, www., export.
        (f"https://arxiv.org/abs/{NEW}", (NEW,)),
        (f"http://arxiv.org/abs/{NEW}", (NEW,)),
        (f"arxiv.org/abs/{NEW}", (NEW,)),
        (f"https://www.arxiv.org/abs/{NEW}", (NEW,)),
        (f"www.arxiv.org/abs/{NEW}", (NEW,)),
        (f"https://export.arxiv.org/abs/{NEW}", (NEW,)),
        (f"https://arxiv.org/abs/{NEW}v2", (NEW,)),
        (f"https://arxiv.org/abs/{NEW}v12", (NEW,)),
        (f"https://arxiv.org/pdf/{NEW}", (NEW,)),
        (f"https://arxiv.org/pdf/{NEW}.pdf", (NEW,)),
        (f"https://arxiv.org/pdf/{NEW}v3.pdf", (NEW,)),
        (f"arxiv.org/pdf/{NEW}v1", (NEW,)),
        (f"https://arxiv.org/html/{NEW}v1", (NEW,)),
        (f"https://arxiv.org/html/{NEW}", (NEW,)),
        (f"HTTPS://ArXiv.Org/ABS/{NEW}", (NEW,)),
        (f"https://arxiv.org/abs/{NEW}?context=cs.CV", (NEW,)),
        (f"https://arxiv.org/abs/{NEW}#S3", (NEW,)),
        (f"https://arxiv.org/abs/{NEW}/", (NEW,)),
        ("https://arxiv.org/abs/1412.1234", ("1412.1234",)),  # four digits before 2015
        ("https://arxiv.org/abs/0704.0001", ("0704.0001",)),  # the first new-style id
        # Old-style ids, with a subject class, version, as a PDF.
        (f"https://arxiv.org/abs/{OLD}", (OLD,)),
        (f"arxiv.org/abs/{OLD}v2", (OLD,)),
        (f"https://arxiv.org/pdf/{OLD}v1.pdf", (OLD,)),
        (f"https://arxiv.org/abs/{SUBJECT}", ("math/0309136",)),
        ("https://arxiv.org/abs/cond-mat/0102536v1", ("cond-mat/0102536",)),
        # alphaXiv and Hugging Face paper pages.
        (f"https://alphaxiv.org/abs/{NEW}", (NEW,)),
        (f"https://www.alphaxiv.org/abs/{NEW}v2", (NEW,)),
        (f"https://www.alphaxiv.org/overview/{NEW}", (NEW,)),
        (f"alphaxiv.org/overview/{NEW}", (NEW,)),
        (f"www.alphaxiv.org/abs/{NEW}", (NEW,)),
        (f"https://huggingface.co/papers/{NEW}", (NEW,)),
        (f"huggingface.co/papers/{NEW}", (NEW,)),
        (f"https://www.huggingface.co/papers/{NEW}", (NEW,)),
        # An old-style id with its subject class is the paper without it: one paper, not two.
        (
            "arxiv.org/abs/math.AG/0101001v2 and arxiv.org/abs/math/0101001",
            ("math/0101001",),
        ),
        # In running text, in any script, in brackets, at a sentence's end.
        (f"New paper! https://arxiv.org/abs/{NEW} 🎉", (NEW,)),
        (f"論文はこちら arxiv.org/abs/{NEW}を読んで", (NEW,)),
        (f"(see arxiv.org/abs/{NEW}).", (NEW,)),
        (f"<https://arxiv.org/abs/{NEW}>", (NEW,)),
        # Several papers: in order, once each, versions folded.
        (
            f"arxiv.org/abs/2201.00001 and arxiv.org/abs/{NEW}v2, again arxiv.org/pdf/{NEW}",
            ("2201.00001", NEW),
        ),
        (f"huggingface.co/papers/{NEW} vs arxiv.org/abs/{OLD}", (NEW, OLD)),
    ],
)
def test_text_links(text: str, expected: tuple[str, ...]) -> None:
    assert arxiv_ids({"text": text}) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Shortened for display (the facet, when there is one, has the whole link).
        "arxiv.org/abs/2103.0...",
        "arxiv.org/abs/2103.0320...",
        "arxiv.org/abs/2103.03206...",
        "arxiv.org/abs/2103.03206v...",
        "arxiv.org/abs/2103.03206\u2026",
        "arxiv.org/abs/hep-th/99010...",
        "huggingface.co/papers/2103...",
        # Not an id: too short or long, digits or letters running on, bad month or version.
        "arxiv.org/abs/2103.032061",
        "arxiv.org/abs/2103.03206abc",
        "arxiv.org/abs/2103.0320",  # four digits after 2015
        "arxiv.org/abs/1412.12345",  # five digits before 2015
        "arxiv.org/abs/0703.0001",  # before new-style ids began
        "arxiv.org/abs/2113.03206",  # month 13
        "arxiv.org/abs/2103.03206v0",
        "arxiv.org/abs/2103.03206v12345",
        "arxiv.org/abs/foo-bar/9901001",  # no such archive
        "arxiv.org/abs/hep-th/99010011",
        # Not a paper page.
        "https://arxiv.org/list/cs.CV/recent",
        "https://arxiv.org/a/smith_j_1",
        "https://arxiv.org/abs/",
        "https://huggingface.co/models",
        "https://alphaxiv.org/explore",
        "https://arxiv.org/papers/2103.03206",
        "https://huggingface.co/abs/2103.03206",
        # Another host, or the arXiv address inside another site's path.
        "https://notarxiv.org/abs/2103.03206",
        "https://arxiv.org.example.com/abs/2103.03206",
        "https://example.com/arxiv.org/abs/2103.03206",
        "mail arxiv.org@example.com/abs/2103.03206",
        # Mentions without a link.
        "arXiv:2103.03206 is on arXiv",
        "2103.03206",
        "",
    ],
)
def test_no_link(text: str) -> None:
    assert arxiv_ids({"text": text}) == ()


def test_a_shortened_text_link_is_read_from_its_facet() -> None:
    text = "Read this: arxiv.org/abs/2103.0... so good"
    start = len(b"Read this: ")
    end = start + len(b"arxiv.org/abs/2103.0...")
    record = {
        "text": text,
        "facets": [link_facet(start, end, f"https://arxiv.org/abs/{NEW}v2")],
    }
    assert arxiv_ids(record) == (NEW,)


def test_order_of_appearance_across_text_facets_and_embed() -> None:
    # "é" and the emoji take more bytes than characters: positions are compared in bytes.
    text = "é🎉 arxiv.org/abs/2103.0... then arxiv.org/abs/2201.00001 end"
    first = text.index("arxiv")
    start = len(text[:first].encode())
    end = start + len(b"arxiv.org/abs/2103.0...")
    record = {
        "text": text,
        "facets": [link_facet(start, end, f"https://arxiv.org/abs/{NEW}")],
        "embed": external(f"https://arxiv.org/abs/{OLD}"),
    }
    assert arxiv_ids(record) == (NEW, "2201.00001", OLD)


def test_facet_later_in_the_array_but_earlier_in_the_text_comes_first() -> None:
    record = {
        "text": "a b",
        "facets": [
            link_facet(2, 3, "https://arxiv.org/abs/2201.00001"),
            link_facet(0, 1, "https://arxiv.org/abs/2201.00002"),
        ],
    }
    assert arxiv_ids(record) == ("2201.00002", "2201.00001")


def test_links_in_facets_only() -> None:
    record = {
        "text": "a paper and a model",
        "facets": [
            link_facet(2, 7, f"https://alphaxiv.org/overview/{NEW}"),
            link_facet(14, 19, "https://huggingface.co/models"),
            {  # a mention and a tag are not links
                "index": {"byteStart": 0, "byteEnd": 1},
                "features": [
                    {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:abc"},
                    {"$type": "app.bsky.richtext.facet#tag", "tag": "arxiv.org/abs/2201.00009"},
                ],
            },
        ],
    }
    assert arxiv_ids(record) == (NEW,)


def test_external_embed_alone_and_beside_a_quoted_post() -> None:
    assert arxiv_ids({"text": "", "embed": external(f"https://arxiv.org/pdf/{NEW}v1")}) == (NEW,)
    quote_with_card = {
        "$type": "app.bsky.embed.recordWithMedia",
        "record": {
            "$type": "app.bsky.embed.record",
            "record": {"uri": "at://did:plc:abc/app.bsky.feed.post/3k", "cid": "bafyrei"},
        },
        "media": external(f"https://huggingface.co/papers/{NEW}"),
    }
    assert arxiv_ids({"text": "look", "embed": quote_with_card}) == (NEW,)


def test_other_embeds_link_nothing() -> None:
    images = {
        "$type": "app.bsky.embed.images",
        "images": [{"alt": f"arxiv.org/abs/{NEW}", "image": {"$type": "blob"}}],
    }
    quote = {
        "$type": "app.bsky.embed.record",
        "record": {"uri": f"https://arxiv.org/abs/{NEW}", "cid": "x"},
    }
    assert arxiv_ids({"text": "", "embed": images}) == ()
    assert arxiv_ids({"text": "", "embed": quote}) == ()
    # The card's title and description are not its link.
    card = external("https://example.com/blog")
    card["external"]["title"] = f"arxiv.org/abs/{NEW}"
    assert arxiv_ids({"text": "", "embed": card}) == ()


@pytest.mark.parametrize(
    "record",
    [
        {"text": 5},
        {"text": None, "facets": "nope", "embed": []},
        {"text": "x", "facets": [None, 3, {"features": "x"}, {"features": [None, 4]}]},
        {"text": "x", "facets": [{"index": "x", "features": [{"$type": 1}]}]},
        {"text": "x", "embed": {"$type": "app.bsky.embed.external", "external": None}},
        {"text": "x", "embed": {"$type": "app.bsky.embed.external", "external": {"uri": 7}}},
        {"text": "x", "embed": {"$type": "app.bsky.embed.recordWithMedia", "media": "x"}},
    ],
)
def test_parts_of_the_wrong_type_are_ignored(record: dict[str, Any]) -> None:
    assert arxiv_ids(record) == ()


def test_a_facet_without_a_valid_byte_range_counts_after_the_text() -> None:
    record = {
        "text": "arxiv.org/abs/2201.00001",
        "facets": [
            {
                "index": {"byteStart": "0"},
                "features": [
                    {"$type": "app.bsky.richtext.facet#link", "uri": f"https://arxiv.org/abs/{NEW}"}
                ],
            }
        ],
    }
    assert arxiv_ids(record) == ("2201.00001", NEW)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"https://arxiv.org/abs/{NEW}", NEW),
        (f"https://www.alphaxiv.org/overview/{NEW}v3", NEW),
        (f"https://huggingface.co/papers/{NEW}", NEW),
        (f"https://example.com/?u=https://arxiv.org/abs/{NEW}", None),  # a link elsewhere
        (f" https://arxiv.org/abs/{NEW}", None),
        ("https://arxiv.org/abs/2103.0...", None),
    ],
)
def test_link_id(uri: str, expected: str | None) -> None:
    assert link_id(uri) == expected


@pytest.mark.parametrize(
    "text",
    [
        "arxiv.org/abs/" * 7200,
        "https://arxiv.org/abs/2103.03206v" + "1" * 100_000,
        "arxiv.org/abs/" + "a-" * 50_000,
        "arxiv.org/abs/hep-th." + "A" * 100_000,
        "https://" * 12_500,
        "arxiv.org/abs/2103.0320 é" * 4000,  # near misses, each checked and refused
        "x" * 100_000,
    ],
)
def test_hostile_text_of_100_kb_takes_linear_time(text: str) -> None:
    started = time.process_time()
    arxiv_ids({"text": text})
    # Linear work over 100 kB takes milliseconds; backtracking would take minutes.
    assert time.process_time() - started < 0.5


def test_many_links_in_100_kb_are_all_found_once() -> None:
    text = " ".join(f"arxiv.org/abs/2201.{n:05d}" for n in range(1, 4101))
    assert len(text) > 100_000
    ids = arxiv_ids({"text": text})
    assert ids == tuple(f"2201.{n:05d}" for n in range(1, 4101))
