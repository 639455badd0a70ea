"""`hotpapers --help` and `hotpapers ingest` load only what they use: no Discord client,
templates, digests or scheduler, and tqdm only for a progress bar on a terminal."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.real_posts import REPO_ROOT

# Run in a new interpreter: which modules `hotpapers ARGS...` imported, and its exit code.
PROBE = """
import json, sys
from bot.cli import main
try:
    code = main(sys.argv[1:], environ={})
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
UNWANTED = (
    "discord",
    "jinja2",
    "tqdm",
    "apscheduler",
    "aiohttp",
    "bot.digest",
    "bot.render",
    "bot.bluesky",
)


def imported(*args: str | Path) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return result["code"], result["modules"]


def unwanted(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == u or m.startswith(f"{u}.") for u in UNWANTED)]


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"]], ids=" ".join)
def test_help_imports_no_asyncio_and_nothing_unwanted(args: list[str]) -> None:
    code, modules = imported(*args)
    assert code == 0
    assert unwanted(modules) == []
    assert "asyncio" not in modules
    assert "bot.store" not in modules


def test_ingest_imports_nothing_unwanted(tmp_path: Path) -> None:
    code, modules = imported("ingest", "--samples", "--db", tmp_path / "db.sqlite3")
    assert code == 0
    assert unwanted(modules) == []
    assert "bot.store.archive" in modules  # the probe saw a real ingest
    assert "bot.store.deliveries" not in modules


def test_the_probe_sees_what_other_commands_import(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    assert imported("ingest", "--samples", "--db", db)[0] == 0
    code, modules = imported("digest", "--date", "2021-03-05", "--categories", "cs", "--db", db)
    assert code == 0
    assert {"jinja2", "bot.digest", "bot.render"} <= set(unwanted(modules))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ingest_shows_progress_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["ingest", "--samples", "--db", str(tmp_path / "db.sqlite3")], environ={}) == 0
    assert "3/3" in terminal.getvalue()
    assert capsys.readouterr().out.startswith("posts: 3 new, 0 updated, 0 unchanged, 0 rejected")
