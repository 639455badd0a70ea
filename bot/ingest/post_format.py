"""Day → Hot Papers post, in the layout of the script that wrote the Twitter-era posts
(HotPaperBlogWriter.save_markdown), so a site can publish the days as the original blog did;
and the embed markup of the posts shown under a paper, which `bot.ingest.parser` reads back.

A Twitter-era day is written as that script wrote it, tweets in Twitter's oEmbed markup. A
day built from Bluesky is tagged "Bluesky" instead of "Twitter", its counts line names
reposts and likes, and its posts are in embed.bsky.app's markup: on one line, text escaped
as embed.bsky.app escapes it, a newline as `<br>` (and a carriage return or NUL as a
character reference, which would otherwise break the post's lines), the time in UTC.

`parse_post(write_post(day)) == day` for every day the parser or the day builder makes, with
one exception: a post that listed a paper twice left its day's ranks with a gap, and the
post written for it numbers its papers 1, 2, 3... as every post must.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.models import WORDING, Day, Platform, RankedPaper, Tweet, bluesky_post_url

MONTHS = (
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
)
TWITTER_SCRIPT = (
    '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>'
)
BLUESKY_SCRIPT = (
    '<script async src="https://embed.bsky.app/static/embed.js" charset="utf-8"></script>'
)
BLUESKY_EMBED_START = '<blockquote class="bluesky-embed"'
BLUESKY_FORM = (
    'a Bluesky post is embedded on one line as \'<blockquote class="bluesky-embed" '
    'data-bluesky-uri="at://DID/app.bsky.feed.post/RKEY" data-bluesky-cid="CID" '
    'data-bluesky-embed-color-mode="system"><p lang="..">text</p>&mdash; Name '
    '(<a href="https://bsky.app/profile/DID?ref_src=embed">@handle</a>) '
    '<a href="https://bsky.app/profile/DID/post/RKEY?ref_src=embed">Month D, YYYY at H:MM AM'
    f"</a></blockquote>{BLUESKY_SCRIPT}', as `hotpapers post` writes it"
)
_RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "iw", "ur"})  # Twitter's dir="rtl" languages
# As embed.bsky.app escapes text (React's escape), plus the characters that would break the
# post's lines: every post shown is one line of the post.
_BLUESKY_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "\n": "<br>",
    "\r": "&#13;",
    "\x00": "&#0;",
}
_BLUESKY_UNESCAPES = {escaped: char for char, escaped in _BLUESKY_ESCAPES.items()}
_BLUESKY_SPECIAL = re.compile("[&<>\"'\n\r\x00]")
_BLUESKY_ESCAPED = re.compile("|".join(map(re.escape, _BLUESKY_UNESCAPES)))
# Twitter's oEmbed escapes `'` as &#39;; the parser reads its text with html.unescape.
_TWITTER_ESCAPES = {**_BLUESKY_ESCAPES, "'": "&#39;"}
_TWITTER_SPECIAL = re.compile("[&<>\"'\n\r]")
_HTML_SPECIAL = re.compile("[&<>\"']")
# The record a post embed names, as the collector's decoder accepts DIDs and record keys.
_POST_URI = re.compile(
    r"at://(?P<did>did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-])/app\.bsky\.feed\.post/"
    r"(?P<rkey>[A-Za-z0-9._:~-]{1,512})",
    re.ASCII,
)
# Every part of a Bluesky embed is escaped, so none holds `<`, `>` or `"` but in a `<br>`:
# each part ends where the markup says, and the pattern runs in linear time.
_TEXT = r"[^<>]*(?:<br>[^<>]*)*"
_VALUE = r'[^"<>]*(?:<br>[^"<>]*)*'
_BLUESKY_EMBED = re.compile(
    rf'<blockquote class="bluesky-embed" data-bluesky-uri="(?P<uri>{_VALUE})" '
    rf'data-bluesky-cid="(?P<cid>{_VALUE})" data-bluesky-embed-color-mode="system">'
    rf'<p lang="(?P<lang>{_VALUE})">(?P<text>{_TEXT})</p>&mdash; (?P<author>{_TEXT}) '
    rf'\(<a href="(?P<profile>{_VALUE})">@(?P<handle>{_TEXT})</a>\) '
    rf'<a href="(?P<href>{_VALUE})">(?P<posted>{_VALUE})</a></blockquote>'
    + re.escape(BLUESKY_SCRIPT)
)
_BLUESKY_TIME = re.compile(
    r"(?P<month>[A-Z][a-z]+) (?P<day>\d{1,2}), (?P<year>\d{4}) at "
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2}) (?P<half>AM|PM)"
)


class EmbedError(ValueError):
    """A post's embed that cannot be written or read; says why."""


def write_post(day: Day) -> str:
    """The day as a Hot Papers post (Markdown with YAML front matter)."""
    published = day.published_at.astimezone(dt.UTC)
    fraction = f"{published.microsecond:06d}" if published.microsecond else ""
    date = day.date.isoformat()
    parts = [
        "---\n"
        f"title: Hot Papers {date}\n"
        f"date: {_iso_date(published)}T{published:%H:%M:%S}.{fraction}Z\n"
        'template: "post"\n'
        "draft: false\n"
        f'slug: "hot-papers-{date}"\n'
        'category: "arXiv"\n'
        "tags:\n"
        '  - "arXiv"\n'
        f'  - "{WORDING[day.platform].site}"\n'
        '  - "Machine Learning"\n'
        '  - "Computer Science"\n'
        f'description: "Hot papers {date}"\n'
        'socialImage: "/media/flying-marine.jpg"\n'
        "\n"
        "---\n"
    ]
    counted = f"{published:%m/%d}/{published.year:04d} {published:%H:%M:%S}"
    for number, ranked in enumerate(day.papers, start=1):
        parts.append(_paper(number, ranked, day.platform, counted))
    return "".join(parts)


def _iso_date(moment: dt.datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def _paper(number: int, ranked: RankedPaper, platform: Platform, counted: str) -> str:
    paper, seen = ranked.paper, ranked.appearance
    shared, liked = count_names(platform)
    links = f"- links: [abs]({paper.abs_url})"
    if paper.pdf_url is not None:
        links += f" | [pdf]({paper.pdf_url})"
    categories = " | ".join(
        f"[{code}](https://arxiv.org/list/{code}/recent)" for code in paper.categories
    )
    embeds = "".join(f"{embed(tweet)}\n\n" for tweet in ranked.tweets)
    return (
        f"\n# {number}. {paper.title}\n\n"
        f"{', '.join(paper.authors)}\n\n"
        f"- {shared}: {seen.retweets}, {liked}: {seen.favorites} ({counted})\n\n"
        f"{links}\n"
        f"- {categories}\n\n"
        f"{paper.abstract}\n\n"
        f"{embeds}\n\n"
    )


def count_names(platform: Platform) -> tuple[str, str]:
    """What a day's counts line calls its two numbers: ("retweets", "favorites") or
    ("reposts", "likes")."""
    words = WORDING[platform]
    return f"{words.shared}s", f"{words.liked}s"


def embed(tweet: Tweet) -> str:
    """A post's embed: Twitter's oEmbed markup for a tweet, embed.bsky.app's for a Bluesky
    post. Raises EmbedError for a Bluesky post without what its embed needs."""
    return bluesky_embed(tweet) if tweet.platform == "bluesky" else twitter_embed(tweet)


def twitter_embed(tweet: Tweet) -> str:
    """The oEmbed blockquote and script lines of a tweet, as the Twitter-era posts have them."""
    direction = "rtl" if tweet.lang in _RIGHT_TO_LEFT else "ltr"
    text = _TWITTER_SPECIAL.sub(lambda m: _TWITTER_ESCAPES[m[0]], tweet.text)
    author = _HTML_SPECIAL.sub(lambda m: _TWITTER_ESCAPES[m[0]], tweet.author)
    posted = tweet.posted
    return (
        f'<blockquote class="twitter-tweet"><p lang="{tweet.lang}" dir="{direction}">{text}</p>'
        f"&mdash; {author} (@{tweet.handle}) "
        f'<a href="{tweet.url}?ref_src=twsrc%5Etfw">'
        f"{MONTHS[posted.month - 1]} {posted.day}, {posted.year}</a></blockquote>\n"
        f"{TWITTER_SCRIPT}"
    )


def bluesky_embed(post: Tweet) -> str:
    """A Bluesky post's embed, one line, as embed.bsky.app writes it (its time in UTC)."""
    uri = _POST_URI.fullmatch(post.uri or "")
    if uri is None or post.cid is None or post.posted_at is None:
        raise EmbedError(
            f"Bluesky post {post.url} cannot be embedded: it needs its record's at-URI, CID and "
            f"time, and has {post.uri!r}, {post.cid!r} and {post.posted_at!r}"
        )
    did, rkey = uri["did"], uri["rkey"]
    return (
        f'<blockquote class="bluesky-embed" data-bluesky-uri="{_escape(uri[0])}" '
        f'data-bluesky-cid="{_escape(post.cid)}" data-bluesky-embed-color-mode="system">'
        f'<p lang="{_escape(post.lang)}">{_escape(post.text)}</p>&mdash; '
        f'{_escape(post.author)} (<a href="{_escape(_profile_link(did))}">'
        f"@{_escape(post.handle)}</a>) "
        f'<a href="{_escape(_post_link(did, rkey))}">{_bluesky_time(post.posted_at)}</a>'
        f"</blockquote>{BLUESKY_SCRIPT}"
    )


def read_bluesky_embed(line: str) -> Tweet:
    """The Bluesky post of an embed `bluesky_embed` wrote; raises EmbedError for anything
    else, saying what is wrong."""
    found = _BLUESKY_EMBED.fullmatch(line)
    if found is None:
        raise EmbedError(BLUESKY_FORM)
    uri = _POST_URI.fullmatch(_unescape(found["uri"]))
    if uri is None:
        raise EmbedError(
            f"Bluesky post's data-bluesky-uri {found['uri'][:120]!r} is not a post's at-URI "
            "like at://did:plc:abc/app.bsky.feed.post/3kabc"
        )
    did, rkey = uri["did"], uri["rkey"]
    for name, link, expected in (
        ("profile", found["profile"], _profile_link(did)),
        ("post", found["href"], _post_link(did, rkey)),
    ):
        if _unescape(link) != expected:
            raise EmbedError(
                f"Bluesky post's {name} link {link[:120]!r} is not {expected!r}, the link its "
                "at-URI makes"
            )
    posted_at = _read_bluesky_time(found["posted"])
    handle = _unescape(found["handle"])
    post = Tweet(
        url=bluesky_post_url(did, handle, rkey),
        author=_unescape(found["author"]),
        handle=handle,
        posted=posted_at.date(),
        lang=_unescape(found["lang"]),
        text=_unescape(found["text"]),
        platform="bluesky",
        uri=uri[0],
        cid=_unescape(found["cid"]),
        posted_at=posted_at,
    )
    if bluesky_embed(post) != line:
        # Markup `hotpapers post` never writes: other escapes, raw quotes, a second space.
        raise EmbedError(f"Bluesky post is escaped otherwise than {BLUESKY_FORM}")
    return post


def _escape(text: str) -> str:
    return _BLUESKY_SPECIAL.sub(lambda m: _BLUESKY_ESCAPES[m[0]], text)


def _unescape(text: str) -> str:
    return _BLUESKY_ESCAPED.sub(lambda m: _BLUESKY_UNESCAPES[m[0]], text)


def _profile_link(did: str) -> str:
    return f"https://bsky.app/profile/{did}?ref_src=embed"


def _post_link(did: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{did}/post/{rkey}?ref_src=embed"


def _bluesky_time(moment: dt.datetime) -> str:
    """`November 25, 2024 at 12:58 AM`, in UTC."""
    utc = moment.astimezone(dt.UTC)
    hour = utc.hour % 12 or 12
    half = "AM" if utc.hour < 12 else "PM"
    return f"{MONTHS[utc.month - 1]} {utc.day}, {utc.year} at {hour}:{utc.minute:02d} {half}"


def _read_bluesky_time(text: str) -> dt.datetime:
    found = _BLUESKY_TIME.fullmatch(text)
    if found is None:
        raise EmbedError(
            f"Bluesky post's time {text[:80]!r} is not of the form 'November 25, 2024 at 12:58 AM'"
        )
    try:
        month = MONTHS.index(found["month"]) + 1
        hour = int(found["hour"])
        if not 1 <= hour <= 12:
            raise ValueError(hour)
        return dt.datetime(
            int(found["year"]),
            month,
            int(found["day"]),
            hour % 12 + (12 if found["half"] == "PM" else 0),
            int(found["minute"]),
            tzinfo=dt.UTC,
        )
    except ValueError:
        raise EmbedError(f"Bluesky post's time {text!r} does not exist") from None
