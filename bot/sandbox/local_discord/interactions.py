"""Slash commands and autocomplete as a member invokes them, and what the bot answered.

``create_interaction`` builds the INTERACTION_CREATE Discord would send for a synced command
(the member, channel and permissions, nested subcommand options, ``resolved`` data for
channel, user and role values), refusing what Discord's client would not send; the
``InteractionHandle`` it returns collects the callback and replies the ``webhooks`` routes
store, and waits for them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.sandbox.local_discord.http import RecordedRequest
from bot.sandbox.local_discord.notifier import Notifier
from bot.sandbox.local_discord.payloads import channel_payload, dm_payload, member_payload
from bot.sandbox.local_discord.world import (
    ADMIN_USER_ID,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeUser,
    Perm,
    base_permissions,
    channel_permissions,
)

if TYPE_CHECKING:
    from bot.sandbox.local_discord.server import LocalDiscord

EPHEMERAL = 64
# What a bot may do in a DM channel.
DM_BOT_PERMISSIONS = (
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
)


class InteractionHandle:
    """An INTERACTION_CREATE the fake dispatched, and what the bot answered.

    Attributes: ``id``, ``token``, ``type`` (2 command, 3 component, 4 autocomplete),
    ``payload`` (what was dispatched), ``callback`` (body of the callback POST, e.g.
    ``{"type": 4, "data": {...}}``), ``original`` (the current original response message; for
    a component answered with 6 or 7, the component's message), ``original_edits`` (PATCH
    bodies), ``followups`` (follow-up messages), ``replies`` (message objects in the order they
    appeared: original response, deferred-then-edited original, follow-ups),
    ``original_deleted``.
    """

    def __init__(
        self, payload: dict[str, Any], notifier: Notifier, requests: list[RecordedRequest]
    ) -> None:
        self._notifier = notifier
        self._requests = requests
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.channel_id: int | None = (
            int(payload["channel_id"]) if payload.get("channel_id") else None
        )
        self.guild_id: int | None = int(payload["guild_id"]) if payload.get("guild_id") else None
        self.user: dict[str, Any] = (
            payload["member"]["user"] if "member" in payload else payload["user"]
        )
        self.created_at = time.monotonic()
        self.callback: dict[str, Any] | None = None
        self.original: dict[str, Any] | None = None
        self.original_edits: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []
        self.original_deleted = False

    def __repr__(self) -> str:
        return (
            f"<InteractionHandle id={self.id} type={self.type} "
            f"callback_type={self.callback_type} replies={len(self.replies)}>"
        )

    @property
    def callback_type(self) -> int | None:
        return None if self.callback is None else self.callback.get("type")

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    def _describe(self) -> str:
        own = [r for r in self._requests if self.token in r.path]
        return (
            f"interaction {self.id} ({self.payload.get('data', {}).get('name')!r}): "
            f"callback={self.callback!r}, followups={len(self.followups)}, "
            f"edits={len(self.original_edits)}; requests for it: "
            + repr([f"{r.method} {r.path} -> {r.status}" for r in own])
        )

    async def wait_callback(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The callback body (``{"type": ..., "data": ...}``) once the bot answered."""
        return await self._notifier.wait_for(lambda: self.callback, timeout, self._describe)

    async def wait_reply(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The bot's reply.

        * callback type 4/7: the original response message,
        * type 5/6 (deferred): the message of the first PATCH of @original or the first
          follow-up, whichever comes first,
        * type 8 (autocomplete): the callback ``data`` (``{"choices": [...]}``),
        * other types (9 modal ...): the callback ``data``.
        """

        def ready() -> dict[str, Any] | None:
            if self.callback is None:
                return None
            kind = self.callback.get("type")
            if kind in (4, 7):
                return self.original
            if kind in (5, 6):
                return self.replies[0] if self.replies else None
            data: dict[str, Any] = self.callback.get("data") or {}
            return data

        return await self._notifier.wait_for(ready, timeout, self._describe)

    async def wait_choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """The choices of an autocomplete (type 8) answer."""
        callback = await self.wait_callback(timeout)
        if callback.get("type") != 8:
            raise AssertionError(f"expected an autocomplete result (type 8), got {callback!r}")
        choices: list[dict[str, Any]] = (callback.get("data") or {}).get("choices") or []
        return choices

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """At least ``count`` follow-up messages."""
        return await self._notifier.wait_for(
            lambda: list(self.followups) if len(self.followups) >= count else None,
            timeout,
            self._describe,
        )

    async def wait_replies(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """At least ``count`` reply messages (original response and follow-ups, in order)."""
        return await self._notifier.wait_for(
            lambda: list(self.replies) if len(self.replies) >= count else None,
            timeout,
            self._describe,
        )

    async def wait_original_edit(self, count: int = 1, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The original response after at least ``count`` PATCHes of @original."""
        return await self._notifier.wait_for(
            lambda: self.original if len(self.original_edits) >= count else None,
            timeout,
            self._describe,
        )

    @property
    def ephemeral(self) -> bool:
        """Whether the first reply is ephemeral (flag 64)."""
        if self.replies:
            return bool(int(self.replies[0].get("flags", 0)) & EPHEMERAL)
        data = (self.callback or {}).get("data") or {}
        return bool(int(data.get("flags") or 0) & EPHEMERAL)


# ---------------------------------------------------------------------------------------------
# Creating interactions
# ---------------------------------------------------------------------------------------------


async def create_interaction(
    local: LocalDiscord,
    interaction_type: int,
    command: str,
    options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    *,
    focused: str | None,
    user_id: int | None,
    guild_id: int | None,
    channel_id: int | None,
    dm: bool,
    permissions: int | str | None,
    app_permissions: int | str | None,
    locale: str,
    timeout: float,  # noqa: ASYNC109
) -> InteractionHandle:
    """Dispatch an INTERACTION_CREATE of ``interaction_type`` (see ``LocalDiscord.interact``)."""
    await local.wait_until_connected(timeout)
    path = command.strip().lstrip("/").split()
    if not path:
        raise ValueError("empty command")
    root = path[0]

    world = local.world
    guild: FakeGuild | None = None
    member: FakeMember | None = None
    user: FakeUser
    channel: FakeChannel
    if dm:
        user = world.user(user_id if user_id is not None else ADMIN_USER_ID)
        channel = world.dm_channel(user.id)
        member_perms = 0
        bot_perms = DM_BOT_PERMISSIONS
    else:
        if guild_id is None:
            guild_id = next((g for g in world.guilds if g not in world.left_guilds), None)
        if guild_id is None or guild_id not in world.guilds or guild_id in world.left_guilds:
            raise LookupError(f"the bot is not in guild {guild_id}")
        guild = world.guilds[guild_id]
        if user_id is None:
            member = next(m for m in guild.members if m.id != world.bot_user.id)
        else:
            member = guild.member(user_id)
            if member is None:
                raise KeyError(f"user {user_id} is not a member of guild {guild.id}")
        user = member.user
        if channel_id is None:
            channel_id = next(
                c.id for c in guild.channels if c.type == 0 and c.id not in world.deleted_channels
            )
        found = guild.channel(channel_id)
        if found is None or channel_id in world.deleted_channels:
            raise KeyError(f"channel {channel_id} is not in guild {guild.id}")
        channel = found
        member_perms = channel_permissions(guild, member.id, channel)
        bot_perms = world.bot_permissions(guild, channel)
    if permissions is not None:
        member_perms = int(permissions)
    if app_permissions is not None:
        bot_perms = int(app_permissions)

    definition = None
    if guild is not None:
        definition = local.command(root, guild.id)
    if definition is None:
        definition = local.command(root, None)
    if definition is None or definition.get("type", 1) != 1:
        synced = {k: [c["name"] for c in v] for k, v in local.commands.items()}
        raise LookupError(f"/{root} was not synced (synced commands: {synced})")
    if local.enforce_command_gates:
        check_invocable(definition, member_perms, dm, guild)

    resolved: dict[str, dict[str, Any]] = {}
    leaf_defs: list[dict[str, Any]] = definition.get("options") or []
    chain: list[tuple[int, str]] = []
    for name in path[1:]:
        sub = next(
            (o for o in leaf_defs if o.get("name") == name and o.get("type") in (1, 2)), None
        )
        if sub is None:
            raise LookupError(f"/{command}: no subcommand or group {name!r} in {root}")
        chain.append((sub["type"], name))
        leaf_defs = sub.get("options") or []
    if any(o.get("type") in (1, 2) for o in leaf_defs):
        raise LookupError(f"/{command} is a group; name a subcommand")

    nested = _build_options(local, options, leaf_defs, focused, guild, resolved)
    for option_type, name in reversed(chain):
        nested = [{"type": option_type, "name": name, "options": nested}]

    data: dict[str, Any] = {"id": definition["id"], "name": root, "type": 1}
    if nested:
        data["options"] = nested
    if resolved:
        data["resolved"] = resolved
    if definition.get("guild_id"):
        data["guild_id"] = definition["guild_id"]

    if guild is None:
        where = dm_payload(channel, world.user(channel.recipient_id or 0))
    else:
        where = channel_payload(channel, guild)
    payload: dict[str, Any] = {
        "id": str(local.ids.next()),
        "application_id": str(local.application_id),
        "type": interaction_type,
        "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        "version": 1,
        "data": data,
        "channel_id": str(channel.id),
        "channel": {**where, "permissions": str(member_perms)},
        "app_permissions": str(bot_perms),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild is not None and member is not None:
        payload.update(
            {
                "guild_id": str(guild.id),
                "guild": {
                    "id": str(guild.id),
                    "locale": guild.preferred_locale,
                    "features": list(guild.features),
                },
                "guild_locale": guild.preferred_locale,
                "member": {**member_payload(member), "permissions": str(member_perms)},
                "authorizing_integration_owners": {"0": str(guild.id)},
                "context": 0,
            }
        )
    else:
        payload.update(
            {
                "user": user.to_payload(),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
        )

    handle = InteractionHandle(payload, local.notifier, local.requests)
    local.interactions.append(handle)
    local.interaction_tokens[handle.token] = handle
    reached = await local.dispatch(
        "INTERACTION_CREATE", payload, guild_id=guild.id if guild else None
    )
    if not reached:
        raise RuntimeError("no live gateway session to deliver the interaction to")
    return handle


def check_invocable(
    definition: Mapping[str, Any], member_perms: int, dm: bool, guild: FakeGuild | None
) -> None:
    """``PermissionError`` where Discord's client would not offer the command: a context it
    is not enabled in, or a member without its ``default_member_permissions``."""
    contexts = definition.get("contexts")
    if dm:
        if contexts is not None and 1 not in contexts:
            raise PermissionError(f"/{definition['name']} is not available in DMs")
        if contexts is None and definition.get("dm_permission") is False:
            raise PermissionError(f"/{definition['name']} is not available in DMs")
        return
    if contexts is not None and 0 not in contexts:
        raise PermissionError(f"/{definition['name']} is not available in guilds")
    required = definition.get("default_member_permissions")
    if required is not None and guild is not None:
        needed = int(required)
        if member_perms & Perm.ADMINISTRATOR:
            return
        if needed == 0 or member_perms & needed != needed:
            raise PermissionError(
                f"Discord hides /{definition['name']} from a member without "
                f"permissions {needed} (has {member_perms})"
            )


# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------


def _build_options(
    local: LocalDiscord,
    options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    definitions: Sequence[Mapping[str, Any]],
    focused: str | None,
    guild: FakeGuild | None,
    resolved: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Option objects for the leaf command; refuses what Discord's client would not send
    (unknown or missing required options, values outside ``choices``, channels of a type
    outside ``channel_types``) - except for autocomplete, where input is partial."""
    if options is not None and not isinstance(options, Mapping):
        return [dict(o) for o in options]
    given: Mapping[str, Any] = options or {}
    if focused is not None and focused not in given:
        raise KeyError(f"focused option {focused!r} is not among the options")
    if focused is None:
        known = {str(d.get("name")) for d in definitions}
        unknown = [name for name in given if name not in known]
        if unknown:
            raise LookupError(f"no options {unknown} (the command has {sorted(known)})")
        missing = [d["name"] for d in definitions if d.get("required") and d["name"] not in given]
        if missing:
            raise ValueError(f"Discord requires the options {missing}")
    built: list[dict[str, Any]] = []
    for name, value in given.items():
        definition = next((d for d in definitions if d.get("name") == name), None)
        option_type = int(definition["type"]) if definition else _guess_option_type(value)
        option: dict[str, Any] = {"name": name, "type": option_type}
        if name == focused:
            option["value"] = value
            option["focused"] = True
        else:
            option["value"] = _option_value(local, option_type, value, guild, resolved)
            if definition is not None and focused is None:
                _check_option_value(definition, option["value"], guild)
        built.append(option)
    return built


def _check_option_value(definition: Mapping[str, Any], value: Any, guild: FakeGuild | None) -> None:
    choices = definition.get("choices")
    if choices and value not in [c.get("value") for c in choices]:
        raise ValueError(f"{value!r} is not a choice of option {definition['name']!r}")
    channel_types = definition.get("channel_types")
    if channel_types and guild is not None:
        channel = guild.channel(int(value))
        if channel is not None and channel.type not in channel_types:
            raise ValueError(
                f"option {definition['name']!r} takes channel types {channel_types}, "
                f"not {channel.type}"
            )


def _option_value(
    local: LocalDiscord,
    option_type: int,
    value: Any,
    guild: FakeGuild | None,
    resolved: dict[str, dict[str, Any]],
) -> Any:
    if option_type == 3:
        return str(value)
    if option_type == 4:
        return int(value)
    if option_type == 5:
        return bool(value)
    if option_type == 10:
        return float(value)
    if option_type in (6, 7, 8, 9):
        snowflake = int(value)
        key = str(snowflake)
        channel = guild.channel(snowflake) if guild is not None else None
        role = guild.role(snowflake) if guild is not None else None
        if option_type == 7 or (option_type == 9 and channel is not None):
            if channel is None or guild is None:
                raise KeyError(f"channel {snowflake} not found")
            entry = channel_payload(channel, guild)
            entry["permissions"] = str(local.world.bot_permissions(guild, channel))
            resolved.setdefault("channels", {})[key] = entry
        elif option_type == 8 or (option_type == 9 and role is not None):
            if role is None:
                raise KeyError(f"role {snowflake} not found")
            resolved.setdefault("roles", {})[key] = role.to_payload()
        else:
            user = local.world.user(snowflake)
            resolved.setdefault("users", {})[key] = user.to_payload()
            member = guild.member(snowflake) if guild is not None else None
            if member is not None and guild is not None:
                entry = member_payload(member)
                del entry["user"]
                entry["permissions"] = str(base_permissions(guild, member.id))
                resolved.setdefault("members", {})[key] = entry
        return key
    raise NotImplementedError(f"option type {option_type} is not supported by the fake")


def _guess_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3
