"""Hot Papers post (Markdown with YAML front matter) → Day.

The posts are machine-written (HotPaperBlogWriter.save_markdown), so the parser follows that
writer's layout: everything it could have written is accepted (an empty authors, categories
or abstract line, no PDF link, an empty title, an abstract that looks like Markdown or HTML),
and anything it could not have written is a ParseError naming the file and line, never a
silently wrong paper. Every pattern runs in time linear in its input, so a hostile post
costs no more than a long one.

Posts of days built from Bluesky, as `hotpapers post` writes them (`bot.ingest.post_format`),
are tagged "Bluesky": their counts lines give reposts and likes, and their posts are Bluesky
embeds; a post of either kind holding the other's is refused.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from typing import Any

import yaml

from bot.arxiv import InvalidArxivId, abs_url, parse_listed_id, pdf_url
from bot.ingest.front_matter import DuplicateKey, load_front_matter
from bot.ingest.post_format import (
    BLUESKY_EMBED_START,
    BLUESKY_FORM,
    MONTHS,
    EmbedError,
    count_names,
    read_bluesky_embed,
)
from bot.models import WORDING, Appearance, Day, Paper, Platform, RankedPaper, Tweet

log = logging.getLogger(__name__)


class ParseError(ValueError):
    """A post that is not a valid Hot Papers post; `str()` reads `path:line: reason`."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}")


# The writer prints `Hot Papers {since}` or, for several days, `Hot Papers {since} - {until}`.
_TITLE = re.compile(r"Hot Papers (\d{4}-\d{2}-\d{2})(?: - (\d{4}-\d{2}-\d{2}))?")
_PUBLISHED = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d*))?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
# `# {no}. {title}`: the title may be empty.
_SECTION = re.compile(r"# (\d{1,9})\.(?:\s+(.*))?")
# Twitter-era posts count retweets and favorites; posts of Bluesky days reposts and likes.
_STATS = re.compile(
    r"- (?P<shared>retweets|reposts): (?P<first>\d{1,18}), (?P<liked>favorites|likes): "
    r"(?P<second>\d{1,18}) \((?P<at>\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2})\)"
)
_LINKS = re.compile(r"- links: \[abs\]\((?P<abs>[^()\s]*)\)(?: \| \[pdf\]\((?P<pdf>[^()\s]*)\))?")
_ABS_URL = re.compile(r"https?://arxiv\.org/abs/(?P<id>.+)")
_PDF_URL = re.compile(r"https?://arxiv\.org/pdf/(?P<id>.+?)(?:\.pdf)?")
_CATEGORY = re.compile(
    r"\[[^\[\]]+\]\(https?://arxiv\.org/list/(?P<code>[A-Za-z-]+(?:\.[A-Za-z-]+)?)/recent\)"
)
_CATEGORY_LINK = r"\[[^\[\]]+\]\(https?://arxiv\.org/list/[A-Za-z-]+(?:\.[A-Za-z-]+)?/recent\)"
# `'- ' + ' | '.join(links)`: just "-" (once stripped) when the paper has no categories.
_CATEGORY_LINE = re.compile(rf"-(?: {_CATEGORY_LINK}(?: \| {_CATEGORY_LINK})*)?")
# A tweet's oEmbed HTML is read in two anchored pieces around its last `</p>`, found with
# rfind: one pattern spanning the body would backtrack over it for every candidate `</p>`.
_TWEET_HEAD = re.compile(
    r'<blockquote class="twitter-tweet"[^<>]*>\s*<p lang="(?P<lang>[^"<>]*)"(?: dir="[a-z]*")?>'
)
_TWEET_TAIL = re.compile(
    r"\s*&mdash; (?P<author>[^<>]*?) \(@(?P<handle>\w{1,50})\)\s*"
    r'<a href="https?://(?:mobile\.)?twitter\.com/(?P<url_handle>\w{1,50})/status/'
    r'(?P<status>\d{1,30})(?:\?[^"<>]*)?">(?P<posted>[A-Z][a-z]+ \d{1,2}, \d{4})</a>\s*'
    r"</blockquote>"
)
_TWEET_FORM = (
    "tweet is not an embedded tweet of the form "
    '\'<blockquote class="twitter-tweet"><p lang=..>text</p>&mdash; Name (@handle) '
    '<a href="https://twitter.com/handle/status/ID">Month D, YYYY</a></blockquote>\''
)
_SCRIPT = re.compile(r"<script\b[^<>]*>\s*</script>")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
_SPACES = re.compile(r"\s+")
_TRUNCATED = "the post ends without the blank line that closes every post; it looks truncated"
_MONTHS = {name: number for number, name in enumerate(MONTHS, start=1)}


def collapse(text: str) -> str:
    """Collapse runs of whitespace (titles carry double spaces from line wrapping)."""
    return _SPACES.sub(" ", text).strip()


def tweet_text(fragment: str) -> str:
    """A tweet's `<p>` HTML as plain text: tags dropped, inner text kept, `<br>` as newline."""
    return unescape(_TAG.sub("", _BR.sub("\n", fragment))).strip()


# html.unescape turns a numeric character reference's digits into an int, which Python
# refuses past 4,300 digits (a ValueError, not a wrong post). Leading zeros change nothing,
# and a reference past U+10FFFF reads as U+FFFD: shortened so, each reads as it would.
_NUMERIC_REFERENCE = re.compile(r"&#(?:([xX])([0-9a-fA-F]+)|([0-9]+));?")


def _shortened(reference: re.Match[str]) -> str:
    hexadecimal = reference[1] is not None
    digits = (reference[2] if hexadecimal else reference[3]).lstrip("0") or "0"
    if len(digits) > (6 if hexadecimal else 7):
        return "\ufffd"
    return f"&#{reference[1] or ''}{digits};"


def unescape(text: str) -> str:
    """`html.unescape`, for any length of character reference."""
    if "&#" in text:
        text = _NUMERIC_REFERENCE.sub(_shortened, text)
    return html.unescape(text)


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


def parse_post(source: str | bytes, path: str = "<post>", *, today: dt.date | None = None) -> Day:
    """Parse one Hot Papers post; raise ParseError (and only ParseError) when it is malformed.

    With `today`, a post whose day is more than a day after it is refused: the writer covers
    days that are over (a day of slack for time zones).
    """
    text = decode_post(source, path) if isinstance(source, bytes) else source
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    meta, body_start = _front_matter(lines, path)
    date = _day_date(meta, lines, path, today)
    published_at = _published_at(meta, lines, path)
    platform = _platform(meta, lines, path)
    # The empty string after a final newline is no line of the post.
    body = _Body(lines, len(lines) - 1 if text.endswith("\n") else len(lines), path, platform)
    papers, any_paper = _papers(body, body_start, date)
    if not text.endswith("\n\n" if any_paper else "\n"):
        raise ParseError(
            path,
            len(lines),
            _TRUNCATED
            if any_paper
            else "the post ends in the middle of a line; it looks truncated",
        )
    return Day(date=date, published_at=published_at, papers=papers, platform=platform)


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
        meta = load_front_matter("\n".join(lines[1:index]))
    except DuplicateKey as exc:
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


def _day_date(meta: dict[str, Any], lines: list[str], path: str, today: dt.date | None) -> dt.date:
    """The title's date; of a range of days (`Hot Papers A - B`), the first."""
    title = meta.get("title")
    line = _key_line(lines, "title")
    if not isinstance(title, str):
        raise ParseError(path, line, "front matter has no title; expected 'Hot Papers YYYY-MM-DD'")
    match = _TITLE.fullmatch(collapse(title))
    if not match:
        raise ParseError(
            path,
            line,
            f"title {title!r} is not of the form 'Hot Papers YYYY-MM-DD' "
            "or 'Hot Papers YYYY-MM-DD - YYYY-MM-DD'",
        )
    dates = []
    for text in filter(None, (match[1], match[2])):
        try:
            dates.append(dt.date.fromisoformat(text))
        except ValueError:
            raise ParseError(path, line, f"title date {text} does not exist") from None
    date = dates[0]
    if today is not None and (date - today).days > 1:
        raise ParseError(
            path,
            line,
            f"title date {date} is more than a day after today ({today}); "
            "a post covers a day that is over",
        )
    return date


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


def _platform(meta: dict[str, Any], lines: list[str], path: str) -> Platform:
    """A post tagged "Bluesky" is of a day built from Bluesky; any other of a Twitter-era
    day, as those posts are tagged "Twitter"."""
    tags = meta.get("tags")
    names = {t for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()
    if WORDING["bluesky"].site not in names:
        return "twitter"
    if WORDING["twitter"].site in names:
        raise ParseError(
            path,
            _key_line(lines, "tags"),
            "tags name both Twitter and Bluesky; a post counts the attention of one: "
            "expected 'Twitter' (retweets, favorites, tweets) or 'Bluesky' (reposts, likes, "
            "Bluesky posts)",
        )
    return "bluesky"


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


class _Body:
    """The post's lines, from which each paper's parts are read by the writer's layout."""

    def __init__(self, lines: list[str], count: int, path: str, platform: Platform) -> None:
        self.lines = lines
        self.count = count  # lines[count:] is only the empty string after a final newline
        self.path = path
        self.platform = platform  # as the front matter's tags say

    def error(self, index: int, reason: str) -> ParseError:
        return ParseError(self.path, index + 1, reason)

    def truncated(self) -> ParseError:
        return ParseError(self.path, len(self.lines), _TRUNCATED)

    def next_text(self, index: int, rank: int, expected: str) -> int:
        """The first non-blank line from `index` on; the paper ends early if there is none."""
        while index < self.count:
            if self.lines[index].strip():
                return index
            index += 1
        raise ParseError(
            self.path, len(self.lines), f"paper {rank} ends early; expected {expected}"
        )


def _papers(body: _Body, start: int, date: dt.date) -> tuple[tuple[RankedPaper, ...], bool]:
    """Each `# N. Title` section in order, and whether there was any. A paper listed again
    later in the same post is dropped there: its first listing keeps its rank."""
    papers: list[RankedPaper] = []
    first_rank: dict[str, int] = {}
    index = start
    expected_rank = 1
    while index < body.count:
        line = body.lines[index]
        if not line.strip():
            index += 1
            continue
        if not line.startswith("#"):
            raise body.error(index, f"unexpected text {line[:80]!r} before the first '# 1. Title'")
        heading = _SECTION.fullmatch(line.rstrip())
        if not heading:
            raise body.error(index, f"unexpected heading {line[:80]!r}; expected '# N. Title'")
        rank = int(heading[1])
        if rank != expected_rank:
            raise body.error(index, f"paper numbered {rank}; expected {expected_rank}")
        expected_rank += 1
        ranked, links_line, index = _paper(body, index, heading, date)
        arxiv_id = ranked.paper.arxiv_id
        if arxiv_id in first_rank:
            log.info(
                "%s:%d: paper %s is listed again as paper %d (first as paper %d); "
                "keeping the first listing",
                body.path,
                links_line + 1,
                arxiv_id,
                rank,
                first_rank[arxiv_id],
            )
            continue
        first_rank[arxiv_id] = rank
        papers.append(ranked)
    return tuple(papers), expected_rank > 1


def _paper(
    body: _Body, heading_index: int, heading: re.Match[str], date: dt.date
) -> tuple[RankedPaper, int, int]:
    """One paper from its heading: (the paper, its links line, where the next part starts).

    The writer prints, after `# N. Title`: the authors line (may be empty), the counts line,
    the links line, the categories line, a blank line, the abstract line (may be empty), a
    blank line, then each tweet's blockquote and script lines. The abstract is found by its
    place, two lines below the categories line, so it may read like anything else.
    """
    lines = body.lines
    rank, title = int(heading[1]), collapse(heading[2] or "")
    shared, liked = count_names(body.platform)
    counts_form = f"'- {shared}: N, {liked}: N (MM/DD/YYYY HH:MM:SS)'"
    links_form = "'- links: [abs](https://arxiv.org/abs/ID) | [pdf](...)'"

    index = body.next_text(heading_index + 1, rank, "the authors line")
    authors: tuple[str, ...] = ()
    if not _STATS.fullmatch(lines[index].rstrip()):  # else the authors line is empty
        authors = tuple(a.strip() for a in lines[index].split(",") if a.strip())
        index = body.next_text(index + 1, rank, counts_form)

    line = lines[index].rstrip()
    stats = _STATS.fullmatch(line)
    if not stats:
        raise body.error(index, f"bad counts line {line[:80]!r}; expected {counts_form}")
    if (stats["shared"], stats["liked"]) != (shared, liked):
        tag = WORDING[body.platform].site
        raise body.error(
            index,
            f"counts line {line[:80]!r} counts {stats['shared']} and {stats['liked']}, but the "
            f"post is tagged {tag}: expected {counts_form}",
        )
    try:
        dt.datetime.strptime(stats["at"], "%m/%d/%Y %H:%M:%S")
    except ValueError:
        raise body.error(index, f"counts timestamp {stats['at']!r} does not exist") from None

    index = links_line = body.next_text(index + 1, rank, links_form)
    arxiv_id, has_pdf = _links(body, index, rank, links_form)

    index = body.next_text(index + 1, rank, "a line of category links")
    line = lines[index].rstrip()
    if not _CATEGORY_LINE.fullmatch(line):
        raise body.error(
            index,
            f"bad categories line {line[:80]!r}; expected "
            "'- [cs.LG](https://arxiv.org/list/cs.LG/recent) | ...' (or '- ' for none)",
        )
    categories = tuple(dict.fromkeys(m["code"] for m in _CATEGORY.finditer(line)))

    abstract, index = _abstract(body, index, rank)
    tweets, index = _tweets(body, index, rank)

    paper = Paper(
        arxiv_id=arxiv_id,
        title=title,
        authors=authors,
        categories=categories,
        abstract=abstract,
        abs_url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id) if has_pdf else None,
    )
    appearance = Appearance(
        date=date,
        rank=rank,
        retweets=int(stats["first"]),
        favorites=int(stats["second"]),
        platform=body.platform,
    )
    return RankedPaper(paper=paper, appearance=appearance, tweets=tweets), links_line, index


def _links(body: _Body, index: int, rank: int, links_form: str) -> tuple[str, bool]:
    """The links line's arXiv id, and whether it has a PDF link.

    The writer copies arXiv's own links, so anything but arXiv's abs URL of a bare id (and
    the PDF URL of the same id) is refused; the links stored are rebuilt from the id.
    """
    line = body.lines[index].rstrip()
    links = _LINKS.fullmatch(line)
    found = _ABS_URL.fullmatch(links["abs"]) if links else None
    if not links or not found:
        raise body.error(
            index,
            f"paper {rank} has no arXiv link; expected {links_form}, found {line[:80]!r}",
        )
    try:
        arxiv_id = parse_listed_id(found["id"])
    except InvalidArxivId as exc:
        raise body.error(index, f"bad arXiv link: {exc}") from None
    pdf = links["pdf"]
    if pdf is not None:
        pdf_match = _PDF_URL.fullmatch(pdf)
        try:
            pdf_id = parse_listed_id(pdf_match["id"]) if pdf_match else None
        except InvalidArxivId:
            pdf_id = None
        if pdf_id != arxiv_id:
            raise body.error(
                index,
                f"bad PDF link {pdf[:80]!r}: expected https://arxiv.org/pdf/{arxiv_id}, "
                f"the PDF of the paper the abs link names",
            )
    return arxiv_id, pdf is not None


def _abstract(body: _Body, categories_index: int, rank: int) -> tuple[str, int]:
    """The abstract, two lines below the categories line, and where the tweets may start.

    The writer prints it on one line (empty when arXiv gave none); lines right below it
    (a carriage return in it) continue it, unless they start a tweet or a heading.
    """
    lines = body.lines
    gap, index = categories_index + 1, categories_index + 2
    if gap >= body.count:
        raise body.truncated()
    if lines[gap].strip():
        raise body.error(
            gap,
            f"expected a blank line after the categories line of paper {rank}, "
            f"found {lines[gap].strip()[:80]!r}",
        )
    if index >= body.count:
        raise body.truncated()
    if not lines[index].strip():
        if index + 1 >= body.count:  # the writer's blank line after the empty abstract
            raise body.truncated()
        return "", index + 1
    parts = [lines[index].strip()]
    index += 1
    while index < body.count and lines[index].strip():
        stripped = lines[index].strip()
        if stripped.startswith(("<blockquote", "<script")) or lines[index].startswith("#"):
            break
        parts.append(stripped)
        index += 1
    return " ".join(parts), index


def _tweets(body: _Body, index: int, rank: int) -> tuple[tuple[Tweet, ...], int]:
    """The tweets below the abstract, up to the next heading: (tweets, the heading's index)."""
    lines = body.lines
    tweets: list[Tweet] = []
    pending: list[str] = []
    pending_index = 0
    while index < body.count:
        line = lines[index]
        stripped = line.strip()
        if pending:
            if stripped.startswith("<blockquote"):
                # Else the next tweet's end would close this one: two tweets merged into one.
                raise body.error(pending_index, "tweet is cut off: '<blockquote>' is never closed")
            pending.append(line)
            if "</blockquote>" in line:
                tweets.append(_post("\n".join(pending), pending_index + 1, body))
                pending = []
        elif stripped.startswith("<blockquote"):
            pending, pending_index = [line], index
            if "</blockquote>" in line:
                tweets.append(_post(line, index + 1, body))
                pending = []
        elif line.startswith("#"):
            break
        elif not stripped:
            pass
        elif tweets:
            if not (stripped.startswith("<script") and _SCRIPT.fullmatch(stripped)):
                raise body.error(index, f"unexpected text after the tweets: {stripped[:80]!r}")
        elif stripped.startswith("<script"):
            raise body.error(index, "script tag without a tweet before it")
        else:
            # No real post has a second abstract paragraph: this is stray text, not abstract.
            raise body.error(
                index, f"unexpected text after the abstract of paper {rank}: {stripped[:80]!r}"
            )
        index += 1
    if pending:
        raise body.error(pending_index, "tweet is cut off: '<blockquote>' is never closed")
    return tuple(tweets), index


def _post(block: str, line: int, body: _Body) -> Tweet:
    """A post under a paper: a tweet, or a Bluesky post in a post tagged Bluesky."""
    text = block.strip()
    bluesky = text.startswith(BLUESKY_EMBED_START)
    if body.platform == "bluesky":
        if not bluesky:
            raise ParseError(
                body.path,
                line,
                f"a tweet in a post tagged Bluesky; {BLUESKY_FORM}",
            )
        try:
            return read_bluesky_embed(text)
        except EmbedError as exc:
            raise ParseError(body.path, line, str(exc)) from None
    if bluesky:
        raise ParseError(
            body.path,
            line,
            "a Bluesky post in a post not tagged Bluesky; a post shows tweets or Bluesky posts, "
            "and a Bluesky day's post is tagged 'Bluesky'",
        )
    return _tweet(text, line, body.path)


def _tweet(text: str, line: int, path: str) -> Tweet:
    head = _TWEET_HEAD.match(text)
    end = text.rfind("</p>")
    tail = _TWEET_TAIL.fullmatch(text, end + 4) if head and end >= head.end() else None
    if head is None or tail is None:
        raise ParseError(path, line, _TWEET_FORM)
    month_name, day_text, year_text = tail["posted"].replace(",", "").split()
    month = _MONTHS.get(month_name)
    try:
        if month is None:
            raise ValueError(month_name)
        posted = dt.date(int(year_text), month, int(day_text))
    except ValueError:
        raise ParseError(path, line, f"tweet date {tail['posted']!r} does not exist") from None
    return Tweet(
        url=f"https://twitter.com/{tail['url_handle']}/status/{tail['status']}",
        author=collapse(unescape(tail["author"])),
        handle=tail["handle"],
        posted=posted,
        lang=head["lang"],
        text=tweet_text(text[head.end() : end]),
    )
