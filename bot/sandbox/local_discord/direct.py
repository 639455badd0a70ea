"""Direct messages and members leaving: what the local Discord does for a bot that DMs members.

A member may close their DMs to the bot (``World.closed_dms``): a message to their DM channel
is then refused as Discord refuses it, 403 with code 50007 "Cannot send messages to this
user" (opening the DM channel still works, as on Discord). A member may leave a server: they
are taken out of its members, so ``GET /guilds/{guild}/members/{user}`` answers 404 with code
10007 "Unknown Member", and GUILD_MEMBER_REMOVE goes only to sessions with the privileged
GUILD_MEMBERS intent (which hotpapers does not ask for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.sandbox.local_discord.http import ApiError
from bot.sandbox.local_discord.world import FakeChannel, Intent, World

if TYPE_CHECKING:
    from bot.sandbox.local_discord.server import LocalDiscord

CANNOT_MESSAGE_USER = 50007


def refuse_closed_dm(world: World, channel: FakeChannel) -> None:
    """Discord's answer to a message for a member whose DMs are closed to the bot."""
    if channel.type == 1 and channel.recipient_id in world.closed_dms:
        raise ApiError(403, CANNOT_MESSAGE_USER, "Cannot send messages to this user")


async def remove_member(local: LocalDiscord, guild_id: int, user_id: int) -> None:
    """The member leaves the server (or is kicked)."""
    guild = local.world.guilds[guild_id]
    member = guild.member(user_id)
    if member is None:
        raise KeyError(f"user {user_id} is not a member of guild {guild_id}")
    guild.members.remove(member)
    await local.dispatch(
        "GUILD_MEMBER_REMOVE",
        {"guild_id": str(guild_id), "user": member.user.to_payload()},
        guild_id=guild_id,
        intent=Intent.GUILD_MEMBERS,
    )
    local.notifier.notify()


def dm_messages(local: LocalDiscord, user_id: int) -> list[dict[str, Any]]:
    """The messages the bot sent to a member's DM channel, oldest first."""
    channel = local.world.dm_channel_of(user_id)
    return [] if channel is None else local.channel_messages(channel.id)
