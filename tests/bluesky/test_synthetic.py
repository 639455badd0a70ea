"""The synthetic stream: well-formed, reproducible, and its `expected` is what decoding yields."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bot.bluesky.events import FrameDecoder
from bot.bluesky.links import LINK_FEATURE
from bot.bluesky.posts import AccountRemoved, PostLinked, PostRemoved
from bot.sandbox.bluesky_synthetic import LINK_FORMS, SyntheticStream

IDS = [f"2401.{n:05d}" for n in range(1, 200)] + ["hep-th/9901001", "math.GT/0309136"]
T0 = 1_725_911_162_000_000


def frames(stream: SyntheticStream, count: int) -> list[str]:
    out = []
    for seq, (time_us, event) in enumerate(stream.events(count), start=1):
        kind = next(k for k in ("commit", "account", "identity") if k in event)
        frame = {"did": event["did"], "time_us": time_us, "cursor": seq, "kind": kind}
        frame[kind] = event[kind]
        out.append(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
    return out


def fold(decoded: list[str]) -> dict[str, tuple[str, ...]]:
    """What a collector keeps from these frames: uri → paper ids."""
    decoder = FrameDecoder()
    kept: dict[str, tuple[str, ...]] = {}
    authors: dict[str, str] = {}
    for frame in decoded:
        event = decoder.decode(frame)
        assert event is not None, frame
        change = event.change
        if isinstance(change, PostLinked):
            if change.update or change.post.uri not in kept:
                kept[change.post.uri] = change.post.arxiv_ids
                authors[change.post.uri] = change.post.did
        elif isinstance(change, PostRemoved):
            kept.pop(change.uri, None)
        elif isinstance(change, AccountRemoved):
            for uri in [u for u, did in authors.items() if did == change.did]:
                kept.pop(uri, None)
                del authors[uri]
    assert decoder.malformed == {}
    assert decoder.unknown_embeds == 0
    return kept


def test_what_decoding_keeps_is_exactly_what_the_stream_expects() -> None:
    stream = SyntheticStream(IDS, seed=7, start_us=T0, account_share=0.002, update_share=0.01)
    kept = fold(frames(stream, 30_000))
    assert kept == stream.expected
    assert 250 < len(kept) < 450  # about 1% of 30,000, some deleted
    # Every paper linked, as a collector names it: the old-style id without its subject class.
    linked = {paper for ids in kept.values() for paper in ids}
    assert linked <= {*IDS[:-1], "math/0309136"}
    assert {"hep-th/9901001", "math/0309136"} <= linked


def test_the_same_seed_gives_the_same_stream() -> None:
    first = frames(SyntheticStream(IDS, seed=3, start_us=T0), 500)
    assert frames(SyntheticStream(IDS, seed=3, start_us=T0), 500) == first
    assert frames(SyntheticStream(IDS, seed=4, start_us=T0), 500) != first


def test_shares_of_events() -> None:
    stream = SyntheticStream(IDS, seed=1, start_us=T0, like_share=0.1)
    kinds: Counter[str] = Counter()
    times = []
    for time_us, event in stream.events(20_000):
        times.append(time_us)
        if "commit" in event:
            commit = event["commit"]
            kinds[f"{commit['operation']} {commit['collection'].rsplit('.', 1)[1]}"] += 1
        else:
            kinds["account" if "account" in event else "identity"] += 1
    assert 0.045 < kinds["delete post"] / 20_000 < 0.055
    assert 0.09 < kinds["create like"] / 20_000 < 0.11
    assert kinds["update post"] > 0
    assert kinds["account"] > 0
    assert kinds["identity"] > 0
    assert times == sorted(times)
    assert times[0] > T0
    assert 0.8 < (times[-1] - T0) / 20_000 / 1000 < 1.2  # a millisecond apart on average


def test_records_follow_the_post_lexicon_and_facets_their_byte_ranges() -> None:
    stream = SyntheticStream(IDS, seed=2, start_us=T0)
    links = Counter[str]()
    embeds = Counter[str]()
    for _, event in stream.events(10_000):
        record: dict[str, Any] | None = event.get("commit", {}).get("record")
        if record is None or record["$type"] != "app.bsky.feed.post":
            continue
        text = record["text"]
        assert len(text.encode()) <= 3000
        assert len(record.get("langs", [])) <= 3
        assert record["createdAt"].endswith("Z")
        raw = text.encode()
        for facet in record.get("facets", []):
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            shown = raw[start:end].decode()  # on character boundaries
            [feature] = facet["features"]
            if feature["$type"] == LINK_FEATURE:
                links["facet"] += 1
                assert feature["uri"].startswith(("http://", "https://"))
                if shown.endswith("..."):
                    links["shortened"] += 1
                    assert feature["uri"].split("://", 1)[1].startswith(shown[:-3])
                else:
                    assert feature["uri"].split("://", 1)[1] == shown.split("://", 1)[-1]
            elif feature["$type"].endswith("#tag"):
                assert shown == f"#{feature['tag']}"
            else:
                assert feature["$type"] == "app.bsky.richtext.facet#mention"
                assert shown.startswith("@")
        if "embed" in record:
            embeds[record["embed"]["$type"].rsplit(".", 1)[1]] += 1
    assert links["facet"] > 50
    assert links["shortened"] > 10
    assert set(embeds) == {"images", "video", "external", "record", "recordWithMedia"}


def test_every_link_form_appears_and_is_read() -> None:
    stream = SyntheticStream(IDS, seed=5, start_us=T0, link_share=0.5)
    texts = "\n".join(
        json.dumps(event["commit"]["record"], ensure_ascii=False)
        for _, event in stream.events(5000)
        if "record" in event.get("commit", {})
    )
    for form in LINK_FORMS:
        prefix = form.split("{id}")[0]
        assert prefix in texts, prefix
