"""A real install: the wheel built from this checkout, in a new virtual environment.

The wheel is built from a copy of the sources (a build writes beside them), installed with
pip into a virtual environment in a temporary directory, and its `hotpapers` runs in a
directory outside the checkout, so nothing of the source tree can stand in for what the
wheel lacks. The build backend and the dependencies come from this project's environment
(`--no-build-isolation`, and a .pth file naming its site-packages): offline, in seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.support.real_posts import REPO_ROOT

TIMEOUT = 120
PIP = (sys.executable, "-m", "pip", "--quiet", "--no-input")
NO_CACHE = shutil.ignore_patterns("__pycache__", "*.pyc")
PERCEIVER_TITLE = "Perceiver: General Perception with Iterative Attention"
PERCEIVER_HOT = "2021-03-05 · #3 · 857 retweets · 251 favorites"
DIGEST = ("digest", "--date", "2021-03-05", "--categories", "cs.CV", "--json")


def run(
    command: list[str | Path], cwd: Path, stdin: int | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HOTPAPERS_DB", "DISCORD_TOKEN", "PYTHONPATH", "PYTHONHOME")
    }
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environ,
        stdin=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )


def checked(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must succeed without a traceback."""
    assert result.returncode == 0, f"{result.args}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    for name in ("bot", "templates"):  # bot/templates stays a link to templates/
        shutil.copytree(REPO_ROOT / name, source / name, symlinks=True, ignore=NO_CACHE)
    dist = tmp_path_factory.mktemp("dist")
    build = [*PIP, "wheel", "--no-index", "--no-deps", "--no-build-isolation", "-w", dist, source]
    checked(run(build, cwd=dist))
    [built] = dist.glob("hotpapers-*.whl")
    return built


@pytest.fixture(scope="module")
def hotpapers(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `hotpapers` script of a new virtual environment with only the wheel installed."""
    venv = tmp_path_factory.mktemp("venv")
    checked(run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=venv))
    python = venv / "bin" / "python"
    checked(run([*PIP, "--python", python, "install", "--no-index", "--no-deps", wheel], venv))
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(checked(run([python, "-c", where], cwd=venv)).strip())
    dependencies = sysconfig.get_paths()["purelib"]
    (site_packages / "dependencies.pth").write_text(f"{dependencies}\n", encoding="utf-8")
    return venv / "bin" / "hotpapers"


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory outside the checkout."""
    directory = tmp_path_factory.mktemp("elsewhere")
    assert not directory.resolve().is_relative_to(REPO_ROOT)
    return directory


def test_the_wheel_holds_every_module_and_bundled_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        packaged = {n for n in archive.namelist() if not n.startswith("hotpapers-")}
    package = REPO_ROOT / "bot"
    bundled = {
        *(p.relative_to(REPO_ROOT).as_posix() for p in package.rglob("*.py")),
        *(f"bot/samples/{p.name}" for p in (package / "samples").glob("*.md")),
        *(f"bot/store/migrations/{p.name}" for p in (package / "store/migrations").iterdir()),
        *(f"bot/templates/{p.name}" for p in (REPO_ROOT / "templates").iterdir()),
    }
    assert packaged == bundled
    assert "bot/templates/digest.j2" in packaged


def test_the_installed_commands_run_outside_the_checkout(hotpapers: Path, elsewhere: Path) -> None:
    venv = hotpapers.parent.parent
    where = "import bot.render; print(bot.render.BUNDLED_TEMPLATES)"
    templates = Path(checked(run([venv / "bin" / "python", "-c", where], elsewhere)).strip())
    assert templates.is_relative_to(venv)

    ingest = checked(run([hotpapers, "ingest", "--samples", "--db", "archive.sqlite3"], elsewhere))
    assert ingest.splitlines() == [
        "posts: 3 new, 0 updated, 0 unchanged, 0 rejected; papers: 38; tweets: 48",
        "archive: 3 days, 38 papers, 48 tweets in archive.sqlite3",
    ]

    paper = checked(run([hotpapers, "paper", "2103.03206", "--db", "archive.sqlite3"], elsewhere))
    assert paper.splitlines()[:2] == [
        PERCEIVER_TITLE,
        "arXiv:2103.03206 · cs.CV, cs.AI, cs.LG, cs.SD, eess.AS",
    ]

    digest = json.loads(checked(run([hotpapers, *DIGEST, "--db", "archive.sqlite3"], elsewhere)))
    assert len(digest) == 1
    assert digest[0]["content"] == "**Hot Papers 2021-03-05** · 8 of 13 papers match cs.CV"
    titles = [embed["title"] for embed in digest[0]["embeds"]]
    assert len(titles) == 8
    assert titles[:3] == [
        f"#3 · {PERCEIVER_TITLE}",
        "#4 · Improving Computational Efficiency in Visual Reinforcement Learning via Stored "
        "Embeddings",
        "#7 · Anycost GANs for Interactive Image Synthesis and Editing",
    ]
    # Byte for byte what the checkout renders from the same archive.
    archive = elsewhere / "archive.sqlite3"
    from_checkout = run([sys.executable, "-m", "bot", *DIGEST, "--db", archive], REPO_ROOT)
    assert digest == json.loads(checked(from_checkout))
    assert [p.name for p in elsewhere.iterdir()] == ["archive.sqlite3"]


def test_the_installed_sandbox_demo(hotpapers: Path, elsewhere: Path) -> None:
    command: list[str | Path] = [hotpapers, "sandbox", "--demo", "--publish-every", "0.5"]
    sandbox = run(command, elsewhere, stdin=subprocess.DEVNULL)
    out = checked(sandbox)
    assert sandbox.stderr == ""
    assert "> /paper 2103.03206" in out
    assert PERCEIVER_HOT in out
    posts = [line for line in out.splitlines() if line.startswith("── #papers ──")]
    assert posts == [
        "── #papers ── Hot Papers 2021-03-15 · top 5 of 7 papers matching cs.CV (10 that day)",
        "── #papers ── Hot Papers 2021-03-24 · top 5 of 10 papers matching cs.CV (15 that day)",
    ]
    assert out.splitlines()[-1] == (
        "[sandbox] every sample day is published and its digests delivered; bye"
    )
