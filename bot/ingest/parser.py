"""Hot Papers post (Markdown with YAML front matter) → Day.

The format is machine-written and regular, so the parser is strict: anything it does not
recognise is a ParseError naming the file and line, never a silently wrong paper.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Hashable, Iterator
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from bot.arxiv import InvalidArxivId, parse_arxiv_id
from bot.models import Appearance, Day, Paper, RankedPaper, Tweet


class ParseError(ValueError):
    """A post that is not a valid Hot Papers post; `str()` reads `path:line: reason`."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}")


_TITLE = re.compile(r"Hot Papers (\d{4}-\d{2}-\d{2})")
_PUBLISHED = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d*))?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_SECTION = re.compile(r"# (\d{1,9})\.\s+(\S.*)")
_STATS = re.compile(
    r"- retweets: (\d{1,18}), favorites: (\d{1,18}) \((\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2})\)"
)
_LINKS = re.compile(
    r"- links: \[abs\]\((?P<abs>https?://arxiv\.org/abs/(?P<id>[^)\s]+))\)"
    r"(?: \| \[pdf\]\((?P<pdf>https?://arxiv\.org/pdf/[^)\s]+)\))?"
)
_CATEGORY = re.compile(
    r"\[(?P<label>[^\]]+)\]\(https?://arxiv\.org/list/(?P<code>[A-Za-z-]+(?:\.[A-Za-z-]+)?)/recent\)"
)
_CATEGORY_LINK = r"\[[^\]]+\]\(https?://arxiv\.org/list/[A-Za-z-]+(?:\.[A-Za-z-]+)?/recent\)"
_CATEGORY_LINE = re.compile(rf"- {_CATEGORY_LINK}(?: \| {_CATEGORY_LINK})*")
_TWEET = re.compile(
    r'<blockquote class="twitter-tweet"[^>]*>\s*'
    r'<p lang="(?P<lang>[^"]*)"(?: dir="[a-z]*")?>(?P<body>.*)</p>\s*'
    r"&mdash; (?P<author>.*?) \(@(?P<handle>\w{1,50})\)\s*"
    r'<a href="https?://(?:mobile\.)?twitter\.com/(?P<url_handle>\w{1,50})/status/(?P<status>\d+)'
    r'(?:\?[^"]*)?">(?P<posted>[A-Z][a-z]+ \d{1,2}, \d{4})</a>\s*</blockquote>',
    re.DOTALL,
)
_SCRIPT = re.compile(r"<script\b[^>]*>\s*</script>")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
_MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}


_MERGE_TAG = "tag:yaml.org,2002:merge"


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping key given twice; YAML would silently keep the last value."""

    def __init__(self, key: object, first: yaml.Mark, second: yaml.Mark) -> None:
        super().__init__(problem=f"duplicate key {key!r}", problem_mark=second)
        self.key = key
        self.first = first
        self.second = second


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that leaves timestamps as text, for `_published_at` to check and blame by line,
    and refuses duplicate keys (a second `title:` would silently move the post to another day).

    The pure-Python loader, unlike libyaml's, turns absurdly deep nesting into a RecursionError
    rather than crashing the process.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, yaml.Mark] = {}
        for key_node, _ in node.value:
            # Scalar keys as written; keys that `<<` merges in may be overridden, as YAML allows.
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise _DuplicateKey(key, seen[key], key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def collapse(text: str) -> str:
    """Collapse runs of whitespace (titles carry double spaces from line wrapping)."""
    return _SPACES.sub(" ", text).strip()


def tweet_text(fragment: str) -> str:
    """A tweet's `<p>` HTML as plain text: tags dropped, inner text kept, `<br>` as newline."""
    return html.unescape(_TAG.sub("", _BR.sub("\n", fragment))).strip()


def decode_post(data: bytes, path: str) -> str:
    """Bytes → text, refusing binary junk and anything that is not UTF-8."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ParseError(
            path,
            data.count(b"\n", 0, nul) + 1,
            "binary data (NUL byte); expected a UTF-8 Markdown post",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(
            path,
            data.count(b"\n", 0, exc.start) + 1,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); expected a UTF-8 Markdown post",
        ) from None
    return text.removeprefix("\ufeff")


def parse_post(source: str | bytes, path: str = "<post>") -> Day:
    """Parse one Hot Papers post; raise ParseError (and only ParseError) when it is malformed."""
    text = decode_post(source, path) if isinstance(source, bytes) else source
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    meta, body_start = _front_matter(lines, path)
    date = _day_date(meta, lines, path)
    published_at = _published_at(meta, lines, path)
    papers = tuple(_sections(lines, body_start, path, date))
    if not text.endswith("\n\n" if papers else "\n"):
        raise ParseError(
            path,
            len(lines),
            "the post ends without the blank line that closes every post; it looks truncated"
            if papers
            else "the post ends in the middle of a line; it looks truncated",
        )
    return Day(date=date, published_at=published_at, papers=papers)


def _front_matter(lines: list[str], path: str) -> tuple[dict[str, Any], int]:
    if not lines or lines[0].rstrip() != "---":
        raise ParseError(
            path, 1, "no YAML front matter; expected the post to start with a '---' line"
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            break
    else:
        raise ParseError(path, len(lines), "front matter is never closed by a '---' line")
    try:
        meta = YAMLHandler().load("\n".join(lines[1:index]), Loader=_FrontMatterLoader)
    except _DuplicateKey as exc:
        # YAML also breaks lines at U+0085/U+2028/U+2029: never blame past the closing '---'.
        first, second = (min(m.line + 2, index + 1) for m in (exc.first, exc.second))
        where = f"on line {second}" if first == second else f"(lines {first} and {second})"
        raise ParseError(path, second, f"front matter has {exc.key!r} twice {where}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # YAML also breaks lines at U+0085/U+2028/U+2029: never blame past the closing '---'.
        line = min(mark.line + 2, index + 1) if mark is not None else 2
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ParseError(path, line, f"front matter is not valid YAML: {problem}") from None
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        # Explicit tags (`!!int`, `!!timestamp`) and deep nesting fail outside YAMLError.
        reason = f"front matter is not valid YAML: {type(exc).__name__}"
        raise ParseError(path, 2, reason) from None
    if not isinstance(meta, dict):
        raise ParseError(path, 2, "front matter is not a mapping of keys to values")
    return meta, index + 1


def _key_line(lines: list[str], key: str) -> int:
    prefix = f"{key}:"
    for number, line in enumerate(lines, start=1):
        if line.startswith(prefix):
            return number
        if number > 1 and line.rstrip() == "---":
            break
    return 1


def _day_date(meta: dict[str, Any], lines: list[str], path: str) -> dt.date:
    title = meta.get("title")
    line = _key_line(lines, "title")
    if not isinstance(title, str):
        raise ParseError(path, line, "front matter has no title; expected 'Hot Papers YYYY-MM-DD'")
    match = _TITLE.fullmatch(collapse(title))
    if not match:
        raise ParseError(path, line, f"title {title!r} is not of the form 'Hot Papers YYYY-MM-DD'")
    try:
        return dt.date.fromisoformat(match[1])
    except ValueError:
        raise ParseError(path, line, f"title date {match[1]} does not exist") from None


def _published_at(meta: dict[str, Any], lines: list[str], path: str) -> dt.datetime:
    value = meta.get("date")
    line = _key_line(lines, "date")
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return _in_utc(aware, value.isoformat(), path, line)
    match = _PUBLISHED.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ParseError(
            path, line, f"front matter date {value!r} is not a timestamp like 2021-03-06T15:15:57Z"
        )
    tz = match["tz"] or "Z"
    stamp = f"{match['date']}T{match['time']}{'.' + match['frac'] if match['frac'] else ''}"
    try:
        parsed = dt.datetime.fromisoformat(stamp + ("+00:00" if tz == "Z" else tz))
    except ValueError:
        raise ParseError(path, line, f"front matter date {value!r} does not exist") from None
    return _in_utc(parsed, str(value), path, line)


def _in_utc(stamp: dt.datetime, shown: str, path: str, line: int) -> dt.datetime:
    """`stamp` in UTC; near year 1 or 9999 an offset can push it out of what datetime holds."""
    try:
        return stamp.astimezone(dt.UTC)
    except OverflowError:
        raise ParseError(
            path,
            line,
            f"front matter date {shown!r} is out of range: "
            "in UTC it falls before year 1 or after year 9999",
        ) from None


def _sections(lines: list[str], start: int, path: str, date: dt.date) -> Iterator[RankedPaper]:
    """Split the body at `# N. Title` headings and parse each section."""
    heading: tuple[int, re.Match[str]] | None = None
    section: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    expected_rank = 1
    for index in range(start, len(lines)):
        number, line = index + 1, lines[index]
        if line.startswith("#"):
            match = _SECTION.fullmatch(line.rstrip())
            if not match:
                raise ParseError(
                    path, number, f"unexpected heading {line[:80]!r}; expected '# N. Title'"
                )
            if heading is not None:
                yield _paper(heading, section, path, date, seen)
            rank = int(match[1])
            if rank != expected_rank:
                raise ParseError(path, number, f"paper numbered {rank}; expected {expected_rank}")
            expected_rank += 1
            heading, section = (number, match), []
        elif heading is None:
            if line.strip():
                raise ParseError(
                    path, number, f"unexpected text {line[:80]!r} before the first '# 1. Title'"
                )
        else:
            section.append((number, line))
    if heading is not None:
        yield _paper(heading, section, path, date, seen)


def _paper(
    heading: tuple[int, re.Match[str]],
    section: list[tuple[int, str]],
    path: str,
    date: dt.date,
    seen: dict[str, int],
) -> RankedPaper:
    heading_line, match = heading
    rank, title = int(match[1]), collapse(match[2])
    rows = iter(section)

    def next_line(expected: str) -> tuple[int, str]:
        for number, line in rows:
            if line.strip():
                return number, line.rstrip()
        last = section[-1][0] if section else heading_line
        raise ParseError(path, last, f"paper {rank} ends early; expected {expected}")

    number, authors_line = next_line("the authors line")
    if authors_line.startswith(("- ", "<")):
        raise ParseError(
            path, number, f"paper {rank} has no authors line before {authors_line[:40]!r}"
        )
    authors = tuple(a.strip() for a in authors_line.split(",") if a.strip())
    if not authors:
        raise ParseError(path, number, f"paper {rank} has no authors")

    number, line = next_line("'- retweets: N, favorites: N (MM/DD/YYYY HH:MM:SS)'")
    stats = _STATS.fullmatch(line)
    if not stats:
        raise ParseError(
            path,
            number,
            f"bad counts line {line[:80]!r}; expected "
            "'- retweets: N, favorites: N (MM/DD/YYYY HH:MM:SS)'",
        )
    try:
        dt.datetime.strptime(stats[3], "%m/%d/%Y %H:%M:%S")
    except ValueError:
        raise ParseError(path, number, f"counts timestamp {stats[3]!r} does not exist") from None

    number, line = next_line("'- links: [abs](https://arxiv.org/abs/ID) | [pdf](...)'")
    links = _LINKS.fullmatch(line)
    if not links:
        raise ParseError(
            path,
            number,
            f"paper {rank} has no arXiv link; expected "
            f"'- links: [abs](https://arxiv.org/abs/ID) | [pdf](...)', found {line[:80]!r}",
        )
    try:
        arxiv_id = parse_arxiv_id(links["id"])
    except InvalidArxivId as exc:
        raise ParseError(path, number, f"bad arXiv link: {exc}") from None
    if arxiv_id in seen:
        raise ParseError(
            path, number, f"paper {arxiv_id} is listed twice (first as paper {seen[arxiv_id]})"
        )
    seen[arxiv_id] = rank

    number, line = next_line("a line of category links")
    if not _CATEGORY_LINE.fullmatch(line):
        raise ParseError(
            path,
            number,
            f"bad categories line {line[:80]!r}; expected "
            "'- [cs.LG](https://arxiv.org/list/cs.LG/recent) | ...'",
        )
    categories = tuple(dict.fromkeys(m["code"] for m in _CATEGORY.finditer(line)))
    categories_line = number

    abstract_lines: list[str] = []
    abstract_ended = False
    tweets: list[Tweet] = []
    pending: list[str] = []
    pending_line = 0
    for number, line in rows:
        stripped = line.strip()
        if pending:
            if stripped.startswith("<blockquote"):
                # Else the next tweet's end would close this one: two tweets merged into one.
                raise ParseError(
                    path, pending_line, "tweet is cut off: '<blockquote>' is never closed"
                )
            pending.append(line)
            if "</blockquote>" in line:
                tweets.append(_tweet("\n".join(pending), pending_line, path))
                pending = []
        elif stripped.startswith("<blockquote"):
            pending, pending_line = [line], number
            if "</blockquote>" in line:
                tweets.append(_tweet(line, number, path))
                pending = []
        elif tweets:
            if stripped and not _SCRIPT.fullmatch(stripped):
                raise ParseError(
                    path, number, f"unexpected text after the tweets: {stripped[:80]!r}"
                )
        elif stripped.startswith("<script"):
            raise ParseError(path, number, "script tag without a tweet before it")
        elif not stripped:
            abstract_ended = bool(abstract_lines)
        elif abstract_ended:
            # No real post has a second abstract paragraph: this is stray text, not abstract.
            raise ParseError(
                path,
                number,
                f"unexpected text after the abstract of paper {rank}: {stripped[:80]!r}",
            )
        else:
            abstract_lines.append(stripped)
    if pending:
        raise ParseError(path, pending_line, "tweet is cut off: '<blockquote>' is never closed")
    abstract = " ".join(abstract_lines)
    if not abstract:
        raise ParseError(
            path, categories_line, f"paper {rank} has no abstract after its categories line"
        )
    if not title:
        raise ParseError(path, heading_line, f"paper {rank} has no title")

    paper = Paper(
        arxiv_id=arxiv_id,
        title=title,
        authors=authors,
        categories=categories,
        abstract=abstract,
        abs_url=links["abs"],
        pdf_url=links["pdf"],
    )
    appearance = Appearance(date=date, rank=rank, retweets=int(stats[1]), favorites=int(stats[2]))
    return RankedPaper(paper=paper, appearance=appearance, tweets=tuple(tweets))


def _tweet(block: str, line: int, path: str) -> Tweet:
    match = _TWEET.fullmatch(block.strip())
    if not match:
        raise ParseError(
            path,
            line,
            "tweet is not an embedded tweet of the form "
            '\'<blockquote class="twitter-tweet"><p lang=..>text</p>&mdash; Name (@handle) '
            '<a href="https://twitter.com/handle/status/ID">Month D, YYYY</a></blockquote>\'',
        )
    month_name, day_text, year_text = match["posted"].replace(",", "").split()
    month = _MONTHS.get(month_name)
    try:
        if month is None:
            raise ValueError(month_name)
        posted = dt.date(int(year_text), month, int(day_text))
    except ValueError:
        raise ParseError(path, line, f"tweet date {match['posted']!r} does not exist") from None
    return Tweet(
        url=f"https://twitter.com/{match['url_handle']}/status/{match['status']}",
        author=collapse(html.unescape(_TAG.sub("", match["author"]))),
        handle=match["handle"],
        posted=posted,
        lang=match["lang"],
        text=tweet_text(match["body"]),
    )
