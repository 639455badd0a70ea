"""Channels and their messages: the channel routes, and messages as Discord builds them.

A message create is checked as Discord checks it (text channel, permissions, archived thread,
not empty), deduplicated by its nonce when it asks for ``enforce_nonce``, stored, handed to
the ``message_listeners`` and sent as MESSAGE_CREATE to sessions that asked for it. Edits
change only what Discord lets an edit change. ``build_message`` and ``apply_edit`` also serve
the interaction replies (``webhooks``).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.sandbox.local_discord.direct import refuse_closed_dm
from bot.sandbox.local_discord.http import JSON, ApiError, Call, RouteTable
from bot.sandbox.local_discord.payloads import channel_payload, dm_payload, member_payload
from bot.sandbox.local_discord.world import TEXT_LIKE_TYPES, FakeGuild, Intent, Perm

if TYPE_CHECKING:
    from bot.sandbox.local_discord.interactions import InteractionHandle
    from bot.sandbox.local_discord.server import LocalDiscord

log = logging.getLogger(__name__)

ROUTES = RouteTable()
route = ROUTES.route

SUPPRESS_EMBEDS = 4
LOADING = 128  # a deferred interaction response still "thinking"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def build_message(
    local: LocalDiscord,
    *,
    channel_id: int,
    guild_id: int | None,
    body: Mapping[str, Any],
    files: Sequence[Mapping[str, Any]] = (),
    message_type: int = 0,
    extra_flags: int = 0,
    interaction: InteractionHandle | None = None,
) -> dict[str, Any]:
    """A message object by the bot, as Discord stores it from a create ``body``."""
    message_id = local.ids.next()
    attachments = [
        {
            "id": str(local.ids.next()),
            "filename": f.get("filename") or "file",
            "size": f.get("size", 0),
            "url": f"{local.base_url}/attachments/{channel_id}/{f.get('filename')}",
            "proxy_url": f"{local.base_url}/attachments/{channel_id}/{f.get('filename')}",
            "content_type": f.get("content_type"),
        }
        for f in files
    ]
    message: dict[str, Any] = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": local.bot_user.to_payload(),
        "content": body.get("content") or "",
        "timestamp": now_iso(),
        "edited_timestamp": None,
        "tts": bool(body.get("tts")),
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": [_normalize_embed(e) for e in body.get("embeds") or []],
        "pinned": False,
        "type": message_type,
        "flags": int(body.get("flags") or 0) | extra_flags,
        "components": list(body.get("components") or []),
    }
    if guild_id is not None:
        message["guild_id"] = str(guild_id)
    if body.get("nonce") is not None:
        message["nonce"] = body["nonce"]
    if body.get("poll") is not None:
        message["poll"] = body["poll"]
    if interaction is not None:
        message["webhook_id"] = str(local.application_id)
        message["application_id"] = str(local.application_id)
        message["interaction_metadata"] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": interaction.user,
            "authorizing_integration_owners": interaction.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
    return message


def apply_edit(message: dict[str, Any], body: Mapping[str, Any]) -> None:
    """Change ``message`` as a PATCH with ``body`` does."""
    for key in ("content", "components", "poll"):
        if key in body:
            message[key] = body[key] if body[key] is not None else _empty(key)
    if "embeds" in body:
        message["embeds"] = [_normalize_embed(e) for e in body["embeds"] or []]
    if "attachments" in body and body["attachments"] is not None:
        keep = {str(a.get("id")) for a in body["attachments"]}
        message["attachments"] = [a for a in message["attachments"] if a["id"] in keep]
    if "flags" in body and body["flags"] is not None:
        # only SUPPRESS_EMBEDS can be changed by an edit; ephemeral etc. stay
        flags = int(message["flags"]) & ~SUPPRESS_EMBEDS
        message["flags"] = flags | (int(body["flags"]) & SUPPRESS_EMBEDS)
    message["flags"] = int(message["flags"]) & ~LOADING  # no longer "thinking"
    message["edited_timestamp"] = now_iso()


def _empty(key: str) -> Any:
    return "" if key == "content" else ([] if key == "components" else None)


def _normalize_embed(embed: Any) -> dict[str, Any]:
    if not isinstance(embed, dict):
        return {"type": "rich"}
    out = {k: v for k, v in embed.items() if v is not None}
    out.setdefault("type", "rich")
    return out


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------


@route("GET", "/channels/{channel_id}")
async def get_channel(local: LocalDiscord, call: Call) -> JSON:
    channel, guild = local.world.channel(call.int_param("channel_id"))
    if guild is None:
        return dm_payload(channel, local.world.user(channel.recipient_id or 0))
    return channel_payload(channel, guild)


@route("POST", "/channels/{channel_id}/typing")
async def typing(local: LocalDiscord, call: Call) -> JSON:
    local.world.channel(call.int_param("channel_id"))
    return None


@route("POST", "/channels/{channel_id}/messages")
async def create_message(local: LocalDiscord, call: Call) -> JSON:
    channel, guild = local.world.channel(call.int_param("channel_id"))
    body = call.body if isinstance(call.body, dict) else {}
    if guild is None:
        refuse_closed_dm(local.world, channel)
    if channel.type not in TEXT_LIKE_TYPES:
        raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
    if guild is not None and local.world.enforce_permissions:
        perms = local.world.bot_permissions(guild, channel)
        needed = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
        if not perms & needed:
            raise ApiError(403, 50013, "Missing Permissions")
        if channel.is_thread and channel.archived:
            raise ApiError(400, 50083, "Thread is archived")
    if not any(
        body.get(k) for k in ("content", "embeds", "components", "sticker_ids", "poll")
    ) and not (call.record.files):
        raise ApiError(400, 50006, "Cannot send an empty message")

    nonce = body.get("nonce")
    enforced = nonce is not None and body.get("enforce_nonce")
    now = time.monotonic()
    if enforced:
        seen = local.nonces.get((channel.id, str(nonce)))
        if seen is not None and now - seen[1] <= local.nonce_ttl and seen[0] in local.messages:
            local.nonce_hits += 1
            return copy.deepcopy(local.messages[seen[0]])
    message = build_message(
        local,
        channel_id=channel.id,
        guild_id=guild.id if guild else None,
        body=body,
        files=call.record.files,
    )
    local.messages[int(message["id"])] = message
    if enforced:
        local.nonces[(channel.id, str(nonce))] = (int(message["id"]), now)
    local.notifier.notify()
    for listener in list(local.message_listeners):
        try:
            listener(copy.deepcopy(message))
        except Exception:
            log.exception("message listener %r failed", listener)
    await _dispatch_message_create(local, message, guild)
    return copy.deepcopy(message)


async def _dispatch_message_create(
    local: LocalDiscord, message: dict[str, Any], guild: FakeGuild | None
) -> None:
    wanted = Intent.GUILD_MESSAGES if guild is not None else Intent.DIRECT_MESSAGES
    if not any(s.intents & wanted for s in local.gateway.live_sessions()):
        return
    data = copy.deepcopy(message)
    if guild is not None:
        member = guild.member(local.bot_user.id)
        if member is not None:
            data["member"] = {k: v for k, v in member_payload(member).items() if k != "user"}
    await local.dispatch(
        "MESSAGE_CREATE", data, guild_id=guild.id if guild else None, intent=wanted
    )


@route("GET", "/channels/{channel_id}/messages")
async def list_messages(local: LocalDiscord, call: Call) -> JSON:
    channel, _ = local.world.channel(call.int_param("channel_id"))
    limit = int(call.record.query.get("limit", "50"))
    found = local.channel_messages(channel.id, include_interaction_replies=True)
    return copy.deepcopy(list(reversed(found))[:limit])


def _channel_message(local: LocalDiscord, call: Call) -> dict[str, Any]:
    channel, _ = local.world.channel(call.int_param("channel_id"))
    message = local.messages.get(call.int_param("message_id"))
    if message is None or message["channel_id"] != str(channel.id):
        raise ApiError(404, 10008, "Unknown Message")
    return message


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message(local: LocalDiscord, call: Call) -> JSON:
    return copy.deepcopy(_channel_message(local, call))


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(local: LocalDiscord, call: Call) -> JSON:
    message = _channel_message(local, call)
    if message["author"]["id"] != str(local.bot_user.id):
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    apply_edit(message, call.body or {})
    local.notifier.notify()
    return copy.deepcopy(message)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(local: LocalDiscord, call: Call) -> JSON:
    message = _channel_message(local, call)
    if message["author"]["id"] != str(local.bot_user.id):
        channel, guild = local.world.channel(call.int_param("channel_id"))
        perms = local.world.bot_permissions(guild, channel) if guild else 0
        if not perms & Perm.MANAGE_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
    local.deleted_messages.append(local.messages.pop(int(message["id"])))
    return None
