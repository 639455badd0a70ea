"""Check the request bodies a bot sends against Discord's rules.

Two layers:

* Discord's own OpenAPI 3.1 description (``shared/discord-api-spec/openapi.json`` next to the
  repository checkout). When the file is absent this layer is skipped (``SPEC_AVAILABLE`` is
  ``False``); tests that only check the schema should ``pytest.skip`` in that case.
* Limits the spec does not express (or expresses wrongly) and our own policy, checked by hand
  with the numbers of ``bot.limits`` (whose test holds them against the spec where it states
  them). These always run, with or without the spec:

  - message ``content`` at most 2000 characters (the spec allows 4000 on message create),
  - at most 5 action rows of at most 5 components, custom ids of 1-100 characters and each
    once in a message, button labels <= 80, select menus of 1-25 options (labels and values
    1-100, descriptions <= 100) and placeholders <= 150,
  - at most 10 embeds, embed title <= 256, description <= 4096, <= 25 fields, field name <= 256,
    field value <= 1024, footer text <= 2048, author name <= 256, and at most 6000 characters in
    total across all embeds of one message,
  - chat-input command, subcommand and option names match ``^[-_\\p{L}\\p{N}]{1,32}$`` and are
    lower case; descriptions 1-100 characters; at most 25 options / choices,
  - autocomplete results: at most 25 choices, each name 1-100 characters (string values <= 100),
  - policy: every message-sending body carries ``allowed_mentions`` with ``parse: []`` and no
    explicit users / roles / replied_user, so the bot can never ping anyone.

Public API: ``SPEC_PATH``, ``SPEC_AVAILABLE``, ``spec_available()``, ``check_request()`` (problems
split by layer) and ``validate_request()`` (all problems as one list; empty when fine).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot import limits

SPEC_PATH: Path = (
    Path(__file__).resolve().parents[3] / "shared" / "discord-api-spec" / "openapi.json"
)
SPEC_AVAILABLE: bool = SPEC_PATH.is_file()

_SPEC_URI = "urn:discord-api-spec"

# Operations whose JSON request body is checked against the spec.
_VALIDATED_OPERATIONS: frozenset[str] = frozenset(
    {
        "create_message",
        "create_dm",
        "update_message",
        "create_interaction_response",
        "execute_webhook",
        "update_original_webhook_message",
        "update_webhook_message",
        "bulk_set_application_commands",
        "bulk_set_guild_application_commands",
        "create_application_command",
        "create_guild_application_command",
        "update_application_command",
        "update_guild_application_command",
    }
)


def spec_available() -> bool:
    """Whether Discord's OpenAPI description is present (schema checks run only then)."""
    return SPEC_AVAILABLE


@dataclass
class RequestCheck:
    """Problems found in one request body, by layer."""

    operation: str | None = None
    schema: list[str] = field(default_factory=list)  # OpenAPI schema violations
    limits: list[str] = field(default_factory=list)  # hand-checked Discord limits
    policy: list[str] = field(default_factory=list)  # our own rules (no pings)

    @property
    def rejected_by_discord(self) -> list[str]:
        """Problems for which the real Discord would answer 400."""
        return self.schema + self.limits

    @property
    def problems(self) -> list[str]:
        return self.schema + self.limits + self.policy


# --------------------------------------------------------------------------------------------
# Routing: API path -> operation id (works without the spec file)
# --------------------------------------------------------------------------------------------

_SEG = r"[^/]+"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), op)
    for method, pattern, op in [
        ("POST", rf"/channels/{_SEG}/messages", "create_message"),
        ("POST", "/users/@me/channels", "create_dm"),
        ("PATCH", rf"/channels/{_SEG}/messages/{_SEG}", "update_message"),
        ("POST", rf"/interactions/{_SEG}/{_SEG}/callback", "create_interaction_response"),
        ("POST", rf"/webhooks/{_SEG}/{_SEG}", "execute_webhook"),
        (
            "PATCH",
            rf"/webhooks/{_SEG}/{_SEG}/messages/@original",
            "update_original_webhook_message",
        ),
        ("PATCH", rf"/webhooks/{_SEG}/{_SEG}/messages/{_SEG}", "update_webhook_message"),
        ("PUT", rf"/applications/{_SEG}/commands", "bulk_set_application_commands"),
        (
            "PUT",
            rf"/applications/{_SEG}/guilds/{_SEG}/commands",
            "bulk_set_guild_application_commands",
        ),
        ("POST", rf"/applications/{_SEG}/commands", "create_application_command"),
        (
            "POST",
            rf"/applications/{_SEG}/guilds/{_SEG}/commands",
            "create_guild_application_command",
        ),
        ("PATCH", rf"/applications/{_SEG}/commands/{_SEG}", "update_application_command"),
        (
            "PATCH",
            rf"/applications/{_SEG}/guilds/{_SEG}/commands/{_SEG}",
            "update_guild_application_command",
        ),
    ]
]
_API_PREFIX = re.compile(r"^(?:https?://[^/]+)?/api/v\d+")


def operation_for(method: str, path: str) -> str | None:
    """The Discord operation id for ``method path`` (path with or without ``/api/vN``)."""
    path = _API_PREFIX.sub("", path.split("?", 1)[0])
    method = method.upper()
    for route_method, pattern, op in _ROUTES:
        if route_method == method and pattern.fullmatch(path):
            return op
    return None


# --------------------------------------------------------------------------------------------
# OpenAPI layer
# --------------------------------------------------------------------------------------------


@functools.cache
def _load_spec() -> dict[str, Any]:
    with SPEC_PATH.open("rb") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


@functools.cache
def _registry() -> Any:
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resource(_SPEC_URI, DRAFT202012.create_resource(_load_spec()))


@functools.cache
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped]

    original_type = Draft202012Validator.VALIDATORS["type"]

    def snowflake_tolerant_type(
        validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[Any]:
        # Spec gap: snowflakes are typed as strings, but Discord accepts (and discord.py sends)
        # integers, e.g. allowed_mentions.users and message_reference.message_id.
        if (
            schema.get("format") == "snowflake"
            and isinstance(instance, int)
            and not isinstance(instance, bool)
            and instance >= 0
        ):
            return
        yield from original_type(validator, types, instance, schema)

    return validators.extend(Draft202012Validator, {"type": snowflake_tolerant_type})


def _pointer(*parts: str) -> str:
    escaped = [p.replace("~", "~0").replace("/", "~1") for p in parts]
    return quote("/" + "/".join(escaped), safe="/~@")


@functools.cache
def _operation_locations() -> dict[str, tuple[str, str]]:
    """operationId -> (path template, method) for the validated operations."""
    found: dict[str, tuple[str, str]] = {}
    for template, item in _load_spec()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") in _VALIDATED_OPERATIONS:
                found[op["operationId"]] = (template, method)
    return found


@functools.cache
def _body_schema(operation: str) -> dict[str, Any] | None:
    location = _operation_locations().get(operation)
    if location is None:
        return None
    template, method = location
    op = _load_spec()["paths"][template][method]
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


def _resolve_local(ref: str) -> dict[str, Any]:
    node: Any = _load_spec()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    resolved: dict[str, Any] = node
    return resolved


@functools.cache
def _compiled(operation: str, discriminator: int | None) -> Any:
    """A compiled validator for the body of ``operation``.

    For bodies that are a union (interaction callback), ``discriminator`` is the body's
    ``type`` and selects the one branch whose ``type`` enum contains it, so that errors name
    the real problem instead of "not valid under any of the given schemas".
    """
    location = _operation_locations()[operation]
    template, method = location
    base = _pointer("paths", template, method, "requestBody", "content", "application/json")
    ref = f"{_SPEC_URI}#{base}/schema"
    body_schema = _body_schema(operation) or {}
    union = body_schema.get("anyOf") or body_schema.get("oneOf")
    if discriminator is not None and union:
        key = "anyOf" if "anyOf" in body_schema else "oneOf"
        for index, branch in enumerate(union):
            target = _resolve_local(branch["$ref"]) if "$ref" in branch else branch
            enum = target.get("properties", {}).get("type", {}).get("enum")
            if enum is not None and discriminator in enum:
                ref = f"{_SPEC_URI}#{base}/schema/{key}/{index}"
                break
    return _validator_class()({"$ref": ref}, registry=_registry())


def _schema_problems(operation: str, body: Any) -> list[str]:
    if not SPEC_AVAILABLE or _body_schema(operation) is None:
        return []
    discriminator = None
    if isinstance(body, dict) and isinstance(body.get("type"), int):
        discriminator = body["type"]
    validator = _compiled(operation, discriminator)
    problems: list[str] = []
    for error in validator.iter_errors(body):
        if error.context:
            where = "/".join(str(p) for p in error.absolute_path) or "<body>"
            message = f"{where}: matches no allowed variant; closest: {_describe(_deepest(error))}"
        else:
            message = _describe(error)
        problems.append(f"{operation}: schema: {message}")
    return problems


def _deepest(error: Any) -> Any:
    """The most specific leaf error below a failed anyOf/oneOf (skipping ``null`` branches)."""
    leaves: list[Any] = []
    stack = [error]
    while stack:
        current = stack.pop()
        if current.context:
            stack.extend(reversed(current.context))
        else:
            leaves.append(current)
    informative = [
        leaf for leaf in leaves if not (leaf.validator == "type" and leaf.validator_value == "null")
    ] or leaves
    return max(informative, key=lambda leaf: len(leaf.absolute_path))


def _describe(error: Any) -> str:
    """``where: what`` for a jsonschema error, without dumping huge instances."""
    where = "/".join(str(p) for p in error.absolute_path) or "<body>"
    instance = error.instance
    if error.validator in ("maxLength", "minLength") and isinstance(instance, str):
        what = f"{len(instance)} characters violates {error.validator} {error.validator_value}"
    elif error.validator in ("maxItems", "minItems") and isinstance(instance, list):
        what = f"{len(instance)} items violates {error.validator} {error.validator_value}"
    else:
        what = error.message
        if len(what) > 300:
            what = f"{error.validator} {error.validator_value!r} failed: {what[:200]}..."
    return f"{where}: {what}"


# --------------------------------------------------------------------------------------------
# Hand-checked limits and policy
# --------------------------------------------------------------------------------------------


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def _embed_problems(embeds: Any, where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(embeds, list):
        return problems
    if len(embeds) > limits.EMBEDS_PER_MESSAGE:
        problems.append(f"{where}: {len(embeds)} embeds (max {limits.EMBEDS_PER_MESSAGE})")
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        at = f"{where}[{i}]"
        title = _length(embed.get("title"))
        description = _length(embed.get("description"))
        total += title + description
        if title > limits.EMBED_TITLE:
            problems.append(f"{at}.title: {title} characters (max {limits.EMBED_TITLE})")
        if description > limits.EMBED_DESCRIPTION:
            problems.append(
                f"{at}.description: {description} characters (max {limits.EMBED_DESCRIPTION})"
            )
        fields = embed.get("fields") or []
        if len(fields) > limits.EMBED_FIELDS:
            problems.append(f"{at}.fields: {len(fields)} fields (max {limits.EMBED_FIELDS})")
        for j, fld in enumerate(fields):
            if not isinstance(fld, dict):
                continue
            name, value = _length(fld.get("name")), _length(fld.get("value"))
            total += name + value
            if name > limits.FIELD_NAME:
                problems.append(
                    f"{at}.fields[{j}].name: {name} characters (max {limits.FIELD_NAME})"
                )
            if value > limits.FIELD_VALUE:
                problems.append(
                    f"{at}.fields[{j}].value: {value} characters (max {limits.FIELD_VALUE})"
                )
        footer = embed.get("footer")
        if isinstance(footer, dict):
            text = _length(footer.get("text"))
            total += text
            if text > limits.FOOTER_TEXT:
                problems.append(f"{at}.footer.text: {text} characters (max {limits.FOOTER_TEXT})")
        author = embed.get("author")
        if isinstance(author, dict):
            name = _length(author.get("name"))
            total += name
            if name > limits.AUTHOR_NAME:
                problems.append(f"{at}.author.name: {name} characters (max {limits.AUTHOR_NAME})")
    if total > limits.EMBED_TOTAL:
        problems.append(
            f"{where}: {total} characters across all embeds of the message "
            f"(max {limits.EMBED_TOTAL})"
        )
    return problems


def _message_limit_problems(body: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > limits.CONTENT:
        problems.append(f"{where}.content: {len(content)} characters (max {limits.CONTENT})")
    problems.extend(_embed_problems(body.get("embeds"), f"{where}.embeds"))
    problems.extend(_component_problems(body.get("components"), f"{where}.components"))
    return problems


def _over(value: Any, limit: int, at: str, *, low: int = 0) -> list[str]:
    size = len(value) if isinstance(value, str | list) else 0
    if value is None or low <= size <= limit:
        return []
    return [f"{at}: {size} {'items' if isinstance(value, list) else 'characters'} ({low}-{limit})"]


def _component_problems(rows: Any, where: str) -> list[str]:
    """Action rows of buttons and select menus (the spec allows 40 top-level components,
    for the newer layouts; a message of action rows takes 5)."""
    if not isinstance(rows, list):
        return []
    problems = _over(rows, limits.ACTION_ROWS, where)
    ids: list[str] = []
    for i, row in enumerate(rows):
        items = row.get("components") if isinstance(row, dict) else None
        if not isinstance(items, list):
            continue
        problems += _over(items, limits.BUTTONS_PER_ROW, f"{where}[{i}].components", low=1)
        for j, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            at = f"{where}[{i}].components[{j}]"
            if item.get("custom_id") is not None:
                ids.append(item["custom_id"])
            problems += _over(item.get("custom_id"), limits.CUSTOM_ID, f"{at}.custom_id", low=1)
            if item.get("type") == 2:
                problems += _over(item.get("label"), limits.BUTTON_LABEL, f"{at}.label")
            elif item.get("type") == 3:
                problems += _over(
                    item.get("placeholder"), limits.SELECT_PLACEHOLDER, f"{at}.placeholder"
                )
                options = item.get("options") or []
                problems += _over(options, limits.SELECT_OPTIONS, f"{at}.options", low=1)
                for k, option in enumerate(options):
                    for key, limit, low in (
                        ("label", limits.SELECT_OPTION_LABEL, 1),
                        ("value", limits.SELECT_OPTION_VALUE, 1),
                        ("description", limits.SELECT_OPTION_DESCRIPTION, 0),
                    ):
                        problems += _over(
                            option.get(key), limit, f"{at}.options[{k}].{key}", low=low
                        )
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        problems.append(f"{where}: custom_id used more than once: {repeated}")
    return problems


def _mention_policy_problems(body: Mapping[str, Any], where: str) -> list[str]:
    mentions = body.get("allowed_mentions")
    if not isinstance(mentions, dict):
        return [f"{where}: no allowed_mentions (must be {{'parse': []}} so the bot never pings)"]
    problems: list[str] = []
    if mentions.get("parse") != []:
        problems.append(f"{where}.allowed_mentions.parse is {mentions.get('parse')!r}, not []")
    for key in ("users", "roles"):
        if mentions.get(key):
            problems.append(f"{where}.allowed_mentions.{key} is {mentions[key]!r}, not empty")
    if mentions.get("replied_user"):
        problems.append(f"{where}.allowed_mentions.replied_user is true")
    return problems


def is_valid_command_name(name: Any) -> bool:
    """``^[-_\\p{L}\\p{N}]{1,32}$`` and lower case (Discord's rule for chat-input names)."""
    if not isinstance(name, str) or not 1 <= len(name) <= limits.COMMAND_NAME:
        return False
    if name != name.lower():
        return False
    return all(ch in "-_" or unicodedata.category(ch)[0] in "LN" for ch in name)


def _choice_problems(choices: Any, where: str, *, value_limit: int | None) -> list[str]:
    problems: list[str] = []
    if not isinstance(choices, list):
        return problems
    if len(choices) > limits.CHOICES:
        problems.append(f"{where}: {len(choices)} choices (max {limits.CHOICES})")
    for i, choice in enumerate(choices):
        if not isinstance(choice, dict):
            continue
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= limits.CHOICE_NAME:
            problems.append(
                f"{where}[{i}].name: {len(name) if isinstance(name, str) else name!r} "
                f"characters (must be 1-{limits.CHOICE_NAME})"
            )
        value = choice.get("value")
        if value_limit is not None and isinstance(value, str) and len(value) > value_limit:
            problems.append(f"{where}[{i}].value: {len(value)} characters (max {value_limit})")
    return problems


def _option_problems(options: Any, where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(options, list):
        return problems
    if len(options) > limits.COMMAND_OPTIONS:
        problems.append(f"{where}: {len(options)} options (max {limits.COMMAND_OPTIONS})")
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        at = f"{where}[{i}]"
        name = option.get("name")
        if not is_valid_command_name(name):
            problems.append(
                f"{at}.name {name!r} does not match ^[-_\\p{{L}}\\p{{N}}]{{1,32}}$ lower case"
            )
        description = option.get("description")
        if (
            not isinstance(description, str)
            or not 1 <= len(description) <= limits.COMMAND_DESCRIPTION
        ):
            problems.append(f"{at}.description must be 1-{limits.COMMAND_DESCRIPTION} characters")
        problems.extend(
            _choice_problems(
                option.get("choices"), f"{at}.choices", value_limit=limits.CHOICE_VALUE
            )
        )
        problems.extend(_option_problems(option.get("options"), f"{at}.options"))
    return problems


def _command_problems(command: Any, where: str) -> list[str]:
    if not isinstance(command, dict):
        return [f"{where}: not an object"]
    problems: list[str] = []
    command_type = command.get("type", 1)
    name = command.get("name")
    if command_type == 1:
        if not is_valid_command_name(name):
            problems.append(
                f"{where}.name {name!r} does not match ^[-_\\p{{L}}\\p{{N}}]{{1,32}}$ lower case"
            )
        description = command.get("description")
        if (
            not isinstance(description, str)
            or not 1 <= len(description) <= limits.COMMAND_DESCRIPTION
        ):
            problems.append(
                f"{where}.description must be 1-{limits.COMMAND_DESCRIPTION} characters"
            )
        problems.extend(_option_problems(command.get("options"), f"{where}.options"))
    elif not isinstance(name, str) or not 1 <= len(name) <= limits.COMMAND_NAME:
        problems.append(f"{where}.name {name!r} must be 1-{limits.COMMAND_NAME} characters")
    return problems


def _limit_and_policy(operation: str, body: Any) -> tuple[list[str], list[str]]:
    over: list[str] = []
    policy: list[str] = []
    if operation in ("bulk_set_application_commands", "bulk_set_guild_application_commands"):
        if isinstance(body, list):
            chat = [c for c in body if isinstance(c, dict) and c.get("type", 1) == 1]
            if len(chat) > limits.COMMANDS:
                over.append(f"{len(chat)} chat-input commands (max {limits.COMMANDS})")
            for i, command in enumerate(body):
                over.extend(_command_problems(command, f"commands[{i}]"))
        return over, policy
    if operation.startswith(("create_", "update_")) and "command" in operation:
        over.extend(_command_problems(body, "command"))
        return over, policy
    if not isinstance(body, dict):
        return over, policy

    if operation == "create_interaction_response":
        callback_type = body.get("type")
        data = body.get("data")
        if callback_type == 8 and isinstance(data, dict):
            over.extend(
                _choice_problems(
                    data.get("choices"), "data.choices", value_limit=limits.CHOICE_VALUE
                )
            )
        elif callback_type in (4, 7) and isinstance(data, dict):
            over.extend(_message_limit_problems(data, "data"))
            policy.extend(_mention_policy_problems(data, "data"))
        return over, policy

    over.extend(_message_limit_problems(body, "body"))
    creates = operation in ("create_message", "execute_webhook")
    edits_content = isinstance(body.get("content"), str) and body.get("content") != ""
    if creates or edits_content:
        policy.extend(_mention_policy_problems(body, "body"))
    return over, policy


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def check_request(method: str, path: str, body: Any) -> RequestCheck:
    """Check one request; routes we do not validate give an empty ``RequestCheck``."""
    operation = operation_for(method, path)
    if operation is None:
        return RequestCheck()
    limits, policy = _limit_and_policy(operation, body)
    return RequestCheck(
        operation=operation,
        schema=_schema_problems(operation, body),
        limits=limits,
        policy=policy,
    )


def validate_request(method: str, path: str, body: Any) -> list[str]:
    """All problems of one request body (OpenAPI schema, hand-checked limits, no-ping policy).

    ``path`` is the API path, with or without the ``/api/v10`` prefix, e.g.
    ``"/channels/1001/messages"``. An empty list means the body is fine.
    """
    return check_request(method, path, body).problems


def warm_up() -> None:
    """Load the spec and compile the validators ahead of time (optional; they are cached)."""
    if not SPEC_AVAILABLE:
        return
    for name in sorted(_VALIDATED_OPERATIONS):
        if _body_schema(name) is not None:
            _compiled(name, None)
