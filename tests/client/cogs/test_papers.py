"""/paper: a paper's card for every form of id, its autocomplete, and hostile or oversized posts
shown safely, through the real discord.py client and the local Discord."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest.parser import parse_post
from tests.support.commands import (
    ELLIPSIS,
    EPHEMERAL,
    PERCEIVER,
    PERCEIVER_ABS,
    PERCEIVER_AUTHORS,
    PERCEIVER_PDF,
    PERCEIVER_TITLE,
    PERCEIVER_TWEET,
    assert_fits_discord,
    choices,
    command,
    edited_perceiver_post,
    field_named,
    link_buttons,
    notice,
    only_embed,
    strings,
)
from tests.support.fake_discord import (
    PAPERS_CHANNEL_ID,
    FakeDiscord,
)
from tests.support.harness import running_bot
from tests.support.posts import SAMPLE_POSTS

# ---------------------------------------------------------------------------------------------
# /paper
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "2103.03206",
        "2103.03206v2",
        "arXiv:2103.03206",
        "https://arxiv.org/abs/2103.03206v1",
        "https://arxiv.org/pdf/2103.03206.pdf",
    ],
)
async def test_paper_shows_the_card_for_every_id_form(
    fake_discord: FakeDiscord, tmp_path: Path, typed: str
) -> None:
    async with running_bot(fake_discord, tmp_path):
        handle, reply = await command(fake_discord, "paper", {"id": typed})
    assert handle.callback_type == 4
    assert not handle.ephemeral
    assert int(reply.get("flags", 0)) & EPHEMERAL == 0
    assert reply["channel_id"] == str(PAPERS_CHANNEL_ID)
    assert handle.callback is not None
    assert handle.callback["data"]["allowed_mentions"] == {"parse": []}

    embed = only_embed(reply)
    assert embed["title"] == PERCEIVER_TITLE
    assert embed["url"] == PERCEIVER_ABS
    description = embed["description"]
    assert ", ".join(PERCEIVER_AUTHORS[:5]) + " and 1 more (6 authors)" in description
    assert "**Categories:** cs.CV, cs.AI, cs.LG, cs.SD, eess.AS" in description
    assert "Biological systems understand the world" in description
    assert embed["footer"]["text"] == "arXiv:2103.03206 · primary cs.CV"
    assert field_named(embed, "Hot on")["value"] == (
        "2021-03-05 · #3 · 857 retweets · 251 favorites"
    )
    tweet_names = [f["name"] for f in embed["fields"][1:-1]]
    assert tweet_names == [
        "Aran Komatsuzaki (@arankomatsuzaki) · 2021-03-05",
        "ワクワクさん（ミジンコ） (@mosko\\_mule) · 2021-03-05",  # noqa: RUF001 (the real name)
        "AK (@ak92501) · 2021-03-05",
    ]
    # Papers of the archive sharing the Perceiver's distinctive words, linked.
    assert embed["fields"][-1] == {
        "name": "Related in the archive",
        "value": "[Enhanced 3D Human Pose Estimation from Videos by using Attention-Based"
        " Neural Network with Dilated Convolutions](https://arxiv.org/abs/2103.03170)\n"
        "[Self-supervised Geometric Perception](https://arxiv.org/abs/2103.03114)\n"
        "[VDSM: Unsupervised Video Disentanglement with State-Space Modeling and Deep Mixtures"
        " of Experts](https://arxiv.org/abs/2103.07292)",
        "inline": False,
    }
    first_tweet = embed["fields"][1]["value"]
    assert first_tweet.startswith("Perceiver: General Perception with Iterative Attention\n")
    assert f"[Open tweet]({PERCEIVER_TWEET})" in first_tweet
    assert link_buttons(reply) == [("arXiv abstract", PERCEIVER_ABS), ("PDF", PERCEIVER_PDF)]
    assert_fits_discord(embed)


async def test_paper_unknown_to_the_archive(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        text = await notice(fake_discord, "paper", {"id": "2103.99999"})
    assert "2103.99999 is not in the archive" in text
    assert "https://arxiv.org/abs/2103.99999" in text


async def test_paper_with_a_malformed_id(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        text = await notice(fake_discord, "paper", {"id": "banana"})
        month = await notice(fake_discord, "paper", {"id": "2113.03206"})
    forms = (
        "Use a form like 2103.03206, 2103.03206v2, arXiv:2103.03206, hep-th/9901001 or"
        " https://arxiv.org/abs/2103.03206."
    )
    assert text == f"`banana` is not an arXiv id: unrecognised format. {forms}"
    assert month == f"`2113.03206` is not an arXiv id: month 13 does not exist. {forms}"


async def test_paper_in_a_direct_message(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        handle, reply = await command(fake_discord, "paper", {"id": PERCEIVER}, dm=True)
    assert handle.guild_id is None
    assert "guild_id" not in reply
    assert not handle.ephemeral
    embed = only_embed(reply)
    assert embed["title"] == PERCEIVER_TITLE
    assert field_named(embed, "Hot on")["value"] == (
        "2021-03-05 · #3 · 857 retweets · 251 favorites"
    )
    assert link_buttons(reply) == [("arXiv abstract", PERCEIVER_ABS), ("PDF", PERCEIVER_PDF)]


async def test_paper_autocomplete(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    days = [parse_post(p.read_bytes(), str(p)) for p in reversed(SAMPLE_POSTS)]
    newest_first = list(dict.fromkeys(p.paper.arxiv_id for d in days for p in d.papers))
    async with running_bot(fake_discord, tmp_path):
        by_prefix = await choices(fake_discord, "paper", "id", "2103.03")
        by_word = await choices(fake_discord, "paper", "id", "perceiver")
        recent = await choices(fake_discord, "paper", "id", "")
        by_url = await choices(fake_discord, "paper", "id", "https://arxiv.org/abs/2103.03206v2")
    assert by_prefix
    assert PERCEIVER in [c["value"] for c in by_prefix]
    for choice in by_prefix:
        assert choice["value"].startswith("2103.03"), choice
        assert choice["name"].startswith(choice["value"] + " — "), choice
    assert by_word[0] == {"name": f"{PERCEIVER} — {PERCEIVER_TITLE}", "value": PERCEIVER}
    # Empty input: the most recent days' papers, best ranked first.
    assert len(days[0].papers) < 25
    assert [c["value"] for c in recent] == newest_first[:25]
    assert by_url[0]["value"] == PERCEIVER


# ---------------------------------------------------------------------------------------------
# hostile and oversized post content
# ---------------------------------------------------------------------------------------------

HOSTILE_TITLE = "@everyone <@123> <#456> **bold** [x](http://evil.example)"
# Tweets are HTML in the post: the parser unescapes entities into "@here <@&789>".
HOSTILE_TWEET_HTML = "Read this @here &lt;@&amp;789&gt; now"
PINGS = ("@everyone", "@here", "<@123>", "<@&789>", "<#456>")


async def test_paper_neutralises_mentions_and_markdown(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    post = edited_perceiver_post(tmp_path, title=HOSTILE_TITLE, first_tweet_html=HOSTILE_TWEET_HTML)
    async with running_bot(fake_discord, tmp_path, samples=False, posts=[post]) as bot:
        history = await bot.store.archive.paper(PERCEIVER)
        assert history is not None
        assert history.paper.title == HOSTILE_TITLE
        assert history.tweets[0].text == "Read this @here <@&789> now"
        handle, reply = await command(fake_discord, "paper", {"id": PERCEIVER})
        found = await choices(fake_discord, "paper", "id", "evil")
    assert handle.callback is not None
    body = handle.callback["data"]
    assert body["allowed_mentions"] == {"parse": []}
    for text in [*strings(body), *strings(reply)]:
        for ping in PINGS:
            assert ping not in text, (ping, text)
        assert "[x](http://evil.example)" not in text
        assert "**bold**" not in text
    embed = only_embed(reply)
    # Still readable: only invisible or backslash escapes were added.
    visible = embed["title"].replace("\u200b", "").replace("\\", "")
    assert visible == HOSTILE_TITLE
    tweet = embed["fields"][1]["value"].replace("\u200b", "")
    assert tweet.startswith("Read this @here <@&789> now\n")
    assert reply["mentions"] == []
    assert reply["mention_roles"] == []
    assert reply["mention_everyone"] is False
    assert [c["value"] for c in found] == [PERCEIVER]


LONG_TITLE = ("Perceiver " + "with ever more iterative cross attention layers " * 10)[:400].strip()
LONG_ABSTRACT = ("Perception with iterative attention. " * 300)[:9_999] + "."
MANY_AUTHORS = [f"Author Number{i:02d} Longsurname" for i in range(1, 81)]
LONG_TWEETS = [f"Tweet {n}: " + " ".join(f"perceiver{n}x{i}" for i in range(60)) for n in range(30)]


async def test_paper_with_oversized_content_fits_discord(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    assert len(LONG_TITLE) >= 390
    assert len(LONG_ABSTRACT) == 10_000
    assert all(len(t) > 400 for t in LONG_TWEETS)
    post = edited_perceiver_post(
        tmp_path,
        title=LONG_TITLE,
        authors=MANY_AUTHORS,
        abstract=LONG_ABSTRACT,
        tweets=LONG_TWEETS,
    )
    async with running_bot(fake_discord, tmp_path, samples=False, posts=[post]) as bot:
        history = await bot.store.archive.paper(PERCEIVER)
        assert history is not None
        assert (len(history.paper.authors), len(history.tweets)) == (80, 30)
        assert history.paper.abstract == LONG_ABSTRACT
        handle, reply = await command(fake_discord, "paper", {"id": PERCEIVER})
    create = fake_discord.find_requests("POST", "/interactions/{id}/{token}/callback")
    assert [r.status // 100 for r in create] == [2]
    assert create[0].problems == []
    assert not handle.ephemeral
    embed = only_embed(reply)
    assert_fits_discord(embed)
    assert embed["title"].endswith(ELLIPSIS)
    assert LONG_TITLE.startswith(embed["title"][:-1].rstrip())
    assert embed["description"].endswith(ELLIPSIS)
    assert "and 75 more (80 authors)" in embed["description"]
    assert ", ".join(MANY_AUTHORS[:5]) in embed["description"]
    assert "Author Number06" not in embed["description"]
    names = [f["name"] for f in embed["fields"]]
    assert names[0] == "Hot on"
    assert names[-2:] == ["More tweets", "Related in the archive"]
    tweets = embed["fields"][1:-2]
    assert len(tweets) == 5
    for number, item in enumerate(tweets):
        text, link = item["value"].rsplit("\n", 1)
        assert text.startswith(f"Tweet {number}: ")
        assert text.endswith(ELLIPSIS)
        assert link.startswith("[Open tweet](https://twitter.com/arankomatsuzaki/status/")
    assert embed["fields"][-2]["value"] == "and 25 more tweets"
    assert field_named(embed, "Hot on")["value"] == (
        "2021-03-05 · #3 · 857 retweets · 251 favorites"
    )
