"""Turning rendered messages into discord.py calls, always with mentions disabled."""

from __future__ import annotations

from typing import Any

import discord

from bot.render import Message

NO_MENTIONS = discord.AllowedMentions.none()


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
    """Answer an interaction, or follow up when it was already answered or deferred."""
    kwargs = send_kwargs(message)
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=message.ephemeral, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=message.ephemeral, **kwargs)
