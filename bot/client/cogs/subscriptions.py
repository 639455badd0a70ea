"""/subscribe, /unsubscribe, /subscriptions: which categories a channel receives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits, taxonomy
from bot.client.context import categories, channel_target, require_manage_channels
from bot.client.replies import reply
from bot.client.tree import Refusal, offer_nothing_on_store_error
from bot.render import Renderer, category_label, choice_name

if TYPE_CHECKING:
    from bot.client.bot import HotPapersBot
    from bot.store import Subscriptions


class SubscriptionsCog(commands.Cog):
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

    @app_commands.command(
        name="subscribe", description="Post this channel the Hot Papers of a category"
    )
    @app_commands.describe(category="arXiv category like cs.CV, or a whole archive like cs")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    async def subscribe(
        self, interaction: discord.Interaction[HotPapersBot], category: str
    ) -> None:
        target = channel_target(interaction)
        require_manage_channels(interaction)
        codes = list(categories(self.renderer, category))  # "cs.CV," is one category
        if not codes:
            raise Refusal(self.renderer.notice("missing_category"))
        added = await self.subscriptions.subscribe(target.channel_id, target.guild_id, codes)
        already = [c for c in codes if c not in added]
        if added:
            await self.on_change(target.channel_id)
        if not added:
            notice = self.renderer.notice(
                "already_subscribed", channel_id=target.channel_id, category=", ".join(already)
            )
        else:
            notice = self.renderer.notice(
                "subscribed", channel_id=target.channel_id, added=added, already=already
            )
        await reply(interaction, notice)

    @subscribe.autocomplete("category")
    async def subscribe_autocomplete(
        self, interaction: discord.Interaction[HotPapersBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=choice_name(name), value=value)
            for name, value in taxonomy.autocomplete(current[:100], limit=limits.CHOICES)
        ]

    @app_commands.command(name="unsubscribe", description="Stop posting a category in this channel")
    @app_commands.describe(category="one of this channel's subscriptions")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    async def unsubscribe(
        self, interaction: discord.Interaction[HotPapersBot], category: str
    ) -> None:
        target = channel_target(interaction)
        require_manage_channels(interaction)
        current = await self.subscriptions.get(target.channel_id)
        codes = current.categories if current else ()
        try:
            code = taxonomy.normalize(category)
        except taxonomy.UnknownCategory:
            code = category.strip()
        if code not in codes or not await self.subscriptions.unsubscribe(target.channel_id, code):
            raise Refusal(
                self.renderer.notice(
                    "not_subscribed",
                    channel_id=target.channel_id,
                    category=code,
                    current=list(codes),
                )
            )
        remaining = [c for c in codes if c != code]
        await self.on_change(target.channel_id)
        await reply(
            interaction,
            self.renderer.notice(
                "unsubscribed", channel_id=target.channel_id, category=code, remaining=remaining
            ),
        )

    @unsubscribe.autocomplete("category")
    @offer_nothing_on_store_error
    async def unsubscribe_autocomplete(
        self, interaction: discord.Interaction[HotPapersBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        target = channel_target(interaction)
        subscription = await self.subscriptions.get(target.channel_id)
        if subscription is None:
            return []
        needle = current.strip().lower()
        return [
            app_commands.Choice(name=choice_name(category_label(code)), value=code)
            for code in subscription.categories
            if needle in category_label(code).lower()
        ][: limits.CHOICES]

    @app_commands.command(
        name="subscriptions", description="This channel's categories and settings"
    )
    @app_commands.guild_only()
    async def show(self, interaction: discord.Interaction[HotPapersBot]) -> None:
        target = channel_target(interaction)
        subscription = await self.subscriptions.get(target.channel_id)
        await reply(
            interaction,
            self.renderer.subscriptions(
                subscription,
                channel_name=target.name,
                default_top=self.default_top,
                next_due=await self.next_due(target.channel_id),
            ),
        )
