"""A post's YAML front matter, read safely: no duplicate key (YAML would keep the last one
silently), no timestamp turned into a datetime, no nesting deep enough to crash, and
through libyaml's C loader where it reads exactly as PyYAML's own does."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping key given twice; YAML would silently keep the last value."""

    def __init__(self, key: object, first: yaml.Mark, second: yaml.Mark) -> None:
        super().__init__(problem=f"duplicate key {key!r}", problem_mark=second)
        self.key = key
        self.first = first
        self.second = second


class _RefuseDuplicateKeys(yaml.constructor.SafeConstructor):
    """Refuses duplicate keys: a second `title:` would silently move the post to another day."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, yaml.Mark] = {}
        for key_node, _ in node.value:
            # Scalar keys as written; keys that `<<` merges in may be overridden, as YAML allows.
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise DuplicateKey(key, seen[key], key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


# Timestamps stay text, for `_published_at` to check and blame by line.
_WITHOUT_TIMESTAMPS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _FrontMatterLoader(_RefuseDuplicateKeys, yaml.SafeLoader):
    """Safe YAML that leaves timestamps as text and refuses duplicate keys.

    This pure-Python loader is the reference: unlike libyaml's, it turns absurdly deep nesting
    into a RecursionError rather than (with some libyaml builds) crashing the process.
    """

    yaml_implicit_resolvers = _WITHOUT_TIMESTAMPS


# The front matter's loader on libyaml; None where PyYAML was built without it (a test sets
# it to None to read posts as such a PyYAML does).
LIBYAML_LOADER: type[yaml.CSafeLoader] | None = None
if yaml.__with_libyaml__:

    class _LibyamlFrontMatterLoader(_RefuseDuplicateKeys, yaml.CSafeLoader):
        """`_FrontMatterLoader` on libyaml's scanner and parser, several times faster."""

        yaml_implicit_resolvers = _WITHOUT_TIMESTAMPS

    LIBYAML_LOADER = _LibyamlFrontMatterLoader

# Every level of nesting takes one of these: `[` or `{` opens a flow collection, and a block
# sequence or mapping has at least one `-`, `:` or `?`. So their count bounds the nesting
# depth, cheaply. The posts' front matter has 29; the pure loader fails (RecursionError) at
# some 500 levels, which libyaml would accept, or recurse on until it crashes.
_NESTING_MARKS = "[{-:?"
_LIBYAML_MAX_MARKS = 100
# Where libyaml reads differently, as comparing the two on mutated posts showed: it takes
# tabs and a byte order mark inside the text that PyYAML refuses, and reads an empty value
# tagged `!` as '' where PyYAML reads None. No post has any of them.
_LIBYAML_DIFFERS = ("\t", "\ufeff", "!")


def load_front_matter(text: str) -> Any:
    """The front matter as `_FrontMatterLoader` reads it, through libyaml where the two agree.

    Text that could nest deeply or that libyaml reads differently, and any text libyaml
    refuses, is read by the pure-Python loader, so that its errors are told as always.
    """
    if (
        LIBYAML_LOADER is not None
        and sum(map(text.count, _NESTING_MARKS)) <= _LIBYAML_MAX_MARKS
        and not any(mark in text for mark in _LIBYAML_DIFFERS)
    ):
        try:
            return yaml.load(text, Loader=LIBYAML_LOADER)
        except Exception:  # the pure loader below says what is wrong
            pass
    return yaml.load(text, Loader=_FrontMatterLoader)
