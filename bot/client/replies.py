"""Turning rendered messages into discord.py calls, always with mentions disabled."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import discord

from bot import limits
from bot.message import Message
from bot.store import StoreError

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# interaction.extras key of a note owed to the member (their DMs are closed), with the
# callback that records it was shown.
OWED_NOTE = "hotpapers.owed_note"


def link_view(message: Message) -> discord.ui.View | None:
    if not message.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in message.buttons:
        view.add_item(
            discord.ui.Button(style=discord.ButtonStyle.link, label=button.label, url=button.url)
        )
    return view


def send_kwargs(message: Message) -> dict[str, Any]:
    """Keyword arguments for `send_message`/`followup.send`/`channel.send`."""
    kwargs: dict[str, Any] = {
        "content": message.content or None,
        "embeds": [discord.Embed.from_dict(e) for e in message.embeds],
        "allowed_mentions": NO_MENTIONS,
    }
    view = link_view(message)
    if view is not None:
        kwargs["view"] = view
    return kwargs


async def reply(interaction: discord.Interaction[Any], message: Message) -> None:
    """Answer an interaction, or follow up when it was already answered or deferred.

    A note owed to the member (`owe_note`) comes with the first reply: in its text when it is
    shown only to them and there is room, else as a follow-up only they see."""
    owed: tuple[Message, Callable[[], Awaitable[None]]] | None
    owed = interaction.extras.pop(OWED_NOTE, None)
    separate = None
    if owed is not None:
        note = owed[0]
        joined = f"{message.content}\n\n{note.content}" if message.content else note.content
        if message.ephemeral and len(joined) <= limits.CONTENT:
            message = replace(message, content=joined)
        else:
            separate = note
    await _send(interaction, message)
    if owed is None:
        return
    if separate is not None:
        await _send(interaction, separate.as_ephemeral())
    await _noted(interaction, owed[1])


async def send_owed_note(interaction: discord.Interaction[Any]) -> None:
    """After a reply sent otherwise than by `reply` (a list with its buttons): the note owed
    to the member, if any, as a follow-up only they see."""
    owed: tuple[Message, Callable[[], Awaitable[None]]] | None
    owed = interaction.extras.pop(OWED_NOTE, None)
    if owed is not None:
        await _send(interaction, owed[0].as_ephemeral())
        await _noted(interaction, owed[1])


async def _noted(
    interaction: discord.Interaction[Any], shown: Callable[[], Awaitable[None]]
) -> None:
    try:
        await shown()
    except StoreError as exc:
        log.warning("could not record that member %s was told: %s", interaction.user.id, exc)


async def _send(interaction: discord.Interaction[Any], message: Message) -> None:
    kwargs = send_kwargs(message)
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=message.ephemeral, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=message.ephemeral, **kwargs)


def owe_note(
    interaction: discord.Interaction[Any], note: Message, shown: Callable[[], Awaitable[None]]
) -> None:
    """Have the interaction's first reply carry `note`; `shown` is awaited once it was sent."""
    interaction.extras[OWED_NOTE] = (note, shown)
