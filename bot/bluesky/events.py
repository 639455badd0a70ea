"""Jetstream frames → what the collector keeps: posts that link papers, and what removes them.

A frame is one JSON text of Jetstream's v1 `/subscribe` stream (docs/README.md §5.1):
``{"did", "time_us", "cursor"?, "kind": "commit"|"identity"|"account", ...}``. Each decodes to
an `Event`: the change it makes to the kept posts (or None) and the frame's stream position.

Most frames are posts that link no paper, and the collector must keep up with a stream
replayed at tens of thousands of frames a second, so those are recognised without decoding
the JSON: a frame that does not mention a paper host (nor escapes an ASCII letter, which
could hide one) and is a plain `create` needs only its `time_us` (and `cursor`). Everything
else is decoded and checked against the `app.bsky.feed.post` lexicon; a malformed frame is
counted by reason and skipped, never fatal.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any, NamedTuple, TypeGuard

from bot.bluesky.links import EXTERNAL, LINK_FEATURE, RECORD_WITH_MEDIA, arxiv_ids
from bot.bluesky.posts import (
    AccountRemoved,
    Change,
    CollectedPost,
    PostLinked,
    PostRemoved,
)

POST = "app.bsky.feed.post"
# Frames far beyond any real post event (its text is at most 3,000 bytes, and the rest is
# a few short fields) are refused before decoding.
MAX_FRAME_CHARS = 1024 * 1024
# The lexicon's limits for a post record.
MAX_TEXT_BYTES = 3000
MAX_LANGS = 3
# time_us and the v2 cursor: 18 digits at most (microseconds until the year 33658), as the
# shortcut reads them; SQLite stores up to 2**63.
MAX_POSITION = 10**18
# The embed union is open (the lexicon may add types): a post with an embed of another type
# still counts by its text and facets; such embeds are only counted (`unknown_embeds`).
EMBED_TYPES = frozenset(
    {
        "app.bsky.embed.images",
        "app.bsky.embed.video",
        EXTERNAL,
        "app.bsky.embed.record",
        RECORD_WITH_MEDIA,
    }
)


class Event(NamedTuple):
    """One frame decoded: its change to the kept posts (None: nothing to keep) and position."""

    change: Change | None
    time_us: int
    seq: int | None


class Malformed(Exception):
    """A frame that breaks Jetstream's shape or the post lexicon; `reason` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Keys of the envelope as Jetstream writes them. JSON escapes every quote inside a string,
# so a quoted name is a key or a whole string; a record (the one part users write) may hold
# keys or strings of the same names, which is why each must be found exactly once for the
# shortcut to trust it.
_OPERATION = re.compile(r'"operation"\s*:\s*"(create|update|delete)"')
_TIME_US = re.compile(r'"time_us"\s*:\s*(\d{1,18})(?=\s*[,}])')
_SEQ = re.compile(r'"cursor"\s*:\s*(\d{1,18})(?=\s*[,}])')
_ESCAPED_ASCII_LETTER = re.compile(r"\\u00[4-7]")
_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]", re.ASCII)
_RKEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}", re.ASCII)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)


class FrameDecoder:
    """Decodes frames one by one; `malformed` counts the skipped ones by reason."""

    def __init__(self) -> None:
        self.malformed: Counter[str] = Counter()
        self.unknown_embeds = 0
        # Whether the server numbers its frames (v2); learnt from the frames decoded fully,
        # so a `cursor` key in a record is never taken for the frame's own.
        self._server_sends_seq = False

    def decode(self, frame: str | bytes) -> Event | None:
        """The frame's change and position, or None when it is malformed (and counted)."""
        try:
            if isinstance(frame, bytes):
                try:
                    frame = frame.decode("utf-8")
                except UnicodeDecodeError:
                    raise Malformed("not UTF-8") from None
            if len(frame) > MAX_FRAME_CHARS:
                raise Malformed("frame too large")
            return self._skim(frame) or self._decode(frame)
        except Malformed as exc:
            self.malformed[exc.reason] += 1
            return None

    def _skim(self, frame: str) -> Event | None:
        """The position of a frame that cannot matter, read without decoding it; None when
        the frame may matter or the shortcut cannot tell."""
        lowered = frame.lower()
        if "xiv" in lowered or "huggingface" in lowered:  # arxiv, alphaxiv, huggingface
            return None
        if "\\u00" in lowered and _ESCAPED_ASCII_LETTER.search(lowered):
            return None
        # Each key once (a second is a record's own), and the operation a create.
        if frame.count('"operation"') != 1 or frame.count('"time_us"') != 1:
            return None
        operation = _OPERATION.search(frame)
        if operation is None or operation[1] != "create":
            return None  # a delete, update, account or identity event: decode it
        time_us = _TIME_US.search(frame)
        if time_us is None:
            return None
        seq = None
        if self._server_sends_seq:
            found = _SEQ.search(frame)
            if found is None or frame.count('"cursor"') != 1:
                return None
            seq = int(found[1])
        return Event(None, int(time_us[1]), seq)

    def _decode(self, frame: str) -> Event:
        try:
            data = json.loads(frame)
        except (ValueError, RecursionError):
            raise Malformed("not JSON") from None
        if not isinstance(data, dict):
            raise Malformed("not a JSON object")
        time_us = data.get("time_us")
        if not _is_int(time_us) or not 0 < time_us < MAX_POSITION:
            raise Malformed("time_us missing or not a positive integer of at most 18 digits")
        seq = data.get("cursor")
        if seq is not None and (not _is_int(seq) or not 0 <= seq < MAX_POSITION):
            raise Malformed("cursor not a non-negative integer of at most 18 digits")
        self._server_sends_seq = seq is not None
        did = data.get("did")
        if not isinstance(did, str) or len(did) > 2048 or not _DID.fullmatch(did):
            raise Malformed("did missing or invalid")
        kind = data.get("kind")
        change: Change | None
        if kind == "commit":
            change = self._commit(did, time_us, data.get("commit"))
        elif kind == "account":
            change = _account(did, data.get("account"))
        elif kind == "identity":
            if not isinstance(data.get("identity"), dict):
                raise Malformed("identity missing or not an object")
            change = None
        else:
            raise Malformed("unknown kind")
        return Event(change, time_us, seq)

    def _commit(self, did: str, time_us: int, commit: object) -> Change | None:
        if not isinstance(commit, dict):
            raise Malformed("commit missing or not an object")
        operation = commit.get("operation")
        if operation not in ("create", "update", "delete"):
            raise Malformed("unknown commit operation")
        collection = commit.get("collection")
        rkey = commit.get("rkey")
        if not isinstance(collection, str):
            raise Malformed("commit collection missing or not a string")
        if not isinstance(rkey, str) or not _RKEY.fullmatch(rkey) or rkey in (".", ".."):
            raise Malformed("commit rkey missing or invalid")
        if collection != POST:
            return None  # not asked for (wantedCollections): nothing of ours
        uri = f"at://{did}/{POST}/{rkey}"
        if operation == "delete":
            return PostRemoved(uri)
        post = self._post(did, rkey, uri, time_us, commit.get("record"))
        if post is not None:
            return PostLinked(post, update=operation == "update")
        return PostRemoved(uri) if operation == "update" else None

    def _post(
        self, did: str, rkey: str, uri: str, time_us: int, record: object
    ) -> CollectedPost | None:
        """The post to keep, None when it links no paper; raises Malformed when the record
        breaks the app.bsky.feed.post lexicon in a part we read."""
        if not isinstance(record, dict):
            raise Malformed("record missing or not an object")
        if record.get("$type") != POST:
            raise Malformed("record $type is not app.bsky.feed.post")
        text = record.get("text")
        if not isinstance(text, str):
            raise Malformed("post text missing or not a string")
        if not _is_unicode(text):  # JSON's \ud800 escapes can make lone surrogates
            raise Malformed("post text not valid Unicode")
        if len(text) > MAX_TEXT_BYTES // 4 and len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise Malformed("post text longer than 3000 bytes")
        langs = record.get("langs", [])
        if (
            not isinstance(langs, list)
            or len(langs) > MAX_LANGS
            or not all(
                isinstance(lang, str) and 0 < len(lang) <= 128 and _is_unicode(lang)
                for lang in langs
            )
        ):
            raise Malformed("post langs not a list of at most 3 language tags")
        _check_facets(record.get("facets"))
        if not _check_embed(record.get("embed")):
            self.unknown_embeds += 1
        ids = arxiv_ids(record)
        if not ids:
            return None
        return CollectedPost(
            uri=uri,
            did=did,
            rkey=rkey,
            text=text,
            langs=tuple(langs),
            created_at=_datetime(record.get("createdAt")),
            time_us=time_us,
            arxiv_ids=ids,
        )


def _is_unicode(text: str) -> bool:
    """Whether `text` has no lone surrogate, which neither UTF-8 nor SQLite can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_facets(facets: object) -> None:
    if facets is None:
        return
    if not isinstance(facets, list):
        raise Malformed("post facets not a list")
    for facet in facets:
        index = facet.get("index") if isinstance(facet, dict) else None
        if (
            not isinstance(index, dict)
            or not _is_int(index.get("byteStart"))
            or not _is_int(index.get("byteEnd"))
            or not isinstance(facet.get("features"), list)
        ):
            raise Malformed("post facet without a byte range or features")
        for feature in facet["features"]:
            if not isinstance(feature, dict) or not isinstance(feature.get("$type"), str):
                raise Malformed("post facet feature without a $type")
            if feature["$type"] == LINK_FEATURE and not isinstance(feature.get("uri"), str):
                raise Malformed("post link facet without a uri")


def _check_embed(embed: object) -> bool:
    """Whether the embed is of a type the lexicon names (absent counts as known)."""
    if embed is None:
        return True
    if not isinstance(embed, dict) or not isinstance(embed.get("$type"), str):
        raise Malformed("post embed not an object with a $type")
    kind = embed["$type"]
    if kind == RECORD_WITH_MEDIA:
        media = embed.get("media")
        if not isinstance(media, dict) or not isinstance(media.get("$type"), str):
            raise Malformed("post embed media not an object with a $type")
        embed, kind = media, media["$type"]
    if kind == EXTERNAL:
        external = embed.get("external")
        if not isinstance(external, dict) or not isinstance(external.get("uri"), str):
            raise Malformed("post external embed without a uri")
    return kind in EMBED_TYPES


def _datetime(value: Any) -> dt.datetime | None:
    """The record's createdAt in UTC; None when missing or not an atproto datetime."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    except ValueError:
        return None


def _account(did: str, account: object) -> Change | None:
    if not isinstance(account, dict) or not isinstance(account.get("active"), bool):
        raise Malformed("account missing or without an active flag")
    status = account.get("status")
    if status is not None and not isinstance(status, str):
        raise Malformed("account status not a string")
    if account["active"] is False and status == "deleted":
        return AccountRemoved(did)
    return None  # deactivated, suspended or taken down: it may come back
