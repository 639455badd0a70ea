"""How a bot answers interactions: the callback, the original response and follow-ups.

The callback must come within ``interaction_ack_timeout`` and once, with a type allowed for
the interaction; the webhook routes (``/webhooks/{application_id}/{token}/...``) then read,
edit and delete the original response and send, edit and delete follow-ups. Everything lands
on the ``InteractionHandle``. A component interaction may also be answered by updating its
message (``components``).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.sandbox.local_discord.components import update_message
from bot.sandbox.local_discord.http import JSON, ApiError, Call, RouteTable
from bot.sandbox.local_discord.interactions import EPHEMERAL, InteractionHandle
from bot.sandbox.local_discord.messages import LOADING, apply_edit, build_message

if TYPE_CHECKING:
    from bot.sandbox.local_discord.server import LocalDiscord

ROUTES = RouteTable()
route = ROUTES.route

REPLY_TYPE = 20  # a message of type CHAT_INPUT_COMMAND
# Callback types Discord allows per interaction type (1 ping, 2 command, 3 component,
# 4 autocomplete, 5 modal submit).
ALLOWED_CALLBACKS = {2: {4, 5, 9}, 4: {8}, 3: {4, 5, 6, 7, 9}, 5: {4, 5, 6, 7}, 1: {1}}


def _truthy(value: str | None) -> bool:
    return value in ("1", "true", "True")


@route("POST", "/interactions/{interaction_id}/{token}/callback")
async def callback(local: LocalDiscord, call: Call) -> JSON:
    handle = local.interaction_tokens.get(call.params["token"])
    if handle is None or call.params["interaction_id"] != str(handle.id):
        raise ApiError(404, 10062, "Unknown interaction")
    if (
        local.interaction_ack_timeout is not None
        and time.monotonic() - handle.created_at > local.interaction_ack_timeout
    ):
        raise ApiError(404, 10062, "Unknown interaction")
    if handle.callback is not None:
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    body = call.body if isinstance(call.body, dict) else {}
    kind = body.get("type")
    if kind not in ALLOWED_CALLBACKS.get(handle.type, set()):
        raise ApiError(400, 40043, f"Interaction callback type {kind} is not allowed here")
    handle.callback = copy.deepcopy(body)
    data = body.get("data") or {}
    resource: dict[str, Any] = {"type": kind}
    if kind == 4:
        message = build_message(
            local,
            channel_id=handle.channel_id or 0,
            guild_id=handle.guild_id,
            body=data,
            files=call.record.files,
            message_type=REPLY_TYPE,
            interaction=handle,
        )
        local.messages[int(message["id"])] = message
        handle.original = message
        handle.replies.append(message)
        resource["message"] = copy.deepcopy(message)
    elif kind == 5:
        message = build_message(
            local,
            channel_id=handle.channel_id or 0,
            guild_id=handle.guild_id,
            body={"flags": int(data.get("flags") or 0)},
            message_type=REPLY_TYPE,
            extra_flags=LOADING,
            interaction=handle,
        )
        local.messages[int(message["id"])] = message
        handle.original = message
        resource["message"] = copy.deepcopy(message)
    elif kind in (6, 7) and handle.type == 3:
        try:
            message = update_message(local, handle, kind, data)
        except ApiError:
            handle.callback = None
            raise
        if kind == 7:
            resource["message"] = copy.deepcopy(message)
    local.notifier.notify()

    if not _truthy(call.record.query.get("with_response")):
        return None
    original = handle.original
    interaction_info: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
    if original is not None:
        interaction_info.update(
            {
                "response_message_id": original["id"],
                "response_message_loading": bool(int(original["flags"]) & LOADING),
                "response_message_ephemeral": bool(int(original["flags"]) & EPHEMERAL),
            }
        )
    return {"interaction": interaction_info, "resource": resource}


def _webhook_interaction(local: LocalDiscord, call: Call) -> InteractionHandle:
    if call.params["application_id"] != str(local.application_id):
        raise ApiError(404, 10015, "Unknown Webhook")
    handle = local.interaction_tokens.get(call.params["token"])
    if handle is None:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    return handle


def _original(local: LocalDiscord, call: Call) -> tuple[InteractionHandle, dict[str, Any]]:
    handle = _webhook_interaction(local, call)
    if handle.original is None or handle.original_deleted:
        raise ApiError(404, 10008, "Unknown Message")
    return handle, handle.original


def _interaction_message(
    local: LocalDiscord, handle: InteractionHandle, call: Call
) -> dict[str, Any]:
    message_id = call.params["message_id"]
    candidates = [*handle.followups]
    if handle.original is not None and not handle.original_deleted:
        candidates.append(handle.original)
    for message in candidates:
        if message["id"] == message_id and int(message_id) in local.messages:
            return message
    raise ApiError(404, 10008, "Unknown Message")


def _edit_interaction_message(
    local: LocalDiscord,
    handle: InteractionHandle,
    message: dict[str, Any],
    body: Mapping[str, Any],
) -> JSON:
    was_loading = bool(int(message["flags"]) & LOADING)
    apply_edit(message, body)
    if message is handle.original:
        handle.original_edits.append(dict(body))
        if was_loading:
            message["edited_timestamp"] = None
            if message not in handle.replies:
                handle.replies.append(message)
        elif handle.callback_type == 6 and message not in handle.replies:
            handle.replies.append(message)  # a component's deferred update, now made
    local.notifier.notify()
    return copy.deepcopy(message)


def _delete_interaction_message(
    local: LocalDiscord, handle: InteractionHandle, message: dict[str, Any]
) -> None:
    if message is handle.original:
        handle.original_deleted = True
    local.deleted_messages.append(local.messages.pop(int(message["id"])))
    local.notifier.notify()


@route("GET", "/webhooks/{application_id}/{token}/messages/@original")
async def get_original(local: LocalDiscord, call: Call) -> JSON:
    _, original = _original(local, call)
    return copy.deepcopy(original)


@route("PATCH", "/webhooks/{application_id}/{token}/messages/@original")
async def edit_original(local: LocalDiscord, call: Call) -> JSON:
    handle, original = _original(local, call)
    return _edit_interaction_message(local, handle, original, call.body or {})


@route("DELETE", "/webhooks/{application_id}/{token}/messages/@original")
async def delete_original(local: LocalDiscord, call: Call) -> JSON:
    handle, original = _original(local, call)
    _delete_interaction_message(local, handle, original)
    return None


@route("POST", "/webhooks/{application_id}/{token}")
async def followup(local: LocalDiscord, call: Call) -> JSON:
    handle = _webhook_interaction(local, call)
    if handle.callback is None:
        raise ApiError(404, 10015, "Unknown Webhook")
    message = build_message(
        local,
        channel_id=handle.channel_id or 0,
        guild_id=handle.guild_id,
        body=call.body or {},
        files=call.record.files,
        message_type=REPLY_TYPE,
        interaction=handle,
    )
    local.messages[int(message["id"])] = message
    handle.followups.append(message)
    handle.replies.append(message)
    local.notifier.notify()
    if _truthy(call.record.query.get("wait")):
        return copy.deepcopy(message)
    return None


@route("GET", "/webhooks/{application_id}/{token}/messages/{message_id}")
async def get_webhook_message(local: LocalDiscord, call: Call) -> JSON:
    handle = _webhook_interaction(local, call)
    return copy.deepcopy(_interaction_message(local, handle, call))


@route("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}")
async def edit_webhook_message(local: LocalDiscord, call: Call) -> JSON:
    handle = _webhook_interaction(local, call)
    message = _interaction_message(local, handle, call)
    return _edit_interaction_message(local, handle, message, call.body or {})


@route("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}")
async def delete_webhook_message(local: LocalDiscord, call: Call) -> JSON:
    handle = _webhook_interaction(local, call)
    _delete_interaction_message(local, handle, _interaction_message(local, handle, call))
    return None
