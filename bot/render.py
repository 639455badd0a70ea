"""Jinja2 templates → Discord message payloads that always fit Discord's limits.

Pure: takes domain objects, returns plain dicts in Discord's JSON shape. Text from posts is
escaped for Discord markdown and mentions, so no title or tweet can ping or break layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from bot import taxonomy
from bot.models import PaperHistory, Subscription

if TYPE_CHECKING:
    from bot.digest import Digest, DigestEntry

BUNDLED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
FIELDS_PER_EMBED = 25
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
CHOICES_LIMIT = 25
CHOICE_NAME_LIMIT = 100
ELLIPSIS = "…"
EMBED_CACHE_SIZE = 4096

_MARKDOWN = re.compile(r"([\\*_~`|\[\]])")
_LINE_START = re.compile(r"^(\s*)([#>+-])", re.MULTILINE)
_ORDERED_LIST = re.compile(r"^(\s*\d+)\.", re.MULTILINE)
_MENTION = re.compile(r"<(?=[@#/:]|a:|t:)")
_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_ZWSP = "\u200b"


def escape_markdown(text: str) -> str:
    """Make `text` show literally in Discord: no formatting, no mentions, no masked links."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _ORDERED_LIST.sub(r"\1\\.", text)
    text = _MENTION.sub("<" + _ZWSP, text)
    return _EVERYONE.sub("@" + _ZWSP, text)


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
    """`A, B, C and 14 more (17 authors)` when long."""
    if len(authors) <= limit:
        return ", ".join(authors)
    return f"{', '.join(authors[:limit])} and {len(authors) - limit} more ({len(authors)} authors)"


def embed_size(embed: Mapping[str, Any]) -> int:
    """The characters Discord counts toward the 6000 limit of a message's embeds."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", "")) + len(
        embed.get("author", {}).get("name", "")
    )
    for item in embed.get("fields", ()):
        size += len(item["name"]) + len(item["value"])
    return size


@dataclass(frozen=True, slots=True)
class LinkButton:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Message:
    """One Discord message: what the bot sends or answers with."""

    content: str = ""
    embeds: tuple[dict[str, Any], ...] = ()
    buttons: tuple[LinkButton, ...] = ()
    ephemeral: bool = False

    def as_ephemeral(self) -> Message:
        return replace(self, ephemeral=True)

    def body(self, nonce: str | None = None) -> dict[str, Any]:
        """The JSON body of a message create (POST /channels/{id}/messages)."""
        body: dict[str, Any] = {"allowed_mentions": {"parse": []}}
        if self.content:
            body["content"] = self.content
        if self.embeds:
            body["embeds"] = [dict(e) for e in self.embeds]
        if self.buttons:
            body["components"] = [
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "style": 5, "label": b.label, "url": b.url}
                        for b in self.buttons
                    ],
                }
            ]
        if nonce is not None:
            body["nonce"] = nonce
            body["enforce_nonce"] = True
        return body


@dataclass(slots=True)
class EmbedBuilder:
    """Assembles one embed, shortening every part to its own limit as it goes."""

    title: str = ""
    url: str | None = None
    description: str = ""
    color: int | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)
    footer: str = ""

    def add_field(self, name: str, value: str, *, inline: bool = False) -> bool:
        if len(self.fields) >= FIELDS_PER_EMBED or not value.strip():
            return False
        self.fields.append(
            {
                "name": shorten(name, FIELD_NAME_LIMIT) or _ZWSP,
                "value": shorten(value, FIELD_VALUE_LIMIT),
                "inline": inline,
            }
        )
        return True

    def build(self) -> dict[str, Any]:
        embed: dict[str, Any] = {"type": "rich"}
        if self.title:
            embed["title"] = shorten(self.title, TITLE_LIMIT)
        if self.url:
            embed["url"] = self.url
        if self.description:
            embed["description"] = shorten(self.description, DESCRIPTION_LIMIT)
        if self.color is not None:
            embed["color"] = self.color
        if self.fields:
            embed["fields"] = list(self.fields)
        if self.footer:
            embed["footer"] = {"text": shorten(self.footer, FOOTER_LIMIT)}
        return embed


def choice_name(text: str) -> str:
    """An autocomplete choice's label: one line, at most 100 characters."""
    return shorten(" ".join(text.split()), CHOICE_NAME_LIMIT) or "?"


class Renderer:
    """Renders messages from the Jinja2 templates; a configured directory overrides them."""

    COLOR = 0xB31B1B  # arXiv red

    def __init__(self, override_directory: str | Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if override_directory:
            loaders.append(jinja2.FileSystemLoader(str(override_directory)))
        loaders.append(jinja2.FileSystemLoader(str(BUNDLED_TEMPLATES)))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["md"] = escape_markdown
        self.env.filters["shorten"] = shorten
        self.env.filters["authors"] = author_list
        self.env.filters["number"] = lambda n: f"{n:,}"
        self.env.globals["describe"] = taxonomy.describe
        self._embeds: dict[DigestEntry, dict[str, Any]] = {}

    def block(self, template: str, name: str, **context: Any) -> str:
        """Render one `{% block %}` of a template with its own context."""
        tpl = self.env.get_template(template)
        render = tpl.blocks.get(name)
        if render is None:
            raise jinja2.TemplateError(f"template {template} has no block {name!r}")
        return "".join(render(tpl.new_context(context))).strip()

    def notice(self, name: str, **context: Any) -> Message:
        """A short confirmation or error, shown only to the user who asked."""
        return Message(
            content=shorten(self.block("notices.j2", name, **context), CONTENT_LIMIT),
            ephemeral=True,
        )

    def paper(self, history: PaperHistory, *, max_tweets: int = 5) -> Message:
        paper = history.paper
        ctx: dict[str, Any] = {"paper": paper, "history": history}
        embed = EmbedBuilder(
            title=self.block("paper.j2", "title", **ctx),
            url=paper.abs_url,
            color=self.COLOR,
            footer=self.block("paper.j2", "footer", **ctx),
        )
        head = self.block("paper.j2", "head", **ctx)
        abstract = self.block("paper.j2", "abstract", **ctx)
        embed.add_field("Hot on", self.block("paper.j2", "appearances", **ctx))
        for tweet in history.tweets[:max_tweets]:
            embed.add_field(
                self.block("paper.j2", "tweet_name", tweet=tweet, **ctx),
                self.block("paper.j2", "tweet", tweet=tweet, **ctx),
            )
        if len(history.tweets) > max_tweets:
            embed.add_field(
                "More tweets", self.block("paper.j2", "more_tweets", shown=max_tweets, **ctx)
            )
        # The abstract gets whatever room the rest leaves under the 6000-character total.
        room = EMBED_TOTAL_LIMIT - embed_size(embed.build()) - len(head) - 2
        while room < 200 and len(embed.fields) > 1:
            embed.fields.pop()
            room = EMBED_TOTAL_LIMIT - embed_size(embed.build()) - len(head) - 2
        embed.description = (
            f"{head}\n\n{shorten(abstract, min(room, DESCRIPTION_LIMIT - len(head) - 2))}"
        )
        buttons = [LinkButton("arXiv abstract", paper.abs_url)]
        if paper.pdf_url:
            buttons.append(LinkButton("PDF", paper.pdf_url))
        return Message(embeds=(embed.build(),), buttons=tuple(buttons))

    def subscriptions(
        self,
        subscription: Subscription | None,
        *,
        channel_name: str,
        default_top: int,
        next_due: str | None = None,
    ) -> Message:
        ctx: dict[str, Any] = {
            "subscription": subscription,
            "channel": channel_name,
            "default_top": default_top,
            "next_due": next_due,
        }
        embed = EmbedBuilder(
            title=self.block("subscriptions.j2", "title", **ctx),
            description=self.block("subscriptions.j2", "description", **ctx),
            color=self.COLOR,
        )
        if subscription is not None:
            embed.add_field("Settings", self.block("subscriptions.j2", "settings", **ctx))
        return Message(embeds=(embed.build(),))

    def digest(self, digest: Digest) -> list[Message]:
        """A channel's daily digest: the header as the first message's content, then one embed
        per paper in rank order, packed into as few messages as Discord's limits allow."""
        header = self.digest_header(digest)
        return fit_messages([self._digest_embed(digest, e) for e in digest.entries], header)

    def _digest_embed(self, digest: Digest, entry: DigestEntry) -> dict[str, Any]:
        """A paper's embed depends only on the entry (paper, rank, matching categories), so the
        many channels of one day share each rendering."""
        cached = self._embeds.get(entry)
        if cached is None:
            ctx: dict[str, Any] = {"digest": digest, "entry": entry}
            cached = EmbedBuilder(
                title=self.block("digest.j2", "title", **ctx),
                url=entry.ranked.paper.abs_url,
                description=self.block("digest.j2", "description", **ctx),
                color=self.COLOR,
            ).build()
            if len(self._embeds) >= EMBED_CACHE_SIZE:
                self._embeds.clear()
            self._embeds[entry] = cached
        return cached

    def digest_header(self, digest: Digest, *, markdown: bool = True) -> str:
        """The digest's first line, e.g. "**Hot Papers 2021-03-05** · 4 of 13 papers match cs.CV";
        plain text for a terminal with `markdown=False`."""
        text = self.block("digest.j2", "header", digest=digest, markdown=markdown)
        return shorten(text, CONTENT_LIMIT)


def fit_messages(embeds: Iterable[dict[str, Any]], content: str = "") -> list[Message]:
    """Pack embeds into as few messages as Discord allows, in order (10 and 6000 per message)."""
    messages: list[Message] = []
    current: list[dict[str, Any]] = []
    size = 0
    for embed in embeds:
        weight = embed_size(embed)
        if current and (len(current) >= EMBEDS_PER_MESSAGE or size + weight > EMBED_TOTAL_LIMIT):
            messages.append(Message(content=content if not messages else "", embeds=tuple(current)))
            current, size = [], 0
        current.append(embed)
        size += weight
    if current or content:
        messages.append(Message(content=content if not messages else "", embeds=tuple(current)))
    return messages
