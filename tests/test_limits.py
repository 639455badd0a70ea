"""bot.limits against Discord's OpenAPI description, wherever it states the same limit (it
allows 4000 characters of content, where Discord takes 2000: that one is checked by hand)."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from bot import limits
from tests.support.schema import SPEC_PATH, spec_available

pytestmark = pytest.mark.skipif(
    not spec_available(), reason=f"no OpenAPI description at {SPEC_PATH}"
)


@functools.cache
def schemas() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return spec["components"]["schemas"]


def stated(schema: str, prop: str, key: str) -> object:
    return schemas()[schema]["properties"][prop][key]


@pytest.mark.parametrize(
    ("ours", "schema", "prop", "key"),
    [
        (limits.EMBEDS_PER_MESSAGE, "MessageCreateRequest", "embeds", "maxItems"),
        (limits.EMBED_TITLE, "RichEmbed", "title", "maxLength"),
        (limits.EMBED_DESCRIPTION, "RichEmbed", "description", "maxLength"),
        (limits.EMBED_URL, "RichEmbed", "url", "maxLength"),
        (limits.EMBED_FIELDS, "RichEmbed", "fields", "maxItems"),
        (limits.FIELD_NAME, "RichEmbedField", "name", "maxLength"),
        (limits.FIELD_VALUE, "RichEmbedField", "value", "maxLength"),
        (limits.FOOTER_TEXT, "RichEmbedFooter", "text", "maxLength"),
        (limits.AUTHOR_NAME, "RichEmbedAuthor", "name", "maxLength"),
        (limits.BUTTONS_PER_ROW, "ActionRowComponentForMessageRequest", "components", "maxItems"),
        (limits.BUTTON_LABEL, "ButtonComponentForMessageRequest", "label", "maxLength"),
        (limits.BUTTON_URL, "ButtonComponentForMessageRequest", "url", "maxLength"),
        (limits.SELECT_OPTIONS, "StringSelectComponentForMessageRequest", "options", "maxItems"),
        (limits.CUSTOM_ID, "ButtonComponentForMessageRequest", "custom_id", "maxLength"),
        (limits.CUSTOM_ID, "StringSelectComponentForMessageRequest", "custom_id", "maxLength"),
        (
            limits.SELECT_PLACEHOLDER,
            "StringSelectComponentForMessageRequest",
            "placeholder",
            "maxLength",
        ),
        (limits.SELECT_OPTION_LABEL, "StringSelectOptionForRequest", "label", "maxLength"),
        (limits.SELECT_OPTION_VALUE, "StringSelectOptionForRequest", "value", "maxLength"),
        (
            limits.SELECT_OPTION_DESCRIPTION,
            "StringSelectOptionForRequest",
            "description",
            "maxLength",
        ),
        (limits.CHOICE_NAME, "ApplicationCommandOptionStringChoice", "name", "maxLength"),
        (limits.COMMAND_NAME, "ApplicationCommandCreateRequest", "name", "maxLength"),
        (limits.COMMAND_DESCRIPTION, "ApplicationCommandCreateRequest", "description", "maxLength"),
        (limits.COMMAND_OPTIONS, "ApplicationCommandCreateRequest", "options", "maxItems"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_limit_is_the_one_discord_states(ours: int, schema: str, prop: str, key: str) -> None:
    assert stated(schema, prop, key) == ours


def test_a_nonce_is_as_long_as_discord_takes() -> None:
    forms = schemas()["MessageCreateRequest"]["properties"]["nonce"]["oneOf"]
    assert [f["maxLength"] for f in forms if f.get("type") == "string"] == [limits.NONCE]
