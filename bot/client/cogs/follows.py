"""/follow, /following, /unfollow: the keywords and authors a channel follows (papers that match
join its digest) or a member follows for themselves (papers that match come by DM).

The commands are open to every member; the channel form needs Manage Channels, checked when it
runs. `/follow` is made in a server, which is recorded with a personal follow: the bot looks
there whether the member is still around before sending them anything. `/following` and
`/unfollow` also work in DMs, on the member's own follows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.client.context import channel_target, require_manage_channels
from bot.client.replies import reply
from bot.client.tree import Refusal, offer_nothing_on_store_error
from bot.follows import FOLLOW_KINDS, TEXT_LIMIT, InvalidFollow, label, name_key, parse_follow
from bot.follows import phrase_key as keyword_key
from bot.models import Follow, FollowKind
from bot.render import Renderer, choice_name
from bot.text import fold

if TYPE_CHECKING:
    from bot.client.bot import HotPapersBot
    from bot.store import Follows

Whom = Literal["channel", "me"]
FOR_CHOICES = [
    app_commands.Choice(name="this channel", value="channel"),
    app_commands.Choice(name="me, by direct message", value="me"),
]
ALL = "all"


class FollowsCog(commands.Cog):
    def __init__(
        self,
        follows: Follows,
        renderer: Renderer,
        on_channel_change: Callable[[int], Awaitable[None]],
        on_member_change: Callable[[int], Awaitable[None]],
    ) -> None:
        self.follows = follows
        self.renderer = renderer
        self.on_channel_change = on_channel_change
        self.on_member_change = on_member_change

    @app_commands.command(
        name="follow", description="Follow a keyword or an author: in this channel, or you by DM"
    )
    @app_commands.describe(
        keyword="a word or phrase of titles and abstracts, e.g. diffusion model",
        author="an author's first and last name, e.g. Yann LeCun",
        for_="this channel's digest (Manage Channels), or you, by direct message",
    )
    @app_commands.rename(for_="for")
    @app_commands.choices(for_=FOR_CHOICES)
    @app_commands.guild_only()
    async def follow(
        self,
        interaction: discord.Interaction[HotPapersBot],
        keyword: app_commands.Range[str, 1, TEXT_LIMIT] | None = None,
        author: app_commands.Range[str, 1, TEXT_LIMIT] | None = None,
        for_: str = "channel",
    ) -> None:
        whom = _whom(for_)
        target = channel_target(interaction)
        if whom == "channel":
            require_manage_channels(interaction)
        typed: tuple[tuple[FollowKind, str | None], ...] = (
            ("keyword", keyword),
            ("author", author),
        )
        given = [(kind, text) for kind, text in typed if text]
        if len(given) != 1:
            raise Refusal(self.renderer.notice("follow_what", given=bool(given)))
        kind, text = given[0]
        assert text is not None
        try:
            follow = parse_follow(kind, text)
        except InvalidFollow as exc:
            notice = self.renderer.notice("invalid_follow", kind=kind, text=text, reason=str(exc))
            raise Refusal(notice) from None
        if whom == "me":
            user_id = interaction.user.id
            outcome = await self.follows.follow_member(user_id, target.guild_id, follow)
            channel_id = None
            now = await self.follows.of_member(user_id)
            if outcome == "added":
                await self.on_member_change(user_id)
        else:
            channel_id = target.channel_id
            outcome = await self.follows.follow_channel(channel_id, target.guild_id, follow)
            now = await self.follows.of_channel(channel_id)
            if outcome == "added":
                await self.on_channel_change(channel_id)
        if outcome == "already":  # as it was first typed
            follow = next((f for f in now if (f.kind, f.key) == (follow.kind, follow.key)), follow)
        name = {"added": "followed", "already": "already_following", "full": "follows_full"}
        notice = self.renderer.notice(
            name[outcome],
            channel_id=channel_id,
            follow=follow,
            count=len(now),
            limit=limits.FOLLOWS,
        )
        await reply(interaction, notice)

    @app_commands.command(
        name="following", description="The keywords and authors this channel and you follow"
    )
    @app_commands.describe(for_="only this channel's, or only yours (default: both)")
    @app_commands.rename(for_="for")
    @app_commands.choices(for_=FOR_CHOICES)
    async def following(
        self, interaction: discord.Interaction[HotPapersBot], for_: str | None = None
    ) -> None:
        whom = None if for_ is None else _whom(for_)
        if interaction.guild_id is None and whom is None:
            whom = "me"  # in DMs there is no channel to show
        channel_name, channel_follows = None, tuple[Follow, ...]()
        if whom != "me":
            target = channel_target(interaction)
            channel_name = target.name
            channel_follows = await self.follows.of_channel(target.channel_id)
        member_follows, closed = None, False
        if whom != "channel":
            user_id = interaction.user.id
            member_follows = await self.follows.of_member(user_id)
            closed = bool(member_follows) and await self.follows.dms_closed(user_id)
        message = self.renderer.following(
            channel=channel_name,
            channel_follows=channel_follows,
            member_follows=member_follows,
            dms_closed=closed,
        )
        await reply(interaction, message)

    @app_commands.command(name="unfollow", description="Stop following a keyword or an author")
    @app_commands.describe(
        follow="one of the follows offered, or all",
        for_="this channel's (Manage Channels), or yours",
    )
    @app_commands.rename(for_="for")
    @app_commands.choices(for_=FOR_CHOICES)
    async def unfollow(
        self,
        interaction: discord.Interaction[HotPapersBot],
        follow: app_commands.Range[str, 1, limits.CHOICE_VALUE],
        for_: str | None = None,
    ) -> None:
        channel_id = None
        if self._owner(interaction, for_) == "channel":
            channel_id = channel_target(interaction).channel_id
            require_manage_channels(interaction)
            current = await self.follows.of_channel(channel_id)
        else:
            current = await self.follows.of_member(interaction.user.id)
        wanted = None if follow.strip().lower() == ALL else _chosen(follow, current)
        if wanted == [] or not current:
            raise Refusal(
                self.renderer.notice(
                    "not_following", channel_id=channel_id, text=follow, current=list(current)
                )
            )
        if channel_id is None:
            removed = await self.follows.unfollow_member(interaction.user.id, wanted)
            await self.on_member_change(interaction.user.id)
        else:
            removed = await self.follows.unfollow_channel(channel_id, wanted)
            await self.on_channel_change(channel_id)
        if wanted is None:
            notice = self.renderer.notice("unfollowed_all", channel_id=channel_id, count=removed)
        else:
            notice = self.renderer.notice(
                "unfollowed",
                channel_id=channel_id,
                follow=wanted[0],
                remaining=len(current) - removed,
            )
        await reply(interaction, notice)

    @unfollow.autocomplete("follow")
    @offer_nothing_on_store_error
    async def unfollow_autocomplete(
        self, interaction: discord.Interaction[HotPapersBot], current: str
    ) -> list[app_commands.Choice[str]]:
        """The follows of the channel, or the member's with `for:me` (and in DMs), then all."""
        try:
            whom = self._owner(interaction, getattr(interaction.namespace, "for", None))
        except Refusal:
            return []
        if whom == "me":
            follows = await self.follows.of_member(interaction.user.id)
        else:
            follows = await self.follows.of_channel(channel_target(interaction).channel_id)
        needle = fold(current.strip())
        choices = [
            app_commands.Choice(name=choice_name(label(f)), value=_value(f))
            for f in follows
            if needle in fold(label(f))
        ]
        if follows and (not needle or ALL.startswith(needle)):
            everything = f"all of them ({len(follows)})"
            # Offered even with 25 follows: the last place is kept for it.
            choices = choices[: limits.CHOICES - 1]
            choices.append(app_commands.Choice(name=everything, value=ALL))
        return choices[: limits.CHOICES]

    def _owner(self, interaction: discord.Interaction[HotPapersBot], for_: str | None) -> Whom:
        """Whose follows /unfollow acts on: the member's with for:me and in DMs, else the
        channel's; the channel form in DMs is refused."""
        if for_ is None:
            return "me" if interaction.guild_id is None else "channel"
        whom = _whom(for_)
        if whom == "channel" and interaction.guild_id is None:
            raise Refusal(self.renderer.notice("guild_only"))
        return whom


def _whom(value: str) -> Whom:
    """The `for` option; Discord offers only its choices, but a forged value means the
    channel, the form that needs Manage Channels."""
    return "me" if value == "me" else "channel"


def _value(follow: Follow) -> str:
    """An autocomplete value that names a follow: its kind and its text (at most 88)."""
    return f"{follow.kind}:{follow.text}"


def _chosen(text: str, current: tuple[Follow, ...]) -> list[Follow]:
    """The follows `text` names: an autocomplete value (`keyword:diffusion`), or the text as
    typed, compared by its normalised key with both kinds."""
    kind, _, rest = text.partition(":")
    kinds: tuple[str, ...] = (kind,) if kind in FOLLOW_KINDS and rest else FOLLOW_KINDS
    typed = rest if kind in FOLLOW_KINDS and rest else text
    keys = {"keyword": keyword_key(typed), "author": name_key(typed)}
    return [f for f in current if f.kind in kinds and f.key == keys[f.kind]]
