"""/digest: preview a day's digest for this channel's subscriptions, only for the asker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.client.context import channel_target, day_option
from bot.client.replies import reply
from bot.client.tree import Refusal, offer_nothing_on_store_error
from bot.planning import DeliveryPlanner
from bot.render import Renderer

if TYPE_CHECKING:
    from bot.client.bot import HotPapersBot
    from bot.store import Archive, Subscriptions


class DigestsCog(commands.Cog):
    def __init__(
        self,
        archive: Archive,
        subscriptions: Subscriptions,
        planner: DeliveryPlanner,
        renderer: Renderer,
    ) -> None:
        self.archive = archive
        self.subscriptions = subscriptions
        self.planner = planner
        self.renderer = renderer

    @app_commands.command(name="digest", description="Preview a day's digest for this channel")
    @app_commands.describe(date="the Hot Papers day, YYYY-MM-DD (default: the latest)")
    @app_commands.guild_only()
    async def digest(
        self, interaction: discord.Interaction[HotPapersBot], date: str | None = None
    ) -> None:
        target = channel_target(interaction)
        subscription = await self.subscriptions.get(target.channel_id)
        if subscription is None or not (subscription.categories or subscription.follows):
            raise Refusal(self.renderer.notice("no_subscription", channel_id=target.channel_id))
        if date is None:
            day_date = await self.archive.latest_date()
            if day_date is None:
                raise Refusal(self.renderer.notice("empty_archive"))
        else:
            day_date = day_option(self.renderer, date)
        await interaction.response.defer(ephemeral=True, thinking=True)
        day = await self.archive.day(day_date)
        if day is None:
            raise Refusal(self.renderer.notice("unknown_day", date=day_date.isoformat()))
        try:
            messages = self.planner.messages(day, subscription)
        except (ValueError, TypeError) as exc:
            # Settings the archive should not hold (an old or edited database).
            raise Refusal(self.renderer.notice("unusable_settings", problem=str(exc))) from None
        if not messages:
            raise Refusal(
                self.renderer.notice(
                    "no_match", date=day_date.isoformat(), categories=subscription.categories
                )
                if subscription.categories
                else self.renderer.notice("no_followed_match", date=day_date.isoformat())
            )
        for message in messages:
            await reply(interaction, message.as_ephemeral())

    @digest.autocomplete("date")
    @offer_nothing_on_store_error
    async def date_autocomplete(
        self, interaction: discord.Interaction[HotPapersBot], current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip()
        days = await self.archive.days()
        return [
            app_commands.Choice(name=f"{d.date} · {d.paper_count} papers", value=d.date.isoformat())
            for d in reversed(days)
            if d.date.isoformat().startswith(needle)
        ][: limits.CHOICES]
