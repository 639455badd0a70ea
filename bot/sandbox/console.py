"""The sandbox's terminal: slash commands typed as text become real interactions.

`/settings top:5 timezone:Europe/Paris` is parsed against the command definitions the bot
synced (as Discord's client would use them), sent to the local Discord as an
INTERACTION_CREATE from alice in #papers, and the bot's replies are printed as text. Messages
the bot posts to channels (the digests) are printed as they arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from bot.sandbox.local_discord import (
    ADMIN_USER_ID,
    PAPERS_CHANNEL_ID,
    InteractionHandle,
    LocalDiscord,
)
from bot.sandbox.local_discord.components import components_of
from bot.sandbox.transcript import PLAIN, Style, message_lines

PROMPT = "hotpapers> "
REPLY_TIMEOUT = 10.0
# Replies after the first (a deferred command's follow-ups) count as complete after this long
# without another one: the console cannot know how many the bot will send.
QUIET_SECONDS = 0.6

_SUBCOMMAND_TYPES = (1, 2)
_OPTION = re.compile(r"([a-z][a-z0-9_-]*):(.*)", re.DOTALL)
_OPEN = re.compile(r"open (\d+)")
LIST_PREFIX = "hotpapers:"  # the custom ids of a /search, /top or /author list
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_TYPE_NAMES = {3: "text", 4: "whole number", 5: "true/false", 10: "number"}


class InputError(ValueError):
    """A command line the console cannot turn into an interaction; the message is one line."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """A parsed command line: the command's name and its option values, typed."""

    command: str
    options: dict[str, Any] = field(default_factory=dict)


def parse_command(line: str, commands: Mapping[str, Mapping[str, Any]]) -> Invocation:
    """Parse `/name value name:value …` against `commands` (name → synced definition).

    Like in Discord's client, an option runs from its `name:` to the next known `name:`, so
    values may hold spaces and colons (`time:08:30`). Text before the first `name:` fills the
    command's first option. Values are converted to the option's type and checked against
    its choices, minimum and maximum; required options must be present.
    """
    name, known, raw, _ = _split(line, commands)
    options = {option: _convert(known[option], value) for option, value in raw.items()}
    missing = [option for option, d in known.items() if d.get("required") and option not in raw]
    if missing:
        raise InputError(f"/{name} needs {', '.join(missing)} (e.g. /{name} {missing[0]}:…)")
    return Invocation(name, options)


def parse_partial(line: str, commands: Mapping[str, Mapping[str, Any]]) -> tuple[Invocation, str]:
    """A command being typed, for autocomplete: the invocation and the focused option.

    The focused option is the last one given (or the first option, empty, when none is);
    its value stays the text typed so far, the others are converted as by parse_command.
    """
    name, known, raw, last = _split(line, commands)
    if not known:
        raise InputError(f"/{name} takes no options")
    focused = last or next(iter(known))
    options = {
        option: value if option == focused else _convert(known[option], value)
        for option, value in raw.items()
    }
    options.setdefault(focused, "")
    return Invocation(name, options), focused


def _split(
    line: str, commands: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, Mapping[str, Any]], dict[str, str], str | None]:
    """(command name, its options by name, raw option text by name, the last option given)."""
    text = line.strip().removeprefix("/")
    if not text:
        raise InputError("empty command; type help for the list")
    name, _, rest = text.partition(" ")
    name = name.lower()
    definition = commands.get(name)
    if definition is None:
        raise InputError(f"unknown command /{name}{_suggest(name, commands, '/')}; type help")
    option_defs: Sequence[Mapping[str, Any]] = definition.get("options") or []
    if any(o.get("type") in _SUBCOMMAND_TYPES for o in option_defs):
        raise InputError(f"/{name} has subcommands, which this console does not support")
    known = {str(o["name"]): o for o in option_defs}

    raw: dict[str, list[str]] = {}
    current: str | None = None
    for token in rest.split():
        match = _OPTION.fullmatch(token)
        if match and match[1] in known:
            current = match[1]
            if current in raw:
                raise InputError(f"option {current}: given twice")
            raw[current] = [match[2]] if match[2] else []
            continue
        if match and difflib.get_close_matches(match[1], known, n=1, cutoff=0.7):
            raise InputError(
                f"/{name} has no option {match[1]}:{_suggest(match[1], known, '', ':')}"
            )
        if current is None:
            if not known:
                raise InputError(f"/{name} takes no options")
            current = next(iter(known))
            raw[current] = []
        raw[current].append(token)
    return name, known, {k: " ".join(v).strip() for k, v in raw.items()}, current


def _suggest(word: str, names: Mapping[str, Any], prefix: str, suffix: str = "") -> str:
    """` (did you mean /paper?)` for a near miss, else nothing."""
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f" (did you mean {prefix}{close[0]}{suffix}?)" if close else ""


def _convert(definition: Mapping[str, Any], value: str) -> Any:
    """A typed option value, refused where Discord's client would refuse it."""
    name, kind = definition["name"], int(definition.get("type", 3))
    if not value:
        raise InputError(f"option {name}: needs a value")
    converted: Any
    if kind == 3:
        converted = value
    elif kind == 4:
        if not re.fullmatch(r"[+-]?\d+", value):
            raise InputError(f"option {name}: expected a whole number, got {value!r}")
        converted = int(value)
    elif kind == 10:
        try:
            converted = float(value)
        except ValueError:
            raise InputError(f"option {name}: expected a number, got {value!r}") from None
    elif kind == 5:
        if value.lower() not in _TRUE | _FALSE:
            raise InputError(f"option {name}: expected true or false, got {value!r}")
        converted = value.lower() in _TRUE
    elif kind in (6, 7, 8, 9):
        if not value.isdigit():
            raise InputError(f"option {name}: expected an id, got {value!r}")
        converted = int(value)
    else:
        raise InputError(f"option {name}: type {kind} is not supported by this console")
    low, high = definition.get("min_value"), definition.get("max_value")
    if kind in (4, 10) and (
        (low is not None and converted < low) or (high is not None and converted > high)
    ):
        bounds = f"{low} to {high}" if low is not None and high is not None else ""
        bounds = bounds or (f"at least {low}" if low is not None else f"at most {high}")
        raise InputError(f"option {name}: must be {bounds}, got {value}")
    choices = definition.get("choices")
    if choices:
        for choice in choices:
            if converted == choice.get("value") or value.lower() == str(choice["name"]).lower():
                return choice["value"]
        listed = ", ".join(str(c["name"]) for c in choices)
        raise InputError(f"option {name}: {value!r} is not one of {listed}")
    return converted


def help_lines(commands: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The synced commands with their options, and the console's own words."""
    lines = ["Slash commands (as alice, an admin, in #papers):"]
    for name in sorted(commands):
        definition = commands[name]
        usage = [f"/{name}"]
        for option in definition.get("options") or []:
            kind = _TYPE_NAMES.get(int(option.get("type", 3)), "value")
            part = f"{option['name']}:<{kind}>"
            usage.append(part if option.get("required") else f"[{part}]")
        lines.append(f"  {' '.join(usage)}")
        lines.append(f"      {definition.get('description', '')}")
    lines += [
        "A bare value fills the first option: /paper 2103.03206 is /paper id:2103.03206.",
        "End a line with ? for what Discord would suggest: /paper perceiver?  /subscribe vision?",
        "Lists (/search, /top, /author): page next · page back · open N (paper N's card)",
        "Console: help · publish (the next sample day, now) · quit (or Ctrl-C)",
    ]
    return lines


class LineReader:
    """Lines from a file descriptor, read by a daemon thread so the event loop never blocks.

    A thread (not `connect_read_pipe`) because it works for terminals, pipes and regular
    files alike, and never puts the terminal into non-blocking mode. Reading with os.read
    keeps no lock on sys.stdin, so an exit while the thread waits for input is clean.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, name="sandbox-stdin", daemon=True).start()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._put(line.decode(errors="replace"))
        if pending:
            self._put(pending.decode(errors="replace"))
        self._put(None)

    def _put(self, line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while we were reading
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)

    async def readline(self) -> str | None:
        """The next line without its newline; None at end of input."""
        return await self._queue.get()


class Console:
    """Runs command lines against the local Discord and prints what the bot answers or posts."""

    def __init__(
        self,
        local: LocalDiscord,
        out: TextIO,
        *,
        interactive: bool,
        width: int | None = None,
        style: Style = PLAIN,
        publish: Callable[[], Awaitable[str]] | None = None,
        user_id: int = ADMIN_USER_ID,
        channel_id: int = PAPERS_CHANNEL_ID,
    ) -> None:
        self.local = local
        self.out = out
        self.interactive = interactive
        self.width = width
        self.style = style
        self.publish = publish
        self.user_id = user_id
        self.channel_id = channel_id
        self._prompting = False
        self._held: list[dict[str, Any]] | None = []  # channel posts before release()

    # -- output ---------------------------------------------------------------------------

    def channel_name(self, channel_id: int) -> str | None:
        for guild in self.local.guilds.values():
            channel = guild.channel(channel_id)
            if channel is not None:
                return channel.name
        return None

    def write(self, lines: Sequence[str]) -> None:
        """Print lines; at a terminal, above the prompt the user may be typing at."""
        if self._prompting:
            self.out.write("\r\033[K")
        self.out.write("".join(f"{line}\n" for line in lines))
        if self._prompting:
            self.out.write(PROMPT)
        self.out.flush()

    def note(self, text: str) -> None:
        """A line from the sandbox itself (not from the bot)."""
        self.write([self.style.dim(f"[sandbox] {text}")])

    def error(self, text: str) -> None:
        self.write([f"error: {text}"])

    def end_prompt(self) -> None:
        """Leave the prompt line: what is printed next is the last thing shown."""
        if self._prompting:
            self._prompting = False
            self.out.write("\n")
            self.out.flush()

    def prompt(self) -> None:
        if self.interactive:
            self._prompting = True
            self.out.write(PROMPT)
            self.out.flush()

    def lines(self, message: Mapping[str, Any], header: str | None = None) -> list[str]:
        lines = message_lines(
            message,
            width=self.width,
            channel_name=self.channel_name,
            style=self.style,
            header=header,
        )
        return lines or ["(an empty message)"]

    def show(self, message: Mapping[str, Any]) -> None:
        self.write(self.lines(message))

    def dm_recipient(self, channel_id: int) -> str | None:
        """Who a DM channel is with (their display name), if it is one."""
        for user in self.local.users.values():
            channel = self.local.world.dm_channel_of(user.id)
            if channel is not None and channel.id == channel_id:
                return user.global_name or user.username
        return None

    def on_channel_message(self, message: dict[str, Any]) -> None:
        """A message the bot posted to a channel (a digest) or sent a member (the papers they
        follow): shown at once, with the channel or the member."""
        if self._held is not None:
            self._held.append(message)
            return
        channel_id = int(message["channel_id"])
        name = self.channel_name(channel_id)
        recipient = None if name is not None else self.dm_recipient(channel_id)
        where = f"#{name}" if recipient is None else f"DM to {recipient}"
        if name is None and recipient is None:
            where = f"#{message['channel_id']}"
        self.write(["", *self.lines(message, header=self.style.bold(f"── {where} ──")), ""])

    def release(self) -> None:
        """Show the channel posts held so far, and every later one as it comes."""
        held, self._held = self._held or [], None
        for message in held:
            self.on_channel_message(message)

    # -- commands -------------------------------------------------------------------------

    def commands(self) -> dict[str, dict[str, Any]]:
        """The chat-input commands the bot synced, global and for the sandbox's guild."""
        found: dict[str, dict[str, Any]] = {}
        for scope in (None, *self.local.guilds):
            for command in self.local.commands.get(scope, []):
                if command.get("type", 1) == 1:
                    found[command["name"]] = command
        return found

    async def execute(self, line: str, *, echo: bool | None = None) -> bool:
        """Run one line; False when it asks to quit. Never raises for bad input.

        `echo` shows the line first (by default when not at a terminal, which showed it)."""
        self._prompting = False
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        if not self.interactive if echo is None else echo:
            self.write([self.style.bold(f"> {text}")])
        word = text.lower()
        if word in ("quit", "exit", "q", ":q"):
            return False
        if word in ("help", "?", "/help"):
            self.write(help_lines(self.commands()))
            return True
        if word in ("page next", "page back") or _OPEN.fullmatch(word):
            await self.use_list(word)
            return True
        if word in ("publish", "next"):
            if self.publish is None:
                self.error("publishing is not available here")
            else:
                self.note(await self.publish())
            return True
        try:
            if text.endswith("?"):
                invocation, focused = parse_partial(text[:-1], self.commands())
                await self.suggest(invocation, focused)
                return True
            invocation = parse_command(text, self.commands())
        except InputError as exc:
            self.error(str(exc))
            return True
        await self.run(invocation)
        return True

    async def suggest(self, invocation: Invocation, focused: str) -> None:
        """What Discord's client would offer for the option being typed."""
        definition = self.commands()[invocation.command]
        option = next(o for o in definition.get("options") or [] if o["name"] == focused)
        if option.get("choices"):
            choices = option["choices"]
        elif option.get("autocomplete"):
            try:
                handle = await self.local.autocomplete(
                    invocation.command,
                    invocation.options,
                    focused=focused,
                    user_id=self.user_id,
                    channel_id=self.channel_id,
                )
                choices = await handle.wait_choices(REPLY_TIMEOUT)
            except (LookupError, PermissionError, ValueError, RuntimeError, TimeoutError) as exc:
                self.error(f"no suggestions for {focused}: {exc}")
                return
        else:
            self.error(f"option {focused} has no suggestions; type a value")
            return
        if not choices:
            self.write([f"no suggestions for {focused}:{invocation.options[focused]}"])
            return
        shown = [
            f"  {name}" if value in name else f"  {value}: {name}"
            for name, value in ((str(c["name"]), str(c["value"])) for c in choices)
        ]
        self.write([*shown, self.style.dim(f"(then /{invocation.command} {focused}:<value>)")])

    async def use_list(self, word: str) -> None:
        """`page next`, `page back` or `open N` on the latest list (/search, /top, /author)
        in the console's channel, as a click on its button or a choice in its menu."""
        lists = [
            m
            for m in self.local.channel_messages(self.channel_id, include_interaction_replies=True)
            if any(str(c.get("custom_id", "")).startswith(LIST_PREFIX) for c in components_of(m))
        ]
        if not lists:
            self.error("no list to page: run /search, /top or /author first")
            return
        message = lists[-1]
        items = list(components_of(message))
        try:
            if word.startswith("page"):
                wanted = "Next" if word.endswith("next") else "Previous"
                button = next(c for c in items if c.get("type") == 2 and wanted in c["label"])
                handle = await self.local.click(
                    int(message["id"]), button["custom_id"], user_id=self.user_id
                )
            else:
                opened = _OPEN.fullmatch(word)
                number = opened[1] if opened else ""
                menu = next(c for c in items if c.get("type") == 3)
                value = next(
                    o["value"] for o in menu["options"] if o["label"].startswith(f"{number}. ")
                )
                handle = await self.local.choose(
                    int(message["id"]), menu["custom_id"], [value], user_id=self.user_id
                )
        except StopIteration:
            what = "other page" if word.startswith("page") else f"paper {word[5:]} on its page"
            self.error(f"the latest list has no {what}")
            return
        except (LookupError, PermissionError, ValueError, RuntimeError, TimeoutError) as exc:
            self.error(f"Discord would not send it: {exc}")
            return
        await self.print_replies(handle)

    async def run(self, invocation: Invocation) -> None:
        try:
            handle = await self.local.interact(
                invocation.command,
                invocation.options,
                user_id=self.user_id,
                channel_id=self.channel_id,
            )
        except (LookupError, PermissionError, ValueError, RuntimeError, TimeoutError) as exc:
            self.error(f"Discord would not send /{invocation.command}: {exc}")
            return
        await self.print_replies(handle)

    async def print_replies(self, handle: InteractionHandle) -> None:
        """The bot's replies as they come: the first within REPLY_TIMEOUT, then follow-ups."""
        try:
            await handle.wait_reply(REPLY_TIMEOUT)
        except TimeoutError:
            self.error(f"the bot did not answer within {REPLY_TIMEOUT:g} s")
            return
        shown = 0
        while True:
            for message in handle.replies[shown:]:
                self.show(message)
            shown = len(handle.replies)
            try:
                await handle.wait_replies(shown + 1, QUIET_SECONDS)
            except TimeoutError:
                return

    async def loop(self, reader: LineReader) -> bool:
        """Run lines until end of input (True) or `quit` (False)."""
        while True:
            self.prompt()
            line = await reader.readline()
            if line is None:
                self.end_prompt()
                return True
            if not await self.execute(line):
                return False


def terminal_style(stream: TextIO) -> Style:
    """ANSI styles for a terminal unless NO_COLOR is set (https://no-color.org)."""
    return Style(color=stream.isatty() and not os.environ.get("NO_COLOR"))


def stdin_is_terminal() -> bool:
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, ValueError, OSError):
        return False
