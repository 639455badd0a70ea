"""Driving the bot's slash commands in the local Discord and reading its replies, shared by the
command tests (tests/client) and the end-to-end tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.fake_discord import (
    FakeDiscord,
    InteractionHandle,
)
from tests.support.harness import request_paths
from tests.support.posts import sample_post

PERCEIVER = "2103.03206"
PERCEIVER_TITLE = "Perceiver: General Perception with Iterative Attention"
PERCEIVER_AUTHORS = (
    "Andrew Jaegle",
    "Felix Gimeno",
    "Andrew Brock",
    "Andrew Zisserman",
    "Oriol Vinyals",
    "Joao Carreira",
)
PERCEIVER_ABS = "https://arxiv.org/abs/2103.03206"
PERCEIVER_PDF = "https://arxiv.org/pdf/2103.03206"
PERCEIVER_TWEET = "https://twitter.com/arankomatsuzaki/status/1367657530143383561"
EPHEMERAL = 64
ELLIPSIS = "…"

COMMANDS = (
    "paper",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "settings",
    "digest",
    "follow",
    "following",
    "unfollow",
    "search",
    "top",
    "author",
)
GUILD_ONLY = ("subscribe", "unsubscribe", "subscriptions", "settings", "digest")
GUILD_ONLY += ("follow",)
MANAGE_CHANNELS_ONLY = ("subscribe", "unsubscribe", "settings")
GLOBAL_SYNC = "/applications/{app}/commands"


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


async def command(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **where: Any
) -> tuple[InteractionHandle, dict[str, Any]]:
    """Invoke a slash command and wait for the bot's (first) reply message."""
    handle = await fake.interact(name, options, **where)
    return handle, await handle.wait_reply()


async def notice(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **where: Any
) -> str:
    """Invoke a command whose answer is a short notice only the user sees; its text."""
    handle, reply = await command(fake, name, options, **where)
    assert handle.ephemeral, reply
    assert int(reply["flags"]) & EPHEMERAL
    assert reply["embeds"] == []
    content: str = reply["content"]
    return content


async def choices(
    fake: FakeDiscord, name: str, option: str, typed: str, **where: Any
) -> list[dict[str, Any]]:
    handle = await fake.autocomplete(name, {option: typed}, focused=option, **where)
    found = await handle.wait_choices()
    assert len(found) <= 25
    for choice in found:
        assert 1 <= len(choice["name"]) <= 100, choice
        assert len(str(choice["value"])) <= 100, choice
    return found


def only_embed(reply: dict[str, Any]) -> dict[str, Any]:
    assert len(reply["embeds"]) == 1, reply["embeds"]
    embed: dict[str, Any] = reply["embeds"][0]
    return embed


def field_named(embed: dict[str, Any], name: str) -> dict[str, Any]:
    found = [f for f in embed.get("fields", []) if f["name"] == name]
    assert len(found) == 1, [f["name"] for f in embed.get("fields", [])]
    return found[0]


def link_buttons(reply: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, url) of the link buttons (type 2, style 5) in the reply's action rows."""
    buttons = []
    for row in reply.get("components", []):
        assert row["type"] == 1
        for item in row["components"]:
            assert (item["type"], item["style"]) == (2, 5), item
            buttons.append((item["label"], item["url"]))
    return buttons


def assert_fits_discord(embed: dict[str, Any]) -> None:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    assert len(embed.get("title", "")) <= 256
    assert len(embed.get("description", "")) <= 4096
    assert len(embed.get("fields", [])) <= 25
    for item in embed.get("fields", []):
        assert 1 <= len(item["name"]) <= 256
        assert 1 <= len(item["value"]) <= 1024
        total += len(item["name"]) + len(item["value"])
    footer = embed.get("footer", {}).get("text", "")
    assert len(footer) <= 2048
    total += len(footer) + len(embed.get("author", {}).get("name", ""))
    assert total <= 6000


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def sync_requests(fake: FakeDiscord, guild_id: int | None = None) -> list[str]:
    app = fake.application_id
    if guild_id is None:
        return request_paths(fake, "PUT", f"/applications/{app}/commands")
    return request_paths(fake, "PUT", f"/applications/{app}/guilds/{guild_id}/commands")


# ---------------------------------------------------------------------------------------------
# posts edited from a real one (the parser insists on the real structure)
# ---------------------------------------------------------------------------------------------

PERCEIVER_POST = sample_post("2021-03-05")
_PERCEIVER_HEADING = f"# 3. {PERCEIVER_TITLE}"
_PERCEIVER_AUTHORS_LINE = ", ".join(PERCEIVER_AUTHORS)
_BLOCKQUOTE = re.compile(r'<blockquote class="twitter-tweet">.*?</blockquote>', re.DOTALL)
_TWEET_BODY = re.compile(r'(<p lang="[^"]*" dir="ltr">)(.*?)(</p>)', re.DOTALL)
_STATUS = re.compile(r"/status/(\d+)")


def _perceiver_section(text: str) -> tuple[int, int]:
    start = text.index(_PERCEIVER_HEADING)
    end = text.index("\n# 4. ", start)
    return start, end


def edited_perceiver_post(
    tmp_path: Path,
    *,
    title: str | None = None,
    authors: list[str] | None = None,
    abstract: str | None = None,
    first_tweet_html: str | None = None,
    tweets: list[str] | None = None,
) -> Path:
    """The 2021-03-05 post with the Perceiver section (rank 3) edited; written to tmp_path.

    ``first_tweet_html`` replaces the HTML inside the first tweet's ``<p>``; ``tweets``
    replaces all three tweets by copies of the first with these HTML bodies (each with its
    own status id, as the archive keeps one tweet per URL).
    """
    text = PERCEIVER_POST.read_text(encoding="utf-8")
    start, end = _perceiver_section(text)
    section = text[start:end]
    if title is not None:
        assert "\n" not in title
        section = section.replace(_PERCEIVER_HEADING, f"# 3. {title}", 1)
    if authors is not None:
        assert _PERCEIVER_AUTHORS_LINE in section
        section = section.replace(_PERCEIVER_AUTHORS_LINE, ", ".join(authors), 1)
    if abstract is not None:
        old = next(line for line in section.split("\n") if line.startswith("Biological systems"))
        section = section.replace(old, abstract, 1)
    quotes = _BLOCKQUOTE.findall(section)
    assert len(quotes) == 3
    if first_tweet_html is not None:
        first = _TWEET_BODY.sub(lambda m: m[1] + first_tweet_html + m[3], quotes[0], count=1)
        section = section.replace(quotes[0], first, 1)
    if tweets is not None:
        template = quotes[0]
        script = '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8">'
        script += "</script>"
        made = []
        for number, body in enumerate(tweets):
            quote = _TWEET_BODY.sub(lambda m, b=body: m[1] + b + m[3], template, count=1)
            quote = _STATUS.sub(f"/status/{1367657530143383561 + 1000 + number}", quote)
            made.append(f"{quote}\n{script}\n")
        head = section[: section.index(quotes[0])]
        section = head + "\n".join(made) + "\n\n\n"
    path = tmp_path / "2021-03-05---Hot-Papers.md"
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# result lists: their select menu and buttons
# ---------------------------------------------------------------------------------------------


def components(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """The interactive components of a reply, row by row."""
    return [item for row in reply.get("components", []) for item in row["components"]]


def select_menu(reply: dict[str, Any]) -> dict[str, Any]:
    (menu,) = [c for c in components(reply) if c["type"] == 3]
    return menu


def option_values(reply: dict[str, Any]) -> list[str]:
    return [o["value"] for o in select_menu(reply)["options"]]


def button(reply: dict[str, Any], label: str) -> dict[str, Any]:
    (found,) = [c for c in components(reply) if c["type"] == 2 and c.get("label") == label]
    return found
