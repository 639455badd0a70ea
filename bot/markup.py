"""Text from posts shown literally in Discord: no markdown, no mention, no reordering."""

from __future__ import annotations

import re

from bot.text import shorten

ZWSP = "\u200b"  # zero-width space: breaks a mention or markup without showing

# Inline markup: bold, italics, underline, strike, spoilers, code, masked links, escapes.
_MARKDOWN = re.compile(r"([\\*_~`|\[\]])")
# Markup at the start of a line: headers (#, ##, ###), subtext (-#), block quotes (>, >>>),
# lists (-, +, 1.). A line starts after a \n, or after a \r that some clients break on too
# (looked for only in text that has one: the lookbehind makes the search twice as slow).
# The space before the markup is of that line only ([^\S\r\n], not \s): a run of blank lines
# would otherwise be scanned again from each of them, in quadratic time.
_LINE_START = re.compile(r"^([^\S\r\n]*)([#>+-])", re.MULTILINE)
_ORDERED_LIST = re.compile(r"^([^\S\r\n]*\d+)\.", re.MULTILINE)
_CR_LINE_START = re.compile(r"(?:^|(?<=\r))([^\S\r\n]*)([#>+-])", re.MULTILINE)
_CR_ORDERED_LIST = re.compile(r"(?:^|(?<=\r))([^\S\r\n]*\d+)\.", re.MULTILINE)
# <@user> <@!user> <@&role> <#channel> </command:id> <:emoji:id> <a:emoji:id> <t:time>
# <id:customize> (guild navigation).
_MENTION = re.compile(r"<(?=[@#/:]|a:|t:|id:)", re.IGNORECASE)
_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they
# reorder the text around them, e.g. to make a title read as something else.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def escape_markdown(text: str) -> str:
    """Make `text` show literally in Discord: no formatting, no mentions, no masked links,
    no bidirectional reordering."""
    text = _BIDI_CONTROLS.sub("", text)
    text = _MARKDOWN.sub(r"\\\1", text)
    lines, numbers = (
        (_CR_LINE_START, _CR_ORDERED_LIST) if "\r" in text else (_LINE_START, _ORDERED_LIST)
    )
    text = lines.sub(r"\1\\\2", text)
    text = numbers.sub(r"\1\\.", text)
    return no_mentions(text)


def no_mentions(text: str) -> str:
    """`text` with every mention and @everyone broken by an invisible space."""
    text = _MENTION.sub("<" + ZWSP, text)
    return _EVERYONE.sub("@" + ZWSP, text)


def one_line(text: str, limit: int) -> str:
    """Plain text on one line of at most `limit` characters, never empty, that reads as no
    mention (a label: Discord shows no markdown there)."""
    return shorten(no_mentions(" ".join(_BIDI_CONTROLS.sub("", text).split())), limit) or "?"
