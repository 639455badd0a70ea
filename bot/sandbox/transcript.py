"""Discord messages as terminal text: content, embeds, link buttons, with Discord markup resolved.

Pure: takes the message objects the local Discord stored and returns lines to print.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EPHEMERAL_FLAG = 64
EPHEMERAL_NOTE = "(only you can see this)"
BORDER = "│ "

_CHANNEL = re.compile(r"<#(\d+)>")
_USER = re.compile(r"<@!?(\d+)>")
_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_LINK = re.compile(r"\[([^\]\n]+)\]\((<?)(https?://[^)\s>]+)>?\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ESCAPE = re.compile(r"\\([\\*_~`|\[\]#>+\-.()])")
_ZWSP = "\u200b"


@dataclass(frozen=True, slots=True)
class Style:
    """ANSI styling for a terminal; ``Style()`` is plain text."""

    color: bool = False

    def bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.color and text else text

    def dim(self, text: str) -> str:
        return f"\033[2m{text}\033[0m" if self.color and text else text


PLAIN = Style()


def relative(moment: dt.datetime, now: dt.datetime) -> str:
    """`in 3 hours`, `5 minutes ago`, like Discord's <t:…:R>."""
    seconds = (moment - now).total_seconds()
    size = abs(seconds)
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if size >= length:
            count = round(size / length)
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            break
    else:
        return "now" if size < 30 else ("in a minute" if seconds > 0 else "a minute ago")
    return f"in {text}" if seconds > 0 else f"{text} ago"


def plain(
    text: str,
    *,
    channel_name: Callable[[int], str | None] = lambda _: None,
    now: dt.datetime | None = None,
    style: Style = PLAIN,
) -> str:
    """Discord markdown and markup → readable terminal text."""
    current = now or dt.datetime.now(dt.UTC)

    def channel(match: re.Match[str]) -> str:
        name = channel_name(int(match[1]))
        return f"#{name}" if name else f"#{match[1]}"

    def timestamp(match: re.Match[str]) -> str:
        moment = dt.datetime.fromtimestamp(int(match[1]), dt.UTC)
        if match[2] == "R":
            return relative(moment, current)
        return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z")

    text = _CHANNEL.sub(channel, text)
    text = _USER.sub(lambda m: f"@{m[1]}", text)
    text = _TIMESTAMP.sub(timestamp, text)
    text = _LINK.sub(lambda m: f"{m[1]} <{m[3]}>", text)
    text = _BOLD.sub(lambda m: style.bold(m[1]), text)
    return _ESCAPE.sub(r"\1", text).replace(_ZWSP, "")


def display_width(text: str) -> int:
    """Terminal columns: East Asian wide characters take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _pieces(word: str, room: int) -> list[str]:
    """`word`, cut to fit `room` columns only when it holds wide characters (CJK text may
    break anywhere; a URL or a long Latin word is better left whole)."""
    if display_width(word) <= room or display_width(word) == len(word):
        return [word]
    pieces, current = [], ""
    for char in word:
        if current and display_width(current + char) > room:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces


def _wrap_line(line: str, width: int, first: str, hang: str) -> list[str]:
    """Greedy wrap of one line by display width; its own leading spaces are kept."""
    lines: list[str] = []
    current = first + line[: len(line) - len(line.lstrip())]
    started = False  # whether `current` holds a word yet
    for word in line.split():
        for piece in _pieces(word, max(width - display_width(hang), 10)):
            if not started:
                current, started = current + piece, True
            elif display_width(current) + 1 + display_width(piece) > width:
                lines.append(current)
                current = hang + piece
            else:
                current = f"{current} {piece}"
    lines.append(current.rstrip())
    return lines


def _wrap(text: str, width: int | None, indent: str = "", hang: str = "") -> list[str]:
    """Each line of `text`, wrapped to `width` columns (None: as is), blank lines kept."""
    lines: list[str] = []
    for index, line in enumerate(text.split("\n")):
        first = indent if index == 0 else hang or indent
        if width is None or not line.strip():
            lines.append((first + line).rstrip())
        else:
            room = max(width, display_width(first) + 20)
            lines.extend(_wrap_line(line, room, first, hang or indent))
    return lines


def embed_lines(
    embed: Mapping[str, Any],
    *,
    width: int | None = None,
    markup: Callable[[str], str] = lambda text: text,
    style: Style = PLAIN,
) -> list[str]:
    """One embed: title, url, description, fields as `name: value`, footer; with a border."""
    inner = None if width is None else width - len(BORDER)
    body: list[str] = []
    author = (embed.get("author") or {}).get("name")
    if author:
        body += _wrap(markup(author), inner)
    if embed.get("title"):
        body += [style.bold(line) for line in _wrap(markup(embed["title"]), inner)]
    if embed.get("url"):
        body.append(embed["url"])
    if embed.get("description"):
        body += _wrap(markup(embed["description"]), inner)
    for item in embed.get("fields") or []:
        name, value = markup(str(item.get("name", ""))), markup(str(item.get("value", "")))
        if body and body[-1]:
            body.append("")
        if "\n" in value:
            body += _wrap(f"{name}:", inner)
            body += _wrap(value, inner, indent="  ")
        else:
            body += _wrap(f"{name}: {value}", inner, hang="  ")
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        body += _wrap(f"— {markup(footer)}", inner, hang="  ")
    border = style.dim(BORDER)
    return [f"{border}{line}".rstrip() for line in body]


def button_lines(components: Iterable[Mapping[str, Any]]) -> list[str]:
    """One action row per line: link buttons as `[label] url`, other buttons as `[label]`
    (`(label)` when disabled), a select menu as `▾ placeholder (N options)`."""
    lines = []
    for row in components:
        shown = []
        for c in row.get("components") or []:
            label = c.get("label") or ("link" if c.get("url") else "button")
            if c.get("url"):
                shown.append(f"[{label}] {c['url']}")
            elif c.get("type") == 2:
                shown.append(f"({label})" if c.get("disabled") else f"[{label}]")
            elif c.get("type") == 3:
                count = len(c.get("options") or [])
                options = "option" if count == 1 else "options"
                menu = f"▾ {c.get('placeholder') or 'menu'} ({count} {options})"
                shown.append(f"{menu}, disabled" if c.get("disabled") else menu)
        if shown:
            lines.append("   ".join(shown))
    return lines


def message_lines(
    message: Mapping[str, Any],
    *,
    width: int | None = None,
    channel_name: Callable[[int], str | None] = lambda _: None,
    style: Style = PLAIN,
    now: dt.datetime | None = None,
    header: str | None = None,
) -> list[str]:
    """A whole message. `header` (e.g. `── #papers ──`) goes before the content's first line."""

    def markup(text: str) -> str:
        return plain(text, channel_name=channel_name, now=now, style=style)

    lines = _wrap(markup(message.get("content") or ""), width) if message.get("content") else []
    if header is not None:
        lines = [f"{header} {lines[0]}" if lines else header, *lines[1:]]
    for index, embed in enumerate(message.get("embeds") or []):
        if index:
            lines.append("")  # Discord shows each embed in a box of its own
        lines += embed_lines(embed, width=width, markup=markup, style=style)
    lines += button_lines(message.get("components") or [])
    if int(message.get("flags") or 0) & EPHEMERAL_FLAG:
        lines.append(style.dim(EPHEMERAL_NOTE))
    return lines
