"""SQL functions the store registers on each of its connections, so that a migration and the
Python that writes the archive compute the same values.

An author's name is looked up without its accents, case or punctuation: "José García",
"Jose Garcia" and "JOSÉ GARCÍA" are one author, "Jean-Pierre" is found as "jean pierre".
"""

from __future__ import annotations

import re

from bot.text import fold

_WORD = re.compile(r"[^\W_]+")

NAME_KEY = "hotpapers_name_key"


def name_key(name: str) -> str:
    """`name` folded for comparison: no accents, lower case, its words joined by one space
    (only letters and digits: the key holds no quote, backslash or punctuation)."""
    if not name.isascii():
        name = fold(name)
    return " ".join(_WORD.findall(name.lower()))
