"""What a command acts on and who may: the channel, the runtime permission check, and the
categories it is given."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot import taxonomy
from bot.client.tree import Refusal
from bot.dates import parse_day
from bot.render import Renderer

if TYPE_CHECKING:
    from bot.client.bot import HotPapersBot


@dataclass(frozen=True, slots=True)
class ChannelTarget:
    """The channel whose subscriptions a command reads or changes (a thread's parent)."""

    guild_id: int
    channel_id: int
    name: str


def channel_target(interaction: discord.Interaction[HotPapersBot]) -> ChannelTarget:
    """Subscriptions live on server channels; a thread acts for its parent channel."""
    if interaction.guild_id is None or interaction.channel_id is None:
        raise Refusal(interaction.client.renderer.notice("guild_only"))
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id:
        parent = channel.parent
        name = parent.name if parent is not None else str(channel.parent_id)
        return ChannelTarget(interaction.guild_id, channel.parent_id, name)
    name = getattr(channel, "name", None) or str(interaction.channel_id)
    return ChannelTarget(interaction.guild_id, interaction.channel_id, name)


def require_manage_channels(interaction: discord.Interaction[HotPapersBot]) -> None:
    """The runtime half of the permission rule; `default_permissions` is only a default."""
    permissions = interaction.permissions
    if not (permissions.manage_channels or permissions.administrator):
        raise Refusal(interaction.client.renderer.notice("missing_permission"))


def day_option(renderer: Renderer, text: str) -> dt.date:
    """A date option as typed (YYYY-MM-DD); a Refusal saying so otherwise."""
    try:
        return parse_day(text)
    except ValueError:
        raise Refusal(renderer.notice("invalid_date", text=text)) from None


def categories(renderer: Renderer, text: str) -> tuple[str, ...]:
    """The categories and archives typed (`cs.CV, cs`), normalized; a Refusal naming the
    first unknown one, with the closest valid codes."""
    try:
        return taxonomy.normalize_list(text)
    except taxonomy.UnknownCategory as exc:
        notice = renderer.notice(
            "unknown_category", query=exc.query, suggestions=list(exc.suggestions)
        )
        raise Refusal(notice) from None
