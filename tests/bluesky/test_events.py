"""Jetstream frames → changes and positions; malformed frames skipped and counted by reason."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from bot.bluesky.events import Event, FrameDecoder
from bot.bluesky.posts import AccountRemoved, CollectedPost, Cursor, PostLinked, PostRemoved

DID = "did:plc:eygmaihciaxprqvxpfvl6flk"
RKEY = "3l3qo2vuowo2b"
URI = f"at://{DID}/app.bsky.feed.post/{RKEY}"
TIME = 1725911162329308
PAPER = "https://arxiv.org/abs/2103.03206v2"


def post_record(text: str = f"New paper {PAPER}", **extra: Any) -> dict[str, Any]:
    return {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2024-09-09T19:46:02.102Z",
        "langs": ["en"],
        **extra,
    }


def commit_frame(
    operation: str = "create",
    record: Any = None,
    *,
    collection: str = "app.bsky.feed.post",
    rkey: str = RKEY,
    seq: int | None = 12345,
    did: Any = DID,
    time_us: Any = TIME,
) -> str:
    commit: dict[str, Any] = {
        "rev": "3l3qo2vutsw2b",
        "operation": operation,
        "collection": collection,
        "rkey": rkey,
    }
    if operation != "delete":
        commit["record"] = post_record() if record is None else record
        commit["cid"] = "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi"
    frame: dict[str, Any] = {"did": did, "time_us": time_us}
    if seq is not None:
        frame["cursor"] = seq
    frame |= {"kind": "commit", "commit": commit}
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def account_frame(active: Any, status: Any = None) -> str:
    account: dict[str, Any] = {"active": active, "did": DID, "seq": 1409753013}
    account["time"] = "2024-09-05T06:11:04.870Z"
    if status is not None:
        account["status"] = status
    return json.dumps({"did": DID, "time_us": TIME, "kind": "account", "account": account})


def expected_post(text: str = f"New paper {PAPER}") -> CollectedPost:
    return CollectedPost(
        uri=URI,
        did=DID,
        rkey=RKEY,
        text=text,
        langs=("en",),
        created_at=dt.datetime(2024, 9, 9, 19, 46, 2, 102000, tzinfo=dt.UTC),
        time_us=TIME,
        arxiv_ids=("2103.03206",),
    )


def test_a_create_that_links_a_paper_is_kept_whole() -> None:
    decoder = FrameDecoder()
    assert decoder.decode(commit_frame()) == Event(PostLinked(expected_post()), TIME, 12345)
    assert decoder.malformed == {}


def test_bytes_frames_decode_the_same() -> None:
    assert FrameDecoder().decode(commit_frame().encode()) == Event(
        PostLinked(expected_post()), TIME, 12345
    )


def test_an_update_that_links_replaces_and_one_that_no_longer_links_removes() -> None:
    decoder = FrameDecoder()
    assert decoder.decode(commit_frame("update")) == Event(
        PostLinked(expected_post(), update=True), TIME, 12345
    )
    assert decoder.decode(commit_frame("update", post_record("no link now"))) == Event(
        PostRemoved(URI), TIME, 12345
    )


def test_a_delete_removes_the_post() -> None:
    assert FrameDecoder().decode(commit_frame("delete")) == Event(PostRemoved(URI), TIME, 12345)


def seen_seqs() -> FrameDecoder:
    """A decoder that has decoded a frame numbered by the server (Jetstream v2)."""
    decoder = FrameDecoder()
    assert decoder.decode(commit_frame("delete")) == Event(PostRemoved(URI), TIME, 12345)
    return decoder


def test_a_create_without_a_paper_only_moves_the_cursor() -> None:
    decoder = seen_seqs()
    assert decoder.decode(commit_frame(record=post_record("just coffee ☕"))) == Event(
        None, TIME, 12345
    )
    # Mentions arXiv, so it is decoded, but links nothing.
    assert decoder.decode(commit_frame(record=post_record("I love arXiv"))) == Event(
        None, TIME, 12345
    )
    assert decoder.malformed == {}


def test_frames_without_a_sequence_number_as_jetstream_v1_sends_them() -> None:
    decoder = FrameDecoder()
    assert decoder.decode(commit_frame(seq=None)) == Event(PostLinked(expected_post()), TIME, None)
    assert decoder.decode(commit_frame(record=post_record("hi"), seq=None)) == Event(
        None, TIME, None
    )


def test_keys_named_like_the_envelope_inside_a_record_are_not_taken_for_it() -> None:
    """A record may hold any extra keys, `time_us`, `cursor` and `operation` included."""
    decoder = seen_seqs()
    forged = post_record("hi", time_us=99, cursor=7, operation="create")
    assert decoder.decode(commit_frame(record=forged)) == Event(None, TIME, 12345)
    # v1 frames carry no `cursor`: a record's is not the frame's.
    decoder = FrameDecoder()
    forged = post_record("hi", cursor=7)
    assert decoder.decode(commit_frame(record=post_record("x"), seq=None)) == Event(
        None, TIME, None
    )
    assert decoder.decode(commit_frame(record=forged, seq=None)) == Event(None, TIME, None)
    # A record saying "delete" does not make a create one.
    forged = post_record(f"paper {PAPER}", operation="delete")
    assert decoder.decode(commit_frame(record=forged)) == Event(
        PostLinked(expected_post(f"paper {PAPER}")), TIME, 12345
    )


def test_a_link_spelled_with_json_escapes_is_found() -> None:
    frame = commit_frame().replace("arxiv.org", "\\u0061rxiv.org")
    assert "arxiv" not in frame
    assert FrameDecoder().decode(frame) == Event(PostLinked(expected_post()), TIME, 12345)


def test_a_create_without_a_paper_is_read_without_decoding_its_json() -> None:
    """The shortcut that keeps the collector fast: such a frame is never parsed whole."""
    cut_short = commit_frame(record=post_record("hi"))[:-20]
    decoder = seen_seqs()
    assert decoder.decode(cut_short) == Event(None, TIME, 12345)
    assert decoder.malformed == {}


def test_the_sequence_number_of_a_frame_read_without_decoding_is_known_once_one_was() -> None:
    decoder = FrameDecoder()
    plain = commit_frame(record=post_record("hi"))
    assert decoder.decode(plain) == Event(None, TIME, None)
    assert decoder.decode(commit_frame("delete")) == Event(PostRemoved(URI), TIME, 12345)
    assert decoder.decode(plain) == Event(None, TIME, 12345)


def test_posts_of_other_collections_are_nothing_to_keep() -> None:
    decoder = seen_seqs()
    like = {"$type": "app.bsky.feed.like", "subject": {"uri": URI, "cid": "bafy"}}
    frame = commit_frame(record=like, collection="app.bsky.feed.like")
    assert decoder.decode(frame) == Event(None, TIME, 12345)
    frame = commit_frame("delete", collection="app.bsky.feed.like")
    assert decoder.decode(frame) == Event(None, TIME, 12345)
    # Even one that links a paper.
    frame = commit_frame(record={**like, "via": PAPER}, collection="app.bsky.feed.like")
    assert decoder.decode(frame) == Event(None, TIME, 12345)


@pytest.mark.parametrize(
    ("active", "status", "change"),
    [
        (False, "deleted", AccountRemoved(DID)),
        (False, "deactivated", None),
        (False, "takendown", None),
        (False, "suspended", None),
        (False, None, None),
        (True, None, None),
    ],
)
def test_only_a_deleted_account_removes_its_posts(
    active: bool, status: str | None, change: AccountRemoved | None
) -> None:
    assert FrameDecoder().decode(account_frame(active, status)) == Event(change, TIME, None)


def test_identity_events_are_nothing_to_keep() -> None:
    identity = {"did": DID, "handle": "a.bsky.social", "seq": 1, "time": "2024-09-05T06:11:04Z"}
    frame = json.dumps({"did": DID, "time_us": TIME, "kind": "identity", "identity": identity})
    assert FrameDecoder().decode(frame) == Event(None, TIME, None)


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2024-09-09T19:46:02Z", dt.datetime(2024, 9, 9, 19, 46, 2, tzinfo=dt.UTC)),
        ("2024-09-09T21:46:02.5+02:00", dt.datetime(2024, 9, 9, 19, 46, 2, 500000, dt.UTC)),
        ("2024-09-09T19:46:02", None),  # no time zone
        ("2024-09-09", None),
        ("2024-13-09T19:46:02Z", None),
        ("yesterday", None),
        (1725911162, None),
        (None, None),
    ],
)
def test_created_at_is_utc_or_none(created_at: Any, expected: dt.datetime | None) -> None:
    record = post_record()
    if created_at is None:
        del record["createdAt"]
    else:
        record["createdAt"] = created_at
    event = FrameDecoder().decode(commit_frame(record=record))
    assert event is not None
    assert isinstance(event.change, PostLinked)
    assert event.change.post.created_at == expected


def test_langs_may_be_absent_or_up_to_three() -> None:
    record = post_record()
    del record["langs"]
    event = FrameDecoder().decode(commit_frame(record=record))
    assert event is not None
    assert isinstance(event.change, PostLinked)
    assert event.change.post.langs == ()
    event = FrameDecoder().decode(commit_frame(record=post_record(langs=["ja", "en", "pt-BR"])))
    assert event is not None
    assert isinstance(event.change, PostLinked)
    assert event.change.post.langs == ("ja", "en", "pt-BR")


def test_an_embed_of_a_type_the_lexicon_may_add_later_does_not_lose_the_post() -> None:
    decoder = FrameDecoder()
    record = post_record(embed={"$type": "app.bsky.embed.poll", "options": ["a", "b"]})
    assert decoder.decode(commit_frame(record=record)) == Event(
        PostLinked(expected_post()), TIME, 12345
    )
    assert decoder.unknown_embeds == 1
    assert decoder.malformed == {}


def test_a_3000_byte_text_is_kept() -> None:
    text = f"{PAPER} " + "é" * 1482 + "x"
    assert len(text.encode()) == 3000
    event = FrameDecoder().decode(commit_frame(record=post_record(text)))
    assert event is not None
    assert isinstance(event.change, PostLinked)


CARD = {
    "$type": "app.bsky.embed.external",
    "external": {"uri": PAPER, "title": "", "description": ""},
}


def _text(text: Any) -> dict[str, Any]:
    record = post_record(embed=CARD)
    record["text"] = text
    return record


def _without(key: str) -> dict[str, Any]:
    record = post_record(embed=CARD)
    del record[key]
    return record


LINK = {"$type": "app.bsky.richtext.facet#link", "uri": PAPER}
SPAN = {"byteStart": 0, "byteEnd": 3}
BAD_TIME = "time_us missing or not a positive integer of at most 18 digits"
BAD_SEQ = "cursor not a non-negative integer of at most 18 digits"
BAD_RKEY = "commit rkey missing or invalid"
BAD_TYPE = "record $type is not app.bsky.feed.post"
BAD_TEXT = "post text missing or not a string"
LONG_TEXT = "post text longer than 3000 bytes"
BAD_LANGS = "post langs not a list of at most 3 language tags"
BAD_FACET = "post facet without a byte range or features"
BAD_EMBED = "post embed not an object with a $type"
BAD_ACCOUNT = "account missing or without an active flag"


def envelope(**parts: Any) -> str:
    return json.dumps({"did": DID, "time_us": TIME, **parts})


def with_link(**extra: Any) -> str:
    return commit_frame(record=post_record(**extra))


MALFORMED: list[tuple[str, str | bytes, str]] = [
    ("not JSON", "{not json", "not JSON"),
    ("binary junk", b"\xff\xfe\x00arxiv", "not UTF-8"),
    ("a JSON array", '["arxiv"]', "not a JSON object"),
    ("too large", commit_frame()[:-2] + " " * 1_048_576 + "}}", "frame too large"),
    ("no time_us", commit_frame("delete", time_us=None), BAD_TIME),
    ("time_us a string", commit_frame("delete", time_us=str(TIME)), BAD_TIME),
    ("time_us a bool", commit_frame("delete", time_us=True), BAD_TIME),
    ("time_us negative", commit_frame("delete", time_us=-5), BAD_TIME),
    ("cursor negative", commit_frame("delete", seq=-1), BAD_SEQ),
    # SQLite holds 64 bits: such a position would stop the collector at this frame for good.
    ("time_us of 19 digits", commit_frame("delete", time_us=10**18), BAD_TIME),
    ("time_us past 64 bits", envelope(kind="identity", identity={}, time_us=10**20), BAD_TIME),
    ("cursor of 19 digits", commit_frame("delete", seq=10**18), BAD_SEQ),
    # JSON may escape a lone surrogate, which neither UTF-8 nor SQLite can hold.
    (
        "text with a lone surrogate",
        commit_frame(record=_text(PAPER + " \ud800")),
        "post text not valid Unicode",
    ),
    ("lang with a lone surrogate", with_link(langs=["e\udc00"]), BAD_LANGS),
    ("no did", commit_frame("delete", did=None), "did missing or invalid"),
    ("did not a DID", commit_frame("delete", did="alice.bsky.social"), "did missing or invalid"),
    ("kind sync", envelope(kind="sync", sync={}), "unknown kind"),
    ("no kind", envelope(commit={}), "unknown kind"),
    ("commit a list", envelope(kind="commit", commit=[]), "commit missing or not an object"),
    ("operation upsert", commit_frame("upsert"), "unknown commit operation"),
    (
        "collection a number",
        commit_frame("delete", collection=5),  # type: ignore[arg-type]
        "commit collection missing or not a string",
    ),
    ("rkey with a slash", commit_frame("delete", rkey="a/b"), BAD_RKEY),
    ("rkey ..", commit_frame("delete", rkey=".."), BAD_RKEY),
    ("record a string", commit_frame(record="arxiv"), "record missing or not an object"),
    ("record $type like", with_link(**{"$type": "app.bsky.feed.like"}), BAD_TYPE),
    ("record $type unknown", with_link(**{"$type": "com.example.arxiv"}), BAD_TYPE),
    ("no text", commit_frame(record=_without("text")), BAD_TEXT),
    ("text a number", commit_frame(record=_text(2103.03206)), BAD_TEXT),
    ("text of 100 kB", commit_frame(record=_text(PAPER + " x" * 50_000)), LONG_TEXT),
    ("text of 3001 bytes", commit_frame(record=_text(PAPER.ljust(3001, "x"))), LONG_TEXT),
    ("langs a string", with_link(langs="en"), BAD_LANGS),
    ("four langs", with_link(langs=["en", "de", "fr", "ja"]), BAD_LANGS),
    ("langs of numbers", with_link(langs=[1]), BAD_LANGS),
    ("facets an object", with_link(facets={}), "post facets not a list"),
    ("facet without index", with_link(facets=[{"features": [LINK]}]), BAD_FACET),
    (
        "facet byteStart a string",
        with_link(facets=[{"index": {"byteStart": "0", "byteEnd": 3}, "features": [LINK]}]),
        BAD_FACET,
    ),
    (
        "feature without $type",
        with_link(facets=[{"index": SPAN, "features": [{"uri": PAPER}]}]),
        "post facet feature without a $type",
    ),
    (
        "link without uri",
        with_link(facets=[{"index": SPAN, "features": [{"$type": LINK["$type"]}]}]),
        "post link facet without a uri",
    ),
    ("embed without $type", with_link(embed={"external": {"uri": PAPER}}), BAD_EMBED),
    ("embed a list", with_link(embed=[]), BAD_EMBED),
    (
        "media without $type",
        with_link(embed={"$type": "app.bsky.embed.recordWithMedia", "media": {}}),
        "post embed media not an object with a $type",
    ),
    (
        "external without uri",
        with_link(embed={"$type": "app.bsky.embed.external", "external": {"title": "t"}}),
        "post external embed without a uri",
    ),
    ("account without active", envelope(kind="account", account={"status": "x"}), BAD_ACCOUNT),
    ("account active a string", account_frame("false", "deleted"), BAD_ACCOUNT),
    ("account status a number", account_frame(False, 3), "account status not a string"),
    ("identity missing", envelope(kind="identity"), "identity missing or not an object"),
]


@pytest.mark.parametrize(
    ("frame", "reason"), [pytest.param(f, r, id=name) for name, f, r in MALFORMED]
)
def test_malformed_frames_are_skipped_and_counted_by_reason(
    frame: str | bytes, reason: str
) -> None:
    decoder = FrameDecoder()
    assert decoder.decode(frame) is None
    assert decoder.malformed == {reason: 1}
    # The decoder goes on.
    assert decoder.decode(commit_frame()) == Event(PostLinked(expected_post()), TIME, 12345)


def test_counts_add_up_by_reason() -> None:
    decoder = FrameDecoder()
    for frame in ("{", "[]", "{", commit_frame("upsert"), commit_frame()):
        decoder.decode(frame)
    assert decoder.malformed == {
        "not JSON": 2,
        "not a JSON object": 1,
        "unknown commit operation": 1,
    }


def test_cursor_is_a_plain_position() -> None:
    assert Cursor(TIME) == Cursor(TIME, None)
