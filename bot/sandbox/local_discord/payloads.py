"""Discord objects as Discord sends them, built from the world's dataclasses.

Users, channels, members and guilds over REST and in gateway events (GUILD_CREATE), and the
bot's own user and application. Pure functions: the world in, JSON-ready dicts out.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.local_discord.world import FakeChannel, FakeGuild, FakeMember, FakeUser, Intent


def me_payload(bot_user: FakeUser) -> dict[str, Any]:
    """GET /users/@me and READY's ``user``."""
    return {
        **bot_user.to_payload(),
        "verified": True,
        "mfa_enabled": False,
        "flags": 0,
        "locale": "en-US",
        "email": None,
        "banner": None,
        "accent_color": None,
    }


def application_payload(
    application_id: int, bot_user: FakeUser, owner: FakeUser, guild_count: int
) -> dict[str, Any]:
    return {
        "id": str(application_id),
        "name": bot_user.username,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": 0,
        "owner": owner.to_payload(),
        "team": None,
        "bot": bot_user.to_payload(),
        "rpc_origins": [],
        "redirect_uris": [],
        "tags": [],
        "interactions_endpoint_url": None,
        "approximate_guild_count": guild_count,
        "integration_types_config": {"0": {}},
    }


def dm_payload(channel: FakeChannel, recipient: FakeUser) -> dict[str, Any]:
    """A DM channel between the bot and ``recipient``."""
    return {
        "id": str(channel.id),
        "type": 1,
        "last_message_id": None,
        "flags": 0,
        "recipients": [recipient.to_payload()],
    }


def channel_payload(channel: FakeChannel, guild: FakeGuild) -> dict[str, Any]:
    """A guild channel or thread."""
    payload: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(guild.id),
        "name": channel.name,
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }
    if channel.is_thread:
        payload.update(
            {
                "owner_id": str(channel.owner_id or guild.owner_id),
                "message_count": 0,
                "member_count": 1,
                "total_message_sent": 0,
                "thread_metadata": {
                    "archived": channel.archived,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": "2021-03-05T12:00:00+00:00",
                    "locked": False,
                    "create_timestamp": "2021-03-05T12:00:00+00:00",
                },
            }
        )
    else:
        payload.update(
            {
                "position": channel.position,
                "permission_overwrites": [o.to_payload() for o in channel.overwrites],
                "nsfw": channel.nsfw,
                "topic": channel.topic,
            }
        )
        if channel.type == 2:
            payload.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
    return payload


def member_payload(member: FakeMember) -> dict[str, Any]:
    return {
        "user": member.user.to_payload(),
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in member.roles],
        "joined_at": member.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }


def guild_payload(guild: FakeGuild) -> dict[str, Any]:
    """The REST guild object (no channels / members)."""
    text = [c for c in guild.channels if c.type == 0]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": [r.to_payload() for r in guild.roles],
        "emojis": [],
        "stickers": [],
        "features": list(guild.features),
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": str(text[0].id) if text else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "max_members": 500000,
        "max_presences": None,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": guild.preferred_locale,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "incidents_data": None,
    }


def guild_create_payload(guild: FakeGuild, intents: int, bot_user_id: int) -> dict[str, Any]:
    """GUILD_CREATE data; members are only the bot unless GUILD_MEMBERS is requested."""
    members = (
        guild.members
        if intents & Intent.GUILD_MEMBERS
        else [m for m in guild.members if m.id == bot_user_id]
    )
    return {
        **guild_payload(guild),
        "joined_at": "2021-03-01T12:00:00+00:00",
        "large": False,
        "unavailable": False,
        "lazy": True,
        "member_count": len(guild.members),
        "voice_states": [],
        "members": [member_payload(m) for m in members],
        "channels": [channel_payload(c, guild) for c in guild.channels if not c.is_thread],
        "threads": [channel_payload(c, guild) for c in guild.channels if c.is_thread],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
    }
