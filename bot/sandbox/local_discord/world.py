"""The local Discord's world: guilds, channels, roles, members, and who may do what where.

Plain dataclasses a test or the sandbox builds (``default_guild`` is the usual one) and the
``World`` that holds them for one bot: which guilds it is in or left, which channels were
deleted, its DM channels, and the lookups the routes use, each failing with the error Discord
would answer. Permissions are computed with Discord's algorithm.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.local_discord.http import ApiError

with warnings.catch_warnings():
    # discord.py's voice support imports audioop, deprecated since Python 3.11; under the
    # tests' filterwarnings=error that import would fail the whole session.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

DISCORD_EPOCH_MS = 1_420_070_400_000

GUILD_ID = 1000
PAPERS_CHANNEL_ID = 1001
GENERAL_CHANNEL_ID = 1002
THREAD_ID = 1003
ADMIN_ROLE_ID = 1010
BOT_ROLE_ID = 1012
ADMIN_USER_ID = 2001
MEMBER_USER_ID = 2002
DEFAULT_BOT_USER_ID = 4242


class Perm:
    """Discord permission bits (only those the fake reasons about, plus common ones)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = discord.Permissions.all().value

    EVERYONE_DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    BOT_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | SEND_MESSAGES_IN_THREADS
    )


class Intent:
    """The gateway intents the fake reasons about."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12


THREAD_TYPES = frozenset({10, 11, 12})
TEXT_LIKE_TYPES = frozenset({0, 1, 3, 5, 10, 11, 12})


class Snowflakes:
    """Increasing snowflakes based on the current time (like Discord's)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass
class Overwrite:
    """A channel permission overwrite; ``type`` 0 = role, 1 = member."""

    id: int
    type: int = 0
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class FakeChannel:
    """A guild channel (0 text, 2 voice, 4 category, 5 news, 11 public thread ...) or DM (1)."""

    id: int
    name: str
    type: int = 0
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)
    owner_id: int | None = None  # threads
    archived: bool = False  # threads
    recipient_id: int | None = None  # DMs

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = "2021-03-01T12:00:00+00:00"

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    channels: list[FakeChannel] = field(default_factory=list)
    roles: list[FakeRole] = field(default_factory=list)
    members: list[FakeMember] = field(default_factory=list)
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=list)

    def channel(self, channel_id: int) -> FakeChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def role(self, role_id: int) -> FakeRole | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def member(self, user_id: int) -> FakeMember | None:
        return next((m for m in self.members if m.id == user_id), None)

    @property
    def everyone(self) -> FakeRole:
        role = self.role(self.id)
        if role is None:
            role = FakeRole(id=self.id, name="@everyone", permissions=Perm.EVERYONE_DEFAULT)
            self.roles.insert(0, role)
        return role


def default_guild(bot_user: FakeUser) -> FakeGuild:
    """The default guild.

    "Reading Group" (1000): #papers 1001, #general 1002, thread 1003 in #papers; roles
    @everyone (1000), Admin (1010: Administrator + Manage Channels + Manage Guild) and the bot's
    managed role (1012); members alice (2001, Admin, owner), bob (2002, no roles) and the bot.
    """
    alice = FakeUser(ADMIN_USER_ID, "alice", "Alice")
    bob = FakeUser(MEMBER_USER_ID, "bob", "Bob")
    return FakeGuild(
        id=GUILD_ID,
        name="Reading Group",
        owner_id=ADMIN_USER_ID,
        channels=[
            FakeChannel(PAPERS_CHANNEL_ID, "papers", 0, position=0, topic="Daily hot papers"),
            FakeChannel(GENERAL_CHANNEL_ID, "general", 0, position=1),
            FakeChannel(
                THREAD_ID,
                "paper-discussion",
                11,
                parent_id=PAPERS_CHANNEL_ID,
                owner_id=ADMIN_USER_ID,
            ),
        ],
        roles=[
            FakeRole(GUILD_ID, "@everyone", Perm.EVERYONE_DEFAULT, position=0),
            FakeRole(
                ADMIN_ROLE_ID,
                "Admin",
                Perm.ADMINISTRATOR | Perm.MANAGE_CHANNELS | Perm.MANAGE_GUILD,
                position=2,
            ),
            FakeRole(
                BOT_ROLE_ID,
                bot_user.username,
                Perm.BOT_DEFAULT,
                position=1,
                managed=True,
                bot_id=bot_user.id,
            ),
        ],
        members=[
            FakeMember(alice, roles=[ADMIN_ROLE_ID]),
            FakeMember(bob, roles=[]),
            FakeMember(bot_user, roles=[BOT_ROLE_ID]),
        ],
    )


# ---------------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------------


def base_permissions(guild: FakeGuild, user_id: int) -> int:
    """Guild-level permissions of a member (Discord's algorithm)."""
    if user_id == guild.owner_id:
        return Perm.ALL
    member = guild.member(user_id)
    perms = guild.everyone.permissions
    for role_id in member.roles if member else []:
        role = guild.role(role_id)
        if role is not None:
            perms |= role.permissions
    return Perm.ALL if perms & Perm.ADMINISTRATOR else perms


def channel_permissions(guild: FakeGuild, user_id: int, channel: FakeChannel) -> int:
    """Permissions of a member in a channel, overwrites applied (threads use the parent's)."""
    perms = base_permissions(guild, user_id)
    if perms & Perm.ADMINISTRATOR:
        return Perm.ALL
    source = channel
    if channel.is_thread and channel.parent_id is not None:
        source = guild.channel(channel.parent_id) or channel
    member = guild.member(user_id)
    role_ids = set(member.roles) if member else set()
    for ow in source.overwrites:
        if ow.type == 0 and ow.id == guild.id:
            perms = (perms & ~ow.deny) | ow.allow
    allow = deny = 0
    for ow in source.overwrites:
        if ow.type == 0 and ow.id in role_ids:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    for ow in source.overwrites:
        if ow.type == 1 and ow.id == user_id:
            perms = (perms & ~ow.deny) | ow.allow
    if not perms & Perm.VIEW_CHANNEL:
        return 0
    return perms


# ---------------------------------------------------------------------------------------------
# The world of one bot
# ---------------------------------------------------------------------------------------------


class World:
    """The guilds one bot is in (or was removed from), the users it knows and its DMs.

    ``guilds`` and the sets ``left_guilds`` / ``deleted_channels`` are the state the world
    events change; the lookups answer as Discord would answer the bot (404 for what does not
    exist or was deleted, 403 where it has no access).
    """

    def __init__(
        self,
        bot_user: FakeUser,
        guilds: Sequence[FakeGuild],
        *,
        enforce_permissions: bool,
        ids: Snowflakes,
    ) -> None:
        self.bot_user = bot_user
        self.guilds: dict[int, FakeGuild] = {g.id: g for g in guilds}
        self.users: dict[int, FakeUser] = {bot_user.id: bot_user}
        self.left_guilds: set[int] = set()
        self.deleted_channels: set[int] = set()
        self.closed_dms: set[int] = set()  # users who take no DMs from the bot (see direct)
        self.enforce_permissions = enforce_permissions
        self._ids = ids
        self._dm_channels: dict[int, FakeChannel] = {}
        for guild in guilds:
            self._adopt(guild)

    def _adopt(self, guild: FakeGuild) -> None:
        """Register a guild's users; make the bot a member (with no roles) if it is not."""
        if guild.member(self.bot_user.id) is None:
            guild.members.append(FakeMember(self.bot_user))
        for member in guild.members:
            self.users.setdefault(member.id, member.user)

    def joined(self) -> list[FakeGuild]:
        """The guilds the bot is in."""
        return [g for g in self.guilds.values() if g.id not in self.left_guilds]

    def user(self, user_id: int) -> FakeUser:
        """A user by id (an unknown id becomes a plain user named after it)."""
        user = self.users.get(user_id)
        if user is None:
            user = FakeUser(user_id, f"user{user_id}")
            self.users[user_id] = user
        return user

    def dm_channel(self, user_id: int) -> FakeChannel:
        """The DM channel between the bot and a user (created on first use)."""
        channel = self._dm_channels.get(user_id)
        if channel is None:
            channel = FakeChannel(self._ids.next(), "", type=1, recipient_id=user_id)
            self._dm_channels[user_id] = channel
        return channel

    def dm_channel_of(self, user_id: int) -> FakeChannel | None:
        """The DM channel with a user, if the bot opened one."""
        return self._dm_channels.get(user_id)

    def guild_of_channel(self, channel_id: int) -> FakeGuild | None:
        return next((g for g in self.guilds.values() if g.channel(channel_id)), None)

    def guild(self, guild_id: int) -> FakeGuild:
        """A guild the bot is in, or the error Discord would answer."""
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        if guild_id in self.left_guilds:
            raise ApiError(403, 50001, "Missing Access")
        return guild

    def channel(self, channel_id: int) -> tuple[FakeChannel, FakeGuild | None]:
        """A channel the bot can see (with its guild, None for a DM), or the error Discord
        would answer."""
        for dm in self._dm_channels.values():
            if dm.id == channel_id:
                return dm, None
        guild = self.guild_of_channel(channel_id)
        if guild is None or channel_id in self.deleted_channels:
            raise ApiError(404, 10003, "Unknown Channel")
        if guild.id in self.left_guilds:
            raise ApiError(403, 50001, "Missing Access")
        channel = guild.channel(channel_id)
        assert channel is not None
        if self.enforce_permissions:
            perms = channel_permissions(guild, self.bot_user.id, channel)
            if not perms & Perm.VIEW_CHANNEL:
                raise ApiError(403, 50001, "Missing Access")
        return channel, guild

    def bot_permissions(self, guild: FakeGuild, channel: FakeChannel) -> int:
        return channel_permissions(guild, self.bot_user.id, channel)
