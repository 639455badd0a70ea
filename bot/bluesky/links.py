"""The arXiv papers a Bluesky post record links: in its text, its link facets, its external embed.

A link is an arXiv abstract, PDF or HTML page (`arxiv.org/abs|pdf|html/ID`, with or without
a version or `.pdf`, `www.` or `export.`, a scheme or none) or a paper page of alphaXiv
(`alphaxiv.org/abs|overview/ID`, with or without `www.`) or Hugging Face
(`huggingface.co/papers/ID`, with or without `www.`); an old-style id is read without its
subject class (`math.AG/0101001` is `math/0101001`). The Bluesky app shortens the links it
shows in a post's text (`arxiv.org/abs/2103.0...`) while the link facet over them keeps the
whole URI: an id cut short like that is never read from the text, so it cannot name a wrong
paper.

Pure and linear in the size of the record: the patterns have no nested repetition that can
backtrack, and text offsets are converted to UTF-8 bytes in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from bot.arxiv import InvalidArxivId, parse_arxiv_id

_LINK = re.compile(
    # Not inside another host or path: "fakearxiv.org/..." and "example.com/arxiv.org/..."
    # link elsewhere.
    r"(?<![\w.@/-])"
    r"(?i:(?:https?://)?"
    r"(?:(?:(?:www|export)\.)?arxiv\.org/(?:abs|pdf|html)"
    r"|(?:www\.)?alphaxiv\.org/(?:abs|overview)"
    r"|(?:www\.)?huggingface\.co/papers)/)"
    r"(?P<id>\d{4}\.\d{4,5}(?:v\d{1,4}+)?"
    r"|[a-z]++(?:-[a-z]++)*+(?:\.[A-Z]{2})?/\d{7}(?:v\d{1,4}+)?)"
    # An id runs to the end of its word: "2103.032061" or "2103.03206abc" is no id.
    r"(?:(?i:\.pdf))?(?!\w)",
    re.ASCII,
)
# What the Bluesky app puts after a link it shortened.
_CUT = ("...", "\u2026")

EXTERNAL = "app.bsky.embed.external"
RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"
LINK_FEATURE = "app.bsky.richtext.facet#link"


def arxiv_ids(record: Mapping[str, Any]) -> tuple[str, ...]:
    """Every arXiv paper `record` (an app.bsky.feed.post) links, version-less, distinct, in
    order of appearance: by position in the text (a facet at its byte range), then the
    external embed. Parts of the wrong type and invalid ids are ignored."""
    found: list[tuple[int, int, str]] = []  # (UTF-8 offset in the text, order found, id)
    text = record.get("text")
    end = 0
    if isinstance(text, str):
        for offset, paper in _text_links(text):
            found.append((offset, len(found), paper))
        end = len(text.encode("utf-8", "surrogatepass"))
    facets = record.get("facets")
    if isinstance(facets, list):
        for facet in facets:
            for uri in _facet_uris(facet):
                linked = link_id(uri)
                if linked is not None:
                    found.append((_facet_start(facet, end), len(found), linked))
    embedded = _embed_uri(record.get("embed"))
    linked = link_id(embedded) if embedded is not None else None
    if linked is not None:
        found.append((end + 1, len(found), linked))
    found.sort()
    return tuple(dict.fromkeys(paper for _, _, paper in found))


def link_id(uri: str) -> str | None:
    """The paper a link URI (a facet's or an embed's) points to, or None."""
    match = _LINK.match(uri)
    if match is None or uri.startswith(_CUT, match.end()):
        return None
    return _valid(match["id"])


def _text_links(text: str) -> Iterator[tuple[int, str]]:
    """(UTF-8 byte offset, id) of each whole link in `text`, in order."""
    offset = 0  # bytes before `position`
    position = 0
    for match in _LINK.finditer(text):
        if text.startswith(_CUT, match.end()):
            continue  # shortened for display: its facet, if any, has the whole link
        arxiv_id = _valid(match["id"])
        if arxiv_id is None:
            continue
        offset += len(text[position : match.start()].encode("utf-8", "surrogatepass"))
        position = match.start()
        yield offset, arxiv_id


def _valid(candidate: str) -> str | None:
    try:
        return paper_of(parse_arxiv_id(candidate))
    except InvalidArxivId:
        return None


def paper_of(arxiv_id: str) -> str:
    """The paper a version-less id names as links are read: an old-style id without its
    subject class (`math.AG/0101001` is the paper `math/0101001`, as arXiv's own links name
    it), so that both spellings count for one."""
    return _SUBJECT_CLASS.sub("/", arxiv_id, count=1)


_SUBJECT_CLASS = re.compile(r"(?<=[a-z])\.[A-Z]{2}/", re.ASCII)


def _facet_uris(facet: object) -> Iterator[str]:
    if not isinstance(facet, dict):
        return
    features = facet.get("features")
    if not isinstance(features, list):
        return
    for feature in features:
        if isinstance(feature, dict) and feature.get("$type") == LINK_FEATURE:
            uri = feature.get("uri")
            if isinstance(uri, str):
                yield uri


def _facet_start(facet: dict[str, Any], text_end: int) -> int:
    """Where a facet starts in the text, in UTF-8 bytes; the text's end when it says none."""
    index = facet.get("index")
    start = index.get("byteStart") if isinstance(index, dict) else None
    if isinstance(start, int) and not isinstance(start, bool) and start >= 0:
        return start
    return text_end


def _embed_uri(embed: object) -> str | None:
    """The URI of an external embed, alone or as the media beside a quoted record."""
    if not isinstance(embed, dict):
        return None
    if embed.get("$type") == RECORD_WITH_MEDIA:
        embed = embed.get("media")
        if not isinstance(embed, dict):
            return None
    if embed.get("$type") != EXTERNAL:
        return None
    external = embed.get("external")
    uri = external.get("uri") if isinstance(external, dict) else None
    return uri if isinstance(uri, str) else None
