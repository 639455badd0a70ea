"""The offline sandbox: `hotpapers sandbox`, end to end, and its console parser."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.console import InputError, Invocation, parse_command, parse_partial
from bot.sandbox.transcript import display_width, message_lines, plain

RUN_TIMEOUT = 60
CHANNEL_POST = "── #papers ──"

PERCEIVER_TITLE = "Perceiver: General Perception with Iterative Attention"
PERCEIVER_HOT = "2021-03-05 · #3 · 857 retweets · 251 favorites"

# The cs.CV papers of the bundled posts in rank order (a paper matches when any of its
# categories is cs.CV), read off bot/samples/*.md, with their rank in the post: the top 6, so
# both top:3 and top:5 digests can be checked for what they hold and what they leave out.
CS_CV = {
    "2021-03-15": [
        ("2103.06902", "HumanGAN: A Generative Model of Humans Images"),  # 1
        ("2103.07461", "Probabilistic two-stage detection"),  # 2
        (
            "2103.07292",  # 4 (3 is cs.LG, cs.CY, stat.AP, stat.ML)
            "VDSM: Unsupervised Video Disentanglement with State-Space Modeling and Deep "
            "Mixtures of Experts",
        ),
        ("2103.07013", "Large Batch Simulation for Deep Reinforcement Learning"),  # 5
        (
            "2103.07153",  # 6
            "Neural Reprojection Error: Merging Feature Learning and Camera Pose Estimation",
        ),
        (
            "2103.07055",  # 8
            "Vision Transformer for COVID-19 CXR Diagnosis using Chest X-ray Feature Corpus",
        ),
    ],
    "2021-03-24": [
        ("2103.12352", "iMAP: Implicit Mapping and Positioning in Real-Time"),  # 1
        ("2103.12731", "Scaling Local Self-Attention For Parameter Efficient Visual Backbones"),
        ("2103.12718", "Self-Supervised Pretraining Improves Self-Supervised Pretraining"),  # 4
        (
            "2103.12091",  # 5
            "Transformers Solve the Limited Receptive Field for Monocular Depth Prediction",
        ),
        ("2103.12115", "End-to-End Trainable Multi-Instance Pose Estimation with Transformers"),
        ("2103.12710", "Spatial Intention Maps for Multi-Agent Mobile Manipulation"),  # 7
    ],
}


def run_sandbox(
    tmp_path: Path, stdin: str, *args: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "HOTPAPERS_DB")}
    env["PYTHONWARNINGS"] = "default::ResourceWarning"  # show unclosed sessions and sockets
    env.update(environ or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--publish-every", "1", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def channel_posts(stdout: str) -> dict[str, str]:
    """The digests printed as posted to #papers, by day (a digest may span messages)."""
    posts: dict[str, str] = {}
    day: str | None = None
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith(CHANNEL_POST):
            continue
        found = re.search(r"\d{4}-\d{2}-\d{2}", line)
        day = found[0] if found else day  # a continuation message has no header
        assert day is not None, f"a channel post without a day: {line!r}"
        block = [line]
        for following in lines[index + 1 :]:
            if following.startswith(("── ", "> ", "[sandbox]", "error:")):
                break
            block.append(following)
        posts[day] = posts.get(day, "") + "\n".join(block) + "\n"
    return posts


def assert_clean_exit(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for bad in ("Traceback", "Unclosed", "Warning", "ERROR", "Exception"):
        assert bad not in result.stderr, result.stderr[-3000:]


def assert_digest(posts: dict[str, str], day: str, top: int) -> None:
    """The digest of `day` holds exactly the top `top` cs.CV papers, in rank order."""
    text = posts[day]
    expected = CS_CV[day]
    sent = sorted(set(re.findall(r"arxiv\.org/abs/(\d{4}\.\d{5})", text)))
    assert sent == sorted(arxiv_id for arxiv_id, _ in expected[:top]), text
    positions = [text.index(title) for _, title in expected[:top]]
    assert positions == sorted(positions), f"not in rank order:\n{text}"
    for _, title in expected[top:]:
        assert title not in text


def test_piped_commands_then_the_later_days_digests(tmp_path: Path) -> None:
    result = run_sandbox(tmp_path, "/subscribe cs.CV\n/paper 2103.03206\n/settings top:3\n")
    assert_clean_exit(result)
    out = result.stdout
    assert "Subscribed #papers to cs.CV" in out
    assert PERCEIVER_TITLE in out
    assert PERCEIVER_HOT in out
    posts = channel_posts(out)
    # Subscribed after 2021-03-05 was published: that day is not posted, the next two are.
    assert sorted(posts) == ["2021-03-15", "2021-03-24"], out
    assert_digest(posts, "2021-03-15", top=3)
    assert_digest(posts, "2021-03-24", top=3)
    # Piped commands run in order, each answered before the next, before the days arrive.
    order = [out.index(s) for s in ("> /subscribe", "> /paper", "> /settings", CHANNEL_POST)]
    assert order == sorted(order)
    assert list(tmp_path.iterdir()) == []  # the temporary database was not left behind


def test_a_list_is_paged_and_opened_at_the_console(tmp_path: Path) -> None:
    result = run_sandbox(tmp_path, "/search learning\npage next\nopen 7\nopen 99\npage back\n")
    assert_clean_exit(result)
    out = result.stdout
    # Only 2021-03-05 is published while the commands run: 11 of its papers match.
    pages = [out.index(f"— Page {n} of 3 · 11 papers") for n in (1, 2)]
    card = out.index("│ https://arxiv.org/abs/2103.03170")  # the 7th, on page 2
    assert pages[0] < pages[1] < card
    assert "▾ Open a paper's card (5 options)\n(◀ Previous)   [Next ▶]" in out
    assert "│ Related in the archive:" in out[card:]
    assert "error: the latest list has no paper 99 on its page" in out
    assert out.count("— Page 1 of 3 · 11 papers") == 2  # and back


DEMO = ("> /subscribe cs.CV", "> /paper 2103.03206", "> /digest", "> /settings top:5")


def test_the_demo_only_when_asked(tmp_path: Path) -> None:
    result = run_sandbox(tmp_path, "", "--demo")
    assert_clean_exit(result)
    out = result.stdout
    order = [out.index(command) for command in DEMO]
    assert order == sorted(order)
    assert PERCEIVER_HOT in out
    # /digest previews the latest day, 2021-03-05 (8 cs.CV papers), for the asker only.
    assert "Anycost GANs for Interactive Image Synthesis and Editing" in out
    assert "(only you can see this)" in out
    posts = channel_posts(out)
    assert sorted(posts) == ["2021-03-15", "2021-03-24"]
    assert_digest(posts, "2021-03-15", top=5)
    assert_digest(posts, "2021-03-24", top=5)
    assert "every sample day is published" in out


def test_nothing_on_stdin_publishes_the_days_and_ends(tmp_path: Path) -> None:
    result = run_sandbox(tmp_path, "")
    assert_clean_exit(result)
    out = result.stdout
    assert not any(command in out for command in DEMO)
    assert "No terminal: running the commands on stdin, then publishing the other days" in out
    for later in ("2021-03-15", "2021-03-24"):
        assert f"[sandbox] published Hot Papers {later}" in out
    assert channel_posts(out) == {}  # nobody subscribed
    assert out.splitlines()[-1] == (
        "[sandbox] every sample day is published and its digests delivered; bye"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_demo_then_the_piped_commands(tmp_path: Path) -> None:
    result = run_sandbox(tmp_path, "/settings top:3\n", "--demo")
    assert_clean_exit(result)
    out = result.stdout
    order = [out.index(command) for command in (*DEMO, "> /settings top:3")]
    assert order == sorted(order)
    posts = channel_posts(out)
    assert_digest(posts, "2021-03-15", top=3)
    assert_digest(posts, "2021-03-24", top=3)


def test_bad_input_is_reported_and_the_console_carries_on(tmp_path: Path) -> None:
    stdin = "/nope\n/settings tops:3\n/paper\n/settings top:99\n/subscribe cs.CV\nquit\n/digest\n"
    result = run_sandbox(tmp_path, stdin)
    assert_clean_exit(result)
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: unknown command /nope; type help",
        "error: /settings has no option tops: (did you mean top:?)",
        "error: /paper needs id (e.g. /paper id:…)",
        "error: option top: must be 1 to 25, got 99",
    ]
    assert "Subscribed #papers to cs.CV" in result.stdout
    assert "> /digest" not in result.stdout  # quit stops at once
    assert CHANNEL_POST not in result.stdout


def test_live_builds_a_day_from_bluesky_and_its_digest_arrives(tmp_path: Path) -> None:
    result = run_sandbox(tmp_path, "/subscribe cs.CV\n", "--live", "--closes-in", "5")
    assert_clean_exit(result)
    out = result.stdout
    assert "The day closes in 5 s" in out
    posts = channel_posts(out)
    [(day, text)] = posts.items()
    assert f"Hot Papers {day} · top 10 of 21 papers matching cs.CV (29 that day)" in text
    titles = re.findall(r"^│ (#\d+ · .*)$", text, re.MULTILINE)
    assert len(titles) == 10
    ranks = [int(t[1 : t.index(" ")]) for t in titles]
    assert ranks == sorted(ranks)
    # iMAP has the most likes; the deleted post (5,000 likes) and the feed never count.
    assert titles[0] == "#1 · iMAP: Implicit Mapping and Positioning in Real-Time"
    assert "arxiv-firehose" not in text
    order = [
        out.index(s)
        for s in (
            "> /subscribe cs.CV",
            f"[sandbox] Hot Papers {day} has closed",
            CHANNEL_POST,
            f"[sandbox] Hot Papers {day} is built and its digests delivered; bye",
        )
    ]
    assert order == sorted(order)
    assert list(tmp_path.iterdir()) == []


def test_a_persistent_database_with_db(tmp_path: Path) -> None:
    database = tmp_path / "kept.sqlite3"
    first = run_sandbox(tmp_path, "/subscribe cs.CV\n", "--db", str(database))
    assert_clean_exit(first)
    assert sorted(channel_posts(first.stdout)) == ["2021-03-15", "2021-03-24"]
    # The same archive again: the subscription is kept and nothing is posted twice.
    second = run_sandbox(tmp_path, "/subscriptions\n", "--db", str(database))
    assert_clean_exit(second)
    assert "cs.CV — Computer Vision" in second.stdout
    assert channel_posts(second.stdout) == {}


def test_never_the_configured_database(tmp_path: Path) -> None:
    """The sandbox's Discord knows none of the real channels: on the archive of the config or
    HOTPAPERS_DB it would drop their subscriptions. Only an explicit --db is used."""
    configured = tmp_path / "production.sqlite3"
    from_environ = tmp_path / "from-environ.sqlite3"
    for existing in (configured, from_environ):
        with contextlib.closing(sqlite3.connect(existing)) as db, db:
            db.execute("CREATE TABLE kept (value TEXT)")
    before = {p.name: p.read_bytes() for p in (configured, from_environ)}
    config = tmp_path / "hotpapers.toml"
    config.write_text(f'[database]\npath = "{configured}"\n', encoding="utf-8")
    result = run_sandbox(
        tmp_path,
        "/subscriptions\n",
        "--config",
        str(config),
        environ={"HOTPAPERS_DB": str(from_environ), "DISCORD_TOKEN": ""},
    )
    assert_clean_exit(result)
    assert "Database: temporary (give --db PATH to keep one)" in result.stdout
    assert "no subscriptions" in result.stdout
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.sqlite3*")} == before


# ---------------------------------------------------------------------------------------------
# The console's parser, against definitions shaped like the ones the bot syncs
# ---------------------------------------------------------------------------------------------

STRING, INTEGER, BOOLEAN = 3, 4, 5
COMMANDS: dict[str, dict[str, Any]] = {
    "paper": {
        "name": "paper",
        "options": [{"name": "id", "type": STRING, "required": True, "autocomplete": True}],
    },
    "subscribe": {
        "name": "subscribe",
        "options": [{"name": "category", "type": STRING, "required": True}],
    },
    "digest": {"name": "digest", "options": [{"name": "date", "type": STRING}]},
    "subscriptions": {"name": "subscriptions", "options": []},
    "settings": {
        "name": "settings",
        "options": [
            {"name": "time", "type": STRING},
            {"name": "timezone", "type": STRING, "autocomplete": True},
            {"name": "top", "type": INTEGER, "min_value": 1, "max_value": 25},
            {"name": "min_score", "type": INTEGER, "min_value": 0},
            {"name": "paused", "type": BOOLEAN},
        ],
    },
    "sort": {
        "name": "sort",
        "options": [
            {
                "name": "by",
                "type": STRING,
                "choices": [{"name": "Score", "value": "score"}, {"name": "Rank", "value": "rank"}],
            }
        ],
    },
}


@pytest.mark.parametrize(
    ("line", "command", "options"),
    [
        ("/subscribe cs.CV", "subscribe", {"category": "cs.CV"}),
        ("/subscribe category:cs.CV", "subscribe", {"category": "cs.CV"}),
        ("subscribe cs.CV, cs.LG", "subscribe", {"category": "cs.CV, cs.LG"}),
        ("/paper 2103.03206", "paper", {"id": "2103.03206"}),
        ("/paper arXiv:2103.03206", "paper", {"id": "arXiv:2103.03206"}),
        (
            "/paper https://arxiv.org/abs/2103.03206",
            "paper",
            {"id": "https://arxiv.org/abs/2103.03206"},
        ),
        ("/digest", "digest", {}),
        ("/digest 2021-03-15", "digest", {"date": "2021-03-15"}),
        ("  /Digest   date:2021-03-15  ", "digest", {"date": "2021-03-15"}),
        ("/settings top:5", "settings", {"top": 5}),
        (
            "/settings time:08:30 timezone:Europe/Paris",
            "settings",
            {"time": "08:30", "timezone": "Europe/Paris"},
        ),
        ("/settings 08:30 top:3", "settings", {"time": "08:30", "top": 3}),
        ("/settings time: 08:30", "settings", {"time": "08:30"}),
        ("/settings paused:true min_score:0", "settings", {"paused": True, "min_score": 0}),
        ("/settings paused:No", "settings", {"paused": False}),
        (
            "/settings timezone:America/Argentina/Buenos_Aires",
            "settings",
            {"timezone": "America/Argentina/Buenos_Aires"},
        ),
        ("/subscriptions", "subscriptions", {}),
        ("/sort by:Rank", "sort", {"by": "rank"}),
        ("/sort score", "sort", {"by": "score"}),
    ],
)
def test_parse_command(line: str, command: str, options: dict[str, Any]) -> None:
    assert parse_command(line, COMMANDS) == Invocation(command, options)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("", "empty command; type help for the list"),
        ("/", "empty command; type help for the list"),
        ("/papr 2103.03206", "unknown command /papr (did you mean /paper?); type help"),
        ("/hello", "unknown command /hello; type help"),
        ("/paper", "/paper needs id (e.g. /paper id:…)"),
        ("/subscribe", "/subscribe needs category (e.g. /subscribe category:…)"),
        ("/subscriptions now", "/subscriptions takes no options"),
        ("/settings tops:5", "/settings has no option tops: (did you mean top:?)"),
        ("/settings top:5 top:6", "option top: given twice"),
        ("/settings 08:30 time:09:00", "option time: given twice"),
        ("/settings top:", "option top: needs a value"),
        ("/settings top:five", "option top: expected a whole number, got 'five'"),
        ("/settings top:2.5", "option top: expected a whole number, got '2.5'"),
        ("/settings top:0", "option top: must be 1 to 25, got 0"),
        ("/settings top:26", "option top: must be 1 to 25, got 26"),
        ("/settings min_score:-1", "option min_score: must be at least 0, got -1"),
        ("/settings paused:maybe", "option paused: expected true or false, got 'maybe'"),
        ("/sort by:size", "option by: 'size' is not one of Score, Rank"),
    ],
)
def test_parse_command_errors(line: str, error: str) -> None:
    with pytest.raises(InputError) as info:
        parse_command(line, COMMANDS)
    assert str(info.value) == error


def test_parse_partial_for_autocomplete() -> None:
    assert parse_partial("/paper perceiver", COMMANDS) == (
        Invocation("paper", {"id": "perceiver"}),
        "id",
    )
    assert parse_partial("/settings top:3 timezone:eur", COMMANDS) == (
        Invocation("settings", {"top": 3, "timezone": "eur"}),
        "timezone",
    )
    assert parse_partial("/digest ", COMMANDS) == (Invocation("digest", {"date": ""}), "date")
    with pytest.raises(InputError, match="takes no options"):
        parse_partial("/subscriptions", COMMANDS)


# ---------------------------------------------------------------------------------------------
# Messages as text
# ---------------------------------------------------------------------------------------------


def test_message_lines() -> None:
    message = {
        "content": "Subscribed <#1001> to **cs.CV**.",
        "flags": 64,
        "embeds": [
            {
                "title": "A \\*starred\\* title",
                "url": "https://arxiv.org/abs/2103.03206",
                "description": "First line\n\n[Open tweet](https://twitter.com/x/status/1)",
                "fields": [
                    {"name": "Hot on", "value": "2021-03-05 · #3"},
                    {"name": "Tweets", "value": "one\ntwo"},
                ],
                "footer": {"text": "arXiv:2103.03206"},
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 5, "label": "PDF", "url": "https://arxiv.org/pdf/1"},
                    {"type": 2, "style": 5, "label": "abs", "url": "https://arxiv.org/abs/1"},
                ],
            },
            {"type": 1, "components": [{"type": 3, "custom_id": "m", "options": [{}]}]},
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": "Back", "custom_id": "b", "disabled": True},
                    {"type": 2, "style": 2, "label": "On", "custom_id": "n"},
                ],
            },
        ],
    }
    names = {1001: "papers"}
    assert message_lines(message, channel_name=names.get) == [
        "Subscribed #papers to cs.CV.",
        "│ A *starred* title",
        "│ https://arxiv.org/abs/2103.03206",
        "│ First line",
        "│",
        "│ Open tweet <https://twitter.com/x/status/1>",
        "│",
        "│ Hot on: 2021-03-05 · #3",
        "│",
        "│ Tweets:",
        "│   one",
        "│   two",
        "│ — arXiv:2103.03206",
        "[PDF] https://arxiv.org/pdf/1   [abs] https://arxiv.org/abs/1",
        "▾ menu (1 option)",
        "(Back)   [On]",
        "(only you can see this)",
    ]
    header = message_lines({"content": "Hot Papers 2021-03-15"}, header="── #papers ──")
    assert header == ["── #papers ── Hot Papers 2021-03-15"]


def test_plain_timestamps() -> None:
    now = dt.datetime(2021, 3, 15, 9, 0, tzinfo=dt.UTC)
    later = int((now + dt.timedelta(hours=3)).timestamp())
    assert plain(f"due <t:{later}:R>", now=now) == "due in 3 hours"
    earlier = int((now - dt.timedelta(minutes=5)).timestamp())
    assert plain(f"<t:{earlier}:R>", now=now) == "5 minutes ago"
    assert plain("<#42> \\_x\\_", channel_name=lambda _: None) == "#42 _x_"


def test_wrapping_counts_terminal_columns() -> None:
    tweet = (
        "隠れベクトルと生の信号をcross attentionすることで高次元データをそのまま扱える"
        "Transformer派生。画像、ビデオ、音声、ポイントクラウドなどを同じ構造で扱うことができる。"
    )
    url = "https://twitter.com/mosko_mule/status/1367673823739351048"
    message = {"embeds": [{"fields": [{"name": "ワクワクさん", "value": f"{tweet}\n{url}"}]}]}
    lines = message_lines(message, width=40)
    assert lines[0] == "│ ワクワクさん:"
    assert all(display_width(line) <= 40 for line in lines if url not in line), lines
    assert f"│   {url}" in lines  # a URL is never cut, even when longer than the line
    assert "".join(line.removeprefix("│   ") for line in lines[1:-1]) == tweet.replace(" ", "")


def test_follows_bring_a_channel_its_papers_and_alice_a_direct_message(tmp_path: Path) -> None:
    stdin = "/follow keyword:Transformers for:me\n/follow author:Vladlen Koltun\n"
    result = run_sandbox(tmp_path, stdin)
    assert_clean_exit(result)
    out = result.stdout
    assert "You now follow keyword 'Transformers'" in out
    assert "#papers now follows author Vladlen Koltun" in out
    # #papers follows only Vladlen Koltun: on 2021-03-15 his #2 and #5, on 2021-03-24 none.
    posts = channel_posts(out)
    assert sorted(posts) == ["2021-03-15"], out
    assert posts["2021-03-15"].startswith(
        "── #papers ── Hot Papers 2021-03-15 · 2 of 10 papers match what this channel follows"
    )
    assert re.findall(r"arxiv\.org/abs/(\S+)", posts["2021-03-15"]) == ["2103.07461", "2103.07013"]
    assert posts["2021-03-15"].count("— followed: author Vladlen Koltun") == 2
    # Alice follows "Transformers" herself: a word of no paper of 2021-03-15; on 2021-03-24 of
    # the titles of #5, #6, #9 and #14 ("CNN-transformers").
    [dm] = [line for line in out.splitlines() if line.startswith("── DM to Alice ──")]
    assert dm.startswith(
        "── DM to Alice ── Hot Papers 2021-03-24 · 4 of its 15 papers match what you follow."
    )
    sent = out[out.index(dm) :]
    assert re.findall(r"arxiv\.org/abs/(\S+)", sent) == [
        "2103.12091",
        "2103.12115",
        "2103.12236",
        "2103.12424",
    ]
