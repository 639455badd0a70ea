"""A seeded stream of made-up Bluesky events in Jetstream's shape, for the tests, the bench and
the sandbox's live mode: everything here is generated, nothing comes from the real service.

Users post in several languages, with mentions, hashtags, images, videos, link cards, quotes
and replies. A share of the posts link arXiv papers (from a given list of ids) in every form
the collector accepts, the way Bluesky clients write them: the link in the text with a link
facet over it (often shortened for display, the facet keeping the whole URI), a link card
(external embed, also beside a quoted post), or a bare link without a facet. Some posts only
look like they link a paper (a look-alike host, an arXiv listing page). A few feed accounts
post paper after paper. Posts are deleted (~5% of events) and now and then edited, and
accounts are deleted, deactivated or renamed.

`SyntheticStream.events(n)` yields (time_us, event) pairs for `LocalJetstream.publish`; as it
goes, `expected` holds what a collector must end up with: the linking posts not deleted, by
URI, with their paper ids.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

from bot.bluesky.links import paper_of

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as TIDs use
_TID_PAIRS = tuple(a + b for a in _TID_CHARS for b in _TID_CHARS)  # ten bits at a time
_BASE32_OF_BYTE = bytes.maketrans(bytes(range(256)), b"abcdefghijklmnopqrstuvwxyz234567" * 8)

# Every form of paper link the collector accepts; {id} is the paper, {v} a version.
LINK_FORMS = (
    "https://arxiv.org/abs/{id}",
    "https://arxiv.org/abs/{id}v{v}",
    "http://arxiv.org/abs/{id}",
    "arxiv.org/abs/{id}",
    "https://www.arxiv.org/abs/{id}",
    "https://export.arxiv.org/abs/{id}v{v}",
    "https://arxiv.org/pdf/{id}",
    "https://arxiv.org/pdf/{id}v{v}",
    "https://arxiv.org/pdf/{id}.pdf",
    "arxiv.org/pdf/{id}v{v}.pdf",
    "https://arxiv.org/html/{id}v{v}",
    "https://alphaxiv.org/abs/{id}",
    "https://www.alphaxiv.org/abs/{id}v{v}",
    "https://www.alphaxiv.org/overview/{id}",
    "alphaxiv.org/overview/{id}",
    "https://huggingface.co/papers/{id}",
    "huggingface.co/papers/{id}",
)
# Links that are not to a paper, though they look close.
DECOY_LINKS = (
    "https://arxiv.org/list/cs.CV/recent",
    "https://notarxiv.org/abs/2401.00001",
    "https://example.com/arxiv.org/abs/2401.00002",
    "https://huggingface.co/models",
    "https://blog.example.org/posts/arxiv-digest",
)
OTHER_LINKS = (
    "https://example.com/news/2024/science-funding",
    "https://www.example.org/podcast/episode-12",
    "https://github.com/example/project",
    "https://en.wikipedia.org/wiki/Transformer_(deep_learning_architecture)",
)


def _split(words: str) -> tuple[str, ...]:
    return tuple(words.split())


_WORDS = {
    "en": _split(
        "the new model paper results learning really great data we our this looks about "
        "interesting training benchmark attention vision thread today coffee weekend"
    ),
    "de": _split(
        "das neue Modell Ergebnisse wirklich gut Daten wir unser heute Arbeit über "
        "spannend Training Wochenende Kaffee"
    ),
    "fr": _split(
        "le nouveau modèle article résultats vraiment données nous notre aujourd'hui "
        "très intéressant apprentissage café été"
    ),
    "es": _split(
        "el nuevo modelo artículo resultados muy datos nuestro hoy aprendizaje "
        "interesante entrenamiento café mañana"
    ),
    "pt": _split(
        "o novo modelo artigo resultados muito dados nosso hoje aprendizado "
        "interessante treinamento café amanhã"
    ),
    "ja": _split("新しい モデル 論文 結果 学習 データ 今日 とても 面白い 研究 週末 コーヒー"),
    "ko": _split("새로운 모델 논문 결과 학습 데이터 오늘 정말 흥미로운 연구 주말"),
}
_PAPER_INTROS = {
    "en": ("New paper:", "Worth a read", "Our latest work", "Interesting preprint", "📄"),
    "de": ("Neues Paper:", "Lesenswert", "Unsere neue Arbeit"),
    "fr": ("Nouvel article :", "À lire", "Notre dernier travail"),
    "es": ("Nuevo artículo:", "Vale la pena leer"),
    "pt": ("Novo artigo:", "Vale a pena ler"),
    "ja": ("新しい論文:", "面白い論文", "📝"),
    "ko": ("새 논문:", "읽어볼 만한 논문"),
}
_EMOJI = ("🎉", "🔥", "👀", "🤖", "📈", "🧪", "✨", "😅", "🙏🏽", "🇫🇷")
_RECENT = 5000  # posts remembered to delete, edit, quote or answer
_TAGS = ("MachineLearning", "AI", "NLP", "ComputerVision", "physics", "math", "science")


class SyntheticStream:
    """Made-up post events for `LocalJetstream`, the same for the same arguments.

    * ``arxiv_ids``: the papers linking posts pick from
    * ``link_share``: share of new posts (by users) that link papers
    * ``delete_share``: share of events that delete a post (a recent one, or an older one
      the stream never showed)
    * ``users`` accounts; ``feeds`` accounts post ``feed_share`` of all posts, each linking
      a paper
    * ``start_us``: the first event's time; events are ``mean_gap_us`` apart on average
    """

    def __init__(
        self,
        arxiv_ids: Sequence[str],
        *,
        seed: int = 0,
        link_share: float = 0.01,
        delete_share: float = 0.05,
        update_share: float = 0.003,
        like_share: float = 0.0,
        account_share: float = 0.0005,
        identity_share: float = 0.001,
        users: int = 2000,
        feeds: int = 3,
        feed_share: float = 0.002,
        start_us: int | None = None,
        mean_gap_us: int = 1000,
    ) -> None:
        if not arxiv_ids:
            raise ValueError("a synthetic stream needs arXiv ids to link")
        self.arxiv_ids = list(arxiv_ids)
        self.rng = random.Random(seed)
        self.link_share = link_share
        self.delete_share = delete_share
        self.update_share = update_share
        self.like_share = like_share
        self.account_share = account_share
        self.identity_share = identity_share
        self.feed_share = feed_share
        self.mean_gap_us = mean_gap_us
        self.time_us = start_us if start_us is not None else int(time.time() * 1e6) - 3600_000_000
        self.users = [self._did() for _ in range(users)]
        self.feeds = [self._did() for _ in range(feeds)]
        self.expected: dict[str, tuple[str, ...]] = {}  # linking posts present: uri → ids
        self._authors: dict[str, str] = {}  # uri → did, for the linking posts present
        # The last posts made, (did, rkey, uri), to delete, edit, quote or answer; a deleted
        # one leaves None.
        self._recent: list[tuple[str, str, str] | None] = []
        self._recent_next = 0
        self._clock_id = 0
        self._relay_seq = self.rng.randrange(10**9, 2 * 10**9)

    # -- the stream ---------------------------------------------------------------------------

    def events(self, count: int) -> Iterator[tuple[int, dict[str, Any]]]:
        """The next `count` events, each with its time."""
        for _ in range(count):
            self.time_us += max(1, round(self.rng.expovariate(1 / self.mean_gap_us)))
            yield self.time_us, self._event()

    def _event(self) -> dict[str, Any]:
        draw = self.rng.random()
        for share, make in (
            (self.delete_share, self._delete),
            (self.update_share, self._update),
            (self.like_share, self._like),
            (self.account_share, self._account),
            (self.identity_share, self._identity),
        ):
            if draw < share:
                return make()
            draw -= share
        return self._create()

    def _create(self) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < self.feed_share:
            did = rng.choice(self.feeds)
            record, ids = self._feed_record()
        else:
            did = rng.choice(self.users)
            linking = rng.random() < self.link_share
            record, ids = self._user_record(linking)
        rkey = self._tid()
        uri = f"at://{did}/{POST}/{rkey}"
        self._remember((did, rkey, uri))
        if ids:
            self.expected[uri] = ids
            self._authors[uri] = did
        return {"did": did, "commit": self._commit("create", POST, rkey, record)}

    def _delete(self) -> dict[str, Any]:
        rng = self.rng
        slot = self._pick() if rng.random() < 0.7 else None
        if slot is not None:
            did, rkey, uri = self._recent[slot] or ("", "", "")
            self._recent[slot] = None
            self.expected.pop(uri, None)
            self._authors.pop(uri, None)
        else:  # a post from before the stream
            did, rkey = rng.choice(self.users), self._tid(self.time_us - 10**11)
        return {"did": did, "commit": self._commit("delete", POST, rkey, None)}

    def _update(self) -> dict[str, Any]:
        """An edit of a recent post: it may gain or lose its links."""
        slot = self._pick()
        if slot is None:
            return self._create()
        did, rkey, uri = self._recent[slot] or ("", "", "")
        linking = self.rng.random() < (0.5 if uri in self.expected else 0.2)
        record, ids = self._user_record(linking)
        if ids:
            self.expected[uri] = ids
            self._authors[uri] = did
        else:
            self.expected.pop(uri, None)
            self._authors.pop(uri, None)
        return {"did": did, "commit": self._commit("update", POST, rkey, record)}

    def _like(self) -> dict[str, Any]:
        did = self.rng.choice(self.users)
        record = {"$type": LIKE, "createdAt": self._stamp(), "subject": self._strong_ref()}
        return {"did": did, "commit": self._commit("create", LIKE, self._tid(), record)}

    def _account(self) -> dict[str, Any]:
        rng = self.rng
        slot = rng.randrange(len(self.users))
        did = self.users[slot]
        status = rng.choice(("deleted", "deleted", "deactivated", None))
        account: dict[str, Any] = {
            "active": status is None,
            "did": did,
            "seq": self._next_relay_seq(),
            "time": self._stamp(),
        }
        if status is not None:
            account["status"] = status
        if status == "deleted":
            for uri in [u for u, author in self._authors.items() if author == did]:
                del self.expected[uri]
                del self._authors[uri]
            for index, post in enumerate(self._recent):
                if post is not None and post[0] == did:
                    self._recent[index] = None
            self.users[slot] = self._did()  # a deleted account posts no more
        return {"did": did, "account": account}

    def _identity(self) -> dict[str, Any]:
        did = self.rng.choice(self.users)
        identity = {
            "did": did,
            "handle": f"{self.rng.choice(_TAGS).lower()}{self.rng.randrange(10**4)}.bsky.social",
            "seq": self._next_relay_seq(),
            "time": self._stamp(),
        }
        return {"did": did, "identity": identity}

    # -- records ------------------------------------------------------------------------------

    def _user_record(self, linking: bool) -> tuple[dict[str, Any], tuple[str, ...]]:
        rng = self.rng
        lang = rng.choice(tuple(_WORDS))
        text = _Text()
        papers: list[str] = []
        embed: dict[str, Any] | None = None
        if linking:
            text.add(rng.choice(_PAPER_INTROS[lang]) + " ")
            papers = rng.sample(
                self.arxiv_ids, k=min(len(self.arxiv_ids), rng.choice((1, 1, 1, 2, 3)))
            )
            for paper in papers[:-1]:
                self._add_link(text, self._link(paper))
                text.add(" " + self._words(lang, 2, 5) + " ")
            last = self._link(papers[-1])
            style = rng.random()
            if style < 0.6:
                self._add_link(text, last)
            elif style < 0.85:
                embed = self._external(last)
            else:
                embed = {
                    "$type": "app.bsky.embed.recordWithMedia",
                    "record": {"$type": "app.bsky.embed.record", "record": self._strong_ref()},
                    "media": self._external(last),
                }
            text.add(" " + self._words(lang, 3, 12))
        else:
            text.add(self._words(lang, 3, 25))
            extra = rng.random()
            if extra < 0.05:
                text.add(
                    " " + rng.choice(("arXiv", "ArXiv", "arxiv")) + " " + self._words(lang, 1, 3)
                )
            elif extra < 0.08:
                self._add_link(text, rng.choice(DECOY_LINKS))
            elif extra < 0.2:
                text.add(" ")
                self._add_link(text, rng.choice(OTHER_LINKS))
        self._decorate(text, lang)
        record: dict[str, Any] = {"$type": POST, "text": text.text, "createdAt": self._stamp()}
        if rng.random() < 0.9:
            record["langs"] = [lang] if rng.random() < 0.9 else [lang, "en"]
        if text.facets:
            record["facets"] = text.facets
        if embed is None:
            embed = self._media()
        if embed is not None:
            record["embed"] = embed
        if rng.random() < 0.3:
            record["reply"] = {"root": self._strong_ref(), "parent": self._strong_ref()}
        return record, tuple(dict.fromkeys(map(paper_of, papers)))

    def _feed_record(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        """A feed bot's post: a paper's title line and its abstract link, with a facet."""
        rng = self.rng
        paper = rng.choice(self.arxiv_ids)
        text = _Text()
        text.add(f"[{rng.choice(('cs.CV', 'cs.LG', 'cs.CL', 'hep-th', 'math.GT'))}] ")
        text.add(self._words("en", 4, 10).title() + " ")
        self._add_link(text, f"https://arxiv.org/abs/{paper}")
        record = {
            "$type": POST,
            "text": text.text,
            "createdAt": self._stamp(),
            "langs": ["en"],
            "facets": text.facets,
        }
        return record, (paper_of(paper),)

    def _link(self, paper: str) -> str:
        form = self.rng.choice(LINK_FORMS)
        return form.format(id=paper, v=self.rng.randint(1, 4))

    def _add_link(self, text: _Text, uri: str) -> None:
        """A link the way clients write it: in full with a facet, shortened for display with
        a facet keeping the whole URI, or bare (a client that makes no facets)."""
        uri = uri.strip()
        full = uri if "://" in uri else f"https://{uri}"
        shown = uri.split("://", 1)[-1]
        style = self.rng.random()
        if style < 0.15:
            text.add(uri)  # no facet
            return
        if style < 0.6 and len(shown) > 24:
            shown = shown[:21] + "..."
        text.add(shown, facet={"$type": "app.bsky.richtext.facet#link", "uri": full})

    def _decorate(self, text: _Text, lang: str) -> None:
        rng = self.rng
        if rng.random() < 0.3:
            text.add(" " + rng.choice(_EMOJI))
        if rng.random() < 0.15:
            text.add(" ")
            tag = rng.choice(_TAGS)
            text.add(f"#{tag}", facet={"$type": "app.bsky.richtext.facet#tag", "tag": tag})
        if rng.random() < 0.1:
            text.add(" ")
            did = rng.choice(self.users)
            text.add(
                f"@{rng.choice(_TAGS).lower()}.bsky.social",
                facet={"$type": "app.bsky.richtext.facet#mention", "did": did},
            )

    def _external(self, uri: str) -> dict[str, Any]:
        full = uri if "://" in uri else f"https://{uri}"
        external: dict[str, Any] = {
            "uri": full,
            "title": self._words("en", 3, 9).title(),
            "description": self._words("en", 8, 30),
        }
        if self.rng.random() < 0.7:
            external["thumb"] = self._blob("image/jpeg")
        return {"$type": "app.bsky.embed.external", "external": external}

    def _media(self) -> dict[str, Any] | None:
        draw = self.rng.random()
        if draw < 0.2:
            return {
                "$type": "app.bsky.embed.images",
                "images": [
                    {
                        "alt": self._words("en", 0, 8),
                        "image": self._blob("image/jpeg"),
                        "aspectRatio": {"width": 1200, "height": self.rng.choice((675, 900, 1200))},
                    }
                    for _ in range(self.rng.randint(1, 4))
                ],
            }
        if draw < 0.23:
            return {
                "$type": "app.bsky.embed.video",
                "video": self._blob("video/mp4"),
                "aspectRatio": {"width": 1920, "height": 1080},
            }
        if draw < 0.28:
            return self._external(self.rng.choice(OTHER_LINKS))
        if draw < 0.33:
            return {"$type": "app.bsky.embed.record", "record": self._strong_ref()}
        return None

    # -- identifiers --------------------------------------------------------------------------

    def _words(self, lang: str, least: int, most: int) -> str:
        words = _WORDS[lang]
        joiner = "" if lang == "ja" else " "
        count = least + int(self.rng.random() * (most - least + 1))
        return joiner.join(self.rng.choices(words, k=count))

    def _commit(
        self, operation: str, collection: str, rkey: str, record: dict[str, Any] | None
    ) -> dict[str, Any]:
        commit: dict[str, Any] = {
            "rev": self._tid(),
            "operation": operation,
            "collection": collection,
            "rkey": rkey,
        }
        if record is not None:
            commit["record"] = record
            commit["cid"] = self._cid()
        return commit

    def _did(self) -> str:
        return "did:plc:" + self._base32(24)

    def _cid(self) -> str:
        return "bafyrei" + self._base32(52)

    def _base32(self, length: int) -> str:
        """`length` random characters of atproto's lower-case base32."""
        return self.rng.randbytes(length).translate(_BASE32_OF_BYTE).decode()

    def _blob(self, mime: str) -> dict[str, Any]:
        return {
            "$type": "blob",
            "ref": {"$link": "bafkrei" + self._base32(52)},
            "mimeType": mime,
            "size": self.rng.randrange(20_000, 900_000),
        }

    def _remember(self, post: tuple[str, str, str]) -> None:
        if len(self._recent) < _RECENT:
            self._recent.append(post)
        else:
            self._recent[self._recent_next] = post
            self._recent_next = (self._recent_next + 1) % _RECENT

    def _pick(self) -> int | None:
        """The slot of a recent post still there, or None."""
        if not self._recent:
            return None
        slot = self.rng.randrange(len(self._recent))
        return slot if self._recent[slot] is not None else None

    def _strong_ref(self) -> dict[str, str]:
        """A reference to a recent post (or to one from before the stream)."""
        slot = self._pick()
        post = self._recent[slot] if slot is not None else None
        uri = post[2] if post else f"at://{self.rng.choice(self.users)}/{POST}/{self._tid()}"
        return {"uri": uri, "cid": self._cid()}

    def _tid(self, time_us: int | None = None) -> str:
        """A timestamp id: 53 bits of microseconds, 10 of clock id, base32-sortable."""
        self._clock_id = (self._clock_id + 1) % 1024
        value = ((time_us if time_us is not None else self.time_us) << 10) | self._clock_id
        pairs = _TID_PAIRS
        return _TID_CHARS[value >> 60] + "".join(
            pairs[(value >> shift) & 1023] for shift in (50, 40, 30, 20, 10, 0)
        )

    def _stamp(self) -> str:
        """The record's createdAt: a little before the event, in milliseconds, UTC."""
        milliseconds = (self.time_us - int(self.rng.random() * 3_000_000)) // 1000
        seconds, millis = divmod(milliseconds, 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"

    def _next_relay_seq(self) -> int:
        self._relay_seq += self.rng.randrange(1, 1000)
        return self._relay_seq


class _Text:
    """A post's text built piece by piece, with facets at their UTF-8 byte ranges."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0  # bytes so far
        self.facets: list[dict[str, Any]] = []

    def add(self, piece: str, facet: dict[str, Any] | None = None) -> None:
        length = len(piece.encode())
        if facet is not None:
            self.facets.append(
                {
                    "index": {"byteStart": self.size, "byteEnd": self.size + length},
                    "features": [facet],
                }
            )
        self.parts.append(piece)
        self.size += length

    @property
    def text(self) -> str:
        return "".join(self.parts)
