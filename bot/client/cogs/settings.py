"""/settings: when and how a channel receives its digests."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.client.context import channel_target, require_manage_channels
from bot.client.replies import reply
from bot.client.tree import Refusal
from bot.models import SCORE_WORDING
from bot.render import Renderer, choice_name
from bot.store import SettingsChange

if TYPE_CHECKING:
    from bot.client.bot import HotPapersBot
    from bot.store import Subscriptions

_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_IMMEDIATE = {"now", "off", "asap", "immediately", "none"}


@functools.cache
def timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


class SettingsCog(commands.Cog):
    def __init__(
        self,
        subscriptions: Subscriptions,
        renderer: Renderer,
        default_top: int,
        on_change: Callable[[int], Awaitable[None]],
        next_due: Callable[[int], Awaitable[dt.datetime | None]],
    ) -> None:
        self.subscriptions = subscriptions
        self.renderer = renderer
        self.default_top = default_top
        self.on_change = on_change
        self.next_due = next_due

    @app_commands.command(name="settings", description="When and how this channel gets digests")
    @app_commands.describe(
        time="local time HH:MM to post digests, or 'now' to post as soon as published",
        timezone="IANA time zone for the time, e.g. Europe/Paris",
        top=f"papers per digest (1 to {limits.DIGEST_TOP})",
        min_score=f"only papers with at least this many {SCORE_WORDING}",
        paused="stop (true) or resume (false) digests in this channel",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    async def settings(
        self,
        interaction: discord.Interaction[HotPapersBot],
        time: str | None = None,
        timezone: str | None = None,
        top: app_commands.Range[int, 1, limits.DIGEST_TOP] | None = None,
        min_score: app_commands.Range[int, 0, limits.MIN_SCORE_LIMIT] | None = None,
        paused: bool | None = None,
    ) -> None:
        target = channel_target(interaction)
        require_manage_channels(interaction)
        current = await self.subscriptions.get(target.channel_id)
        if current is None:
            raise Refusal(self.renderer.notice("no_subscription", channel_id=target.channel_id))
        # Discord's client keeps to the declared ranges, but a forged interaction need not.
        for option, value, low, high, unit in (
            ("top", top, 1, limits.DIGEST_TOP, "papers per digest"),
            ("min_score", min_score, 0, limits.MIN_SCORE_LIMIT, SCORE_WORDING),
        ):
            if value is not None and not low <= value <= high:
                raise Refusal(
                    self.renderer.notice(
                        "invalid_setting", option=option, value=value, low=low, high=high, unit=unit
                    )
                )
        change = SettingsChange(top=top, min_score=min_score, paused=paused)
        if time is not None:
            text = time.strip().lower()
            match = _TIME.fullmatch(text)
            if text in _IMMEDIATE:
                change = replace(change, clear_deliver_at=True)
            elif match:
                at = dt.time(int(match[1]), int(match[2]))
                change = replace(change, deliver_at=at)
            else:
                raise Refusal(self.renderer.notice("invalid_time", text=time))
        if timezone is not None:
            zone = timezone.strip()
            if zone not in timezones():
                suggestions = difflib.get_close_matches(zone, timezones(), n=5, cutoff=0.5)
                raise Refusal(
                    self.renderer.notice("invalid_timezone", text=zone, suggestions=suggestions)
                )
            change = replace(change, timezone=zone)
        if change != SettingsChange():
            await self.subscriptions.update_settings(target.channel_id, change)
            await self.on_change(target.channel_id)
        updated = await self.subscriptions.get(target.channel_id)
        message = self.renderer.subscriptions(
            updated,
            channel_name=target.name,
            default_top=self.default_top,
            next_due=await self.next_due(target.channel_id),
        )
        await reply(interaction, message.as_ephemeral())

    @settings.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction[HotPapersBot], current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip().lower().replace(" ", "_")
        if not needle:
            popular = (
                "UTC",
                "Europe/London",
                "Europe/Paris",
                "America/New_York",
                "America/Los_Angeles",
                "Asia/Tokyo",
                "Asia/Shanghai",
                "Asia/Kolkata",
            )
            return [app_commands.Choice(name=z, value=z) for z in popular]
        starts = [z for z in timezones() if z.lower().startswith(needle)]
        contains = [z for z in timezones() if needle in z.lower() and z not in starts]
        return [
            app_commands.Choice(name=choice_name(z), value=z)
            for z in (starts + contains)[: limits.CHOICES]
        ]
