"""Discord messages as the bot sends them: content, embeds within Discord's limits, link
buttons, and the JSON body of a message create, always with mentions disabled."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot import limits
from bot.markup import ZWSP
from bot.text import shorten


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

    def body(self) -> dict[str, Any]:
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
        if len(self.fields) >= limits.EMBED_FIELDS or not value.strip():
            return False
        self.fields.append(
            {
                "name": shorten(name, limits.FIELD_NAME) or ZWSP,
                "value": shorten(value, limits.FIELD_VALUE),
                "inline": inline,
            }
        )
        return True

    def build(self) -> dict[str, Any]:
        embed: dict[str, Any] = {"type": "rich"}
        if self.title:
            embed["title"] = shorten(self.title, limits.EMBED_TITLE)
        if self.url:
            embed["url"] = self.url
        if self.description:
            embed["description"] = shorten(self.description, limits.EMBED_DESCRIPTION)
        if self.color is not None:
            embed["color"] = self.color
        if self.fields:
            embed["fields"] = list(self.fields)
        if self.footer:
            embed["footer"] = {"text": shorten(self.footer, limits.FOOTER_TEXT)}
        return embed


def fit_messages(embeds: Iterable[dict[str, Any]], content: str = "") -> list[Message]:
    """Pack embeds into as few messages as Discord allows, in order (10 and 6000 per message)."""
    messages: list[Message] = []
    current: list[dict[str, Any]] = []
    size = 0
    for embed in embeds:
        weight = embed_size(embed)
        if current and (
            len(current) >= limits.EMBEDS_PER_MESSAGE or size + weight > limits.EMBED_TOTAL
        ):
            messages.append(Message(content=content if not messages else "", embeds=tuple(current)))
            current, size = [], 0
        current.append(embed)
        size += weight
    if current or content:
        messages.append(Message(content=content if not messages else "", embeds=tuple(current)))
    return messages
