"""REST routes of the local Discord other than messages and interactions.

The bot's user and application, DMs, leaving a guild, the gateway address, application
commands (global and per guild, as a bulk overwrite or one by one), guilds, their channels,
roles and members.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.sandbox.local_discord.http import JSON, ApiError, Call, RouteTable
from bot.sandbox.local_discord.payloads import (
    application_payload,
    channel_payload,
    dm_payload,
    guild_payload,
    me_payload,
    member_payload,
)
from bot.sandbox.local_discord.world import ADMIN_USER_ID, FakeUser

if TYPE_CHECKING:
    from bot.sandbox.local_discord.server import LocalDiscord

ROUTES = RouteTable()
route = ROUTES.route

# ---------------------------------------------------------------------------------------------
# Users, DMs, the gateway, the application
# ---------------------------------------------------------------------------------------------


@route("GET", "/users/@me")
async def get_me(local: LocalDiscord, call: Call) -> JSON:
    return me_payload(local.bot_user)


@route("GET", "/users/{user_id}")
async def get_user(local: LocalDiscord, call: Call) -> JSON:
    user = local.users.get(call.int_param("user_id"))
    if user is None:
        raise ApiError(404, 10013, "Unknown User")
    return user.to_payload()


@route("POST", "/users/@me/channels")
async def open_dm(local: LocalDiscord, call: Call) -> JSON:
    recipient = int((call.body or {}).get("recipient_id", 0))
    return dm_payload(local.world.dm_channel(recipient), local.world.user(recipient))


@route("DELETE", "/users/@me/guilds/{guild_id}")
async def leave_guild(local: LocalDiscord, call: Call) -> JSON:
    guild = local.world.guild(call.int_param("guild_id"))
    await local.remove_guild(guild.id)
    return None


@route("GET", "/gateway")
async def get_gateway(local: LocalDiscord, call: Call) -> JSON:
    return {"url": local.gateway_url}


@route("GET", "/gateway/bot")
async def get_gateway_bot(local: LocalDiscord, call: Call) -> JSON:
    return {
        "url": local.gateway_url,
        "shards": 1,
        "session_start_limit": {
            "total": 1000,
            "remaining": 999,
            "reset_after": 14_400_000,
            "max_concurrency": 1,
        },
    }


@route("GET", "/applications/@me")
@route("GET", "/oauth2/applications/@me")
async def get_application(local: LocalDiscord, call: Call) -> JSON:
    owner = local.users.get(ADMIN_USER_ID) or FakeUser(ADMIN_USER_ID, "owner")
    guilds = len(local.guilds) - len(local.left_guilds)
    return application_payload(local.application_id, local.bot_user, owner, guilds)


# ---------------------------------------------------------------------------------------------
# Application commands
# ---------------------------------------------------------------------------------------------


def _check_application(local: LocalDiscord, call: Call) -> None:
    if call.params.get("application_id") != str(local.application_id):
        raise ApiError(403, 50001, "Missing Access")


def _command_record(
    local: LocalDiscord,
    guild_id: int | None,
    body: Mapping[str, Any],
    previous: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """A command as Discord stores it; one of the same name and type keeps its id."""
    command_type = body.get("type", 1) or 1
    old = next(
        (c for c in previous if c["name"] == body.get("name") and c["type"] == command_type),
        None,
    )
    permissions = body.get("default_member_permissions")
    record: dict[str, Any] = {
        "id": old["id"] if old else str(local.ids.next()),
        "application_id": str(local.application_id),
        "version": str(local.ids.next()),
        "type": command_type,
        "name": body.get("name"),
        "name_localizations": body.get("name_localizations"),
        "description": body.get("description") or "",
        "description_localizations": body.get("description_localizations"),
        "options": copy.deepcopy(body.get("options") or []),
        "default_member_permissions": None if permissions is None else str(permissions),
        "dm_permission": body.get("dm_permission", True) if guild_id is None else None,
        "contexts": body.get("contexts"),
        "integration_types": body.get("integration_types") or [0],
        "nsfw": bool(body.get("nsfw", False)),
    }
    if guild_id is not None:
        record["guild_id"] = str(guild_id)
    return record


def _overwrite_commands(local: LocalDiscord, guild_id: int | None, body: Any) -> JSON:
    if not isinstance(body, list):
        raise ApiError(400, 50035, "Invalid Form Body")
    previous = local.commands.get(guild_id, [])
    local.commands[guild_id] = [_command_record(local, guild_id, c, previous) for c in body]
    local.notifier.notify()
    return copy.deepcopy(local.commands[guild_id])


def _upsert_command(local: LocalDiscord, guild_id: int | None, body: Any) -> JSON:
    if not isinstance(body, dict):
        raise ApiError(400, 50035, "Invalid Form Body")
    previous = local.commands.get(guild_id, [])
    record = _command_record(local, guild_id, body, previous)
    local.commands[guild_id] = [c for c in previous if c["id"] != record["id"]] + [record]
    local.notifier.notify()
    return 201, copy.deepcopy(record)


def _find_command(local: LocalDiscord, call: Call) -> dict[str, Any]:
    _check_application(local, call)
    key = call.int_param("guild_id") if "guild_id" in call.params else None
    command_id = call.params["command_id"]
    found = next((c for c in local.commands.get(key, []) if c["id"] == command_id), None)
    if found is None:
        raise ApiError(404, 10063, "Unknown application command")
    return found


@route("GET", "/applications/{application_id}/commands")
async def list_global_commands(local: LocalDiscord, call: Call) -> JSON:
    _check_application(local, call)
    return copy.deepcopy(local.commands.get(None, []))


@route("PUT", "/applications/{application_id}/commands")
async def overwrite_global_commands(local: LocalDiscord, call: Call) -> JSON:
    _check_application(local, call)
    return _overwrite_commands(local, None, call.body)


@route("POST", "/applications/{application_id}/commands")
async def create_global_command(local: LocalDiscord, call: Call) -> JSON:
    _check_application(local, call)
    return _upsert_command(local, None, call.body)


@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def list_guild_commands(local: LocalDiscord, call: Call) -> JSON:
    _check_application(local, call)
    guild = local.world.guild(call.int_param("guild_id"))
    return copy.deepcopy(local.commands.get(guild.id, []))


@route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def overwrite_guild_commands(local: LocalDiscord, call: Call) -> JSON:
    _check_application(local, call)
    guild = local.world.guild(call.int_param("guild_id"))
    return _overwrite_commands(local, guild.id, call.body)


@route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
async def create_guild_command(local: LocalDiscord, call: Call) -> JSON:
    _check_application(local, call)
    guild = local.world.guild(call.int_param("guild_id"))
    return _upsert_command(local, guild.id, call.body)


@route("GET", "/applications/{application_id}/commands/{command_id}")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def get_command(local: LocalDiscord, call: Call) -> JSON:
    return copy.deepcopy(_find_command(local, call))


@route("DELETE", "/applications/{application_id}/commands/{command_id}")
@route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def delete_command(local: LocalDiscord, call: Call) -> JSON:
    found = _find_command(local, call)
    key = int(found["guild_id"]) if found.get("guild_id") else None
    local.commands[key] = [c for c in local.commands[key] if c["id"] != found["id"]]
    return None


# ---------------------------------------------------------------------------------------------
# Guilds
# ---------------------------------------------------------------------------------------------


@route("GET", "/guilds/{guild_id}")
async def get_guild(local: LocalDiscord, call: Call) -> JSON:
    guild = local.world.guild(call.int_param("guild_id"))
    return {**guild_payload(guild), "approximate_member_count": len(guild.members)}


@route("GET", "/guilds/{guild_id}/channels")
async def get_guild_channels(local: LocalDiscord, call: Call) -> JSON:
    guild = local.world.guild(call.int_param("guild_id"))
    return [
        channel_payload(c, guild)
        for c in guild.channels
        if not c.is_thread and c.id not in local.world.deleted_channels
    ]


@route("GET", "/guilds/{guild_id}/roles")
async def get_roles(local: LocalDiscord, call: Call) -> JSON:
    guild = local.world.guild(call.int_param("guild_id"))
    return [r.to_payload() for r in guild.roles]


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(local: LocalDiscord, call: Call) -> JSON:
    guild = local.world.guild(call.int_param("guild_id"))
    member = guild.member(call.int_param("user_id"))
    if member is None:
        raise ApiError(404, 10007, "Unknown Member")
    return member_payload(member)


@route("GET", "/guilds/{guild_id}/members")
async def list_members(local: LocalDiscord, call: Call) -> JSON:
    guild = local.world.guild(call.int_param("guild_id"))
    limit = int(call.record.query.get("limit", "1"))
    after = int(call.record.query.get("after", "0"))
    members = sorted((m for m in guild.members if m.id > after), key=lambda m: m.id)
    return [member_payload(m) for m in members[:limit]]
