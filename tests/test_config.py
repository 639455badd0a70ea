"""Configuration: defaults, a TOML file, the environ mapping and the --db override."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, DatabaseConfig, load_config
from bot.ingest.files import MAX_POST_BYTES


def write(tmp_path: Path, text: str | bytes, name: str = "hotpapers.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    config = load_config(None, {})
    assert config == Config(database=DatabaseConfig(path="hotpapers.sqlite3"))
    assert config.database.path == "hotpapers.sqlite3"


def test_the_real_environment_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTPAPERS_DB", "/from/os.environ.sqlite3")
    assert load_config(None, {}).database.path == "hotpapers.sqlite3"


def test_toml_file_values(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\npath = "/srv/hotpapers/archive.sqlite3"\n')
    assert load_config(path, {}).database.path == "/srv/hotpapers/archive.sqlite3"
    assert load_config(str(path), {}).database.path == "/srv/hotpapers/archive.sqlite3"


def test_empty_file_and_empty_section_give_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), {}) == Config()
    assert load_config(write(tmp_path, "[database]\n"), {}) == Config()


def test_unknown_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[archive]\npath = "x.sqlite3"\n[zzz]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    message = str(info.value)
    assert message.startswith(f"{path}: unknown section(s) archive, zzz; known: database")


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\npth = "x.sqlite3"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == f"{path}: unknown key(s) in [database]: pth; known keys: path"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[database]\npath = 5\n", "[database] path must be a str, got 5"),
        ("[database]\npath = true\n", "[database] path must be a str, got True"),
        ('[database]\npath = ["a"]\n', "[database] path must be a str, got ['a']"),
        ('database = "x.sqlite3"\n', "[database] must be a table"),
    ],
)
def test_wrong_types(tmp_path: Path, toml: str, message: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == f"{path}: {message}"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == f"config file {path} does not exist"


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^cannot read config file "):
        load_config(tmp_path, {})


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[database\npath = x\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value).startswith(f"{path}: not valid TOML: ")
    assert "line 1" in str(info.value)


def test_toml_that_is_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, b'[database]\npath = "caf\xe9.sqlite3"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value).startswith(f"{path}: not valid TOML: not UTF-8")


def test_hotpapers_db_from_the_environ_mapping(tmp_path: Path) -> None:
    environ = {"HOTPAPERS_DB": "/env/archive.sqlite3"}
    assert load_config(None, environ).database.path == "/env/archive.sqlite3"
    path = write(tmp_path, '[database]\npath = "/file/archive.sqlite3"\n')
    assert load_config(path, environ).database.path == "/env/archive.sqlite3"
    assert load_config(path, {"HOTPAPERS_DB": ""}).database.path == "/file/archive.sqlite3"


def test_db_override() -> None:
    config = load_config(None, {"HOTPAPERS_DB": "/env.sqlite3"})
    assert config.with_database(None) is config
    assert config.with_database("/cli.sqlite3").database.path == "/cli.sqlite3"
    assert config.database.path == "/env.sqlite3"


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.database = DatabaseConfig("x")  # type: ignore[misc]


def test_the_example_config_is_exactly_the_defaults() -> None:
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    assert load_config(example, {}) == Config()


@pytest.mark.parametrize("value", ["0", "-1.5", "51", "50.5"])
def test_requests_per_second_stays_under_discords_global_limit(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"[discord]\nrequests_per_second = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == (
        f"{path}: [discord] requests_per_second must be more than 0 and at most 50 "
        f"(Discord's global limit), got {float(value)}"
    )


def test_requests_per_second_accepts_a_whole_number(tmp_path: Path) -> None:
    path = write(tmp_path, "[discord]\nrequests_per_second = 30\n")
    assert load_config(path, {}).discord.requests_per_second == 30.0


@pytest.mark.parametrize(
    ("toml", "enabled"),
    [
        ("", True),
        ('[source]\ndirectory = "posts"\n', False),
        ('[source]\nurl = "https://host/{date}.md"\n', False),
        ('[source]\ndirectory = "posts"\n[bluesky]\nenabled = true\n', True),
        ("[bluesky]\nenabled = false\n", False),
    ],
)
def test_bluesky_is_on_by_default_only_without_a_post_source(
    tmp_path: Path, toml: str, enabled: bool
) -> None:
    assert load_config(write(tmp_path, toml), {}).bluesky_enabled is enabled


def test_bluesky_ignore_takes_a_list_of_accounts(tmp_path: Path) -> None:
    path = write(tmp_path, '[bluesky]\nignore = ["did:plc:abc", "feeds.example.com"]\n')
    assert load_config(path, {}).bluesky.ignore == ("did:plc:abc", "feeds.example.com")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[bluesky]\nignore = "did:plc:abc"\n', "[bluesky] ignore must be a list of strings"),
        ("[bluesky]\nenabled = 1\n", "[bluesky] enabled must be a bool, got 1"),
        ('[bluesky]\nday_ends = "24:00"\n', "[bluesky] day_ends must be a 24-hour time HH:MM"),
        ('[bluesky]\ntimezone = "Mars/Olympus"\n', "[bluesky] timezone must be an IANA time"),
        ("[bluesky]\npublish_delay_hours = -1\n", "[bluesky] publish_delay_hours must be 0 to"),
        ("[bluesky]\npublish_delay_hours = nan\n", "[bluesky] publish_delay_hours must be 0 to"),
        ("[bluesky]\nfeed_threshold = 0\n", "[bluesky] feed_threshold must be at least 1"),
        ("[bluesky]\npapers_per_day = 0\n", "[bluesky] papers_per_day must be 1 to 200"),
        ("[bluesky]\nmin_score = -1\n", "[bluesky] min_score must be at least 0"),
        ('[bluesky]\njetstream_url = "https://x"\n', "[bluesky] jetstream_url must be a ws(s)"),
        ('[bluesky]\nappview_url = "ws://x"\n', "[bluesky] appview_url must be an http(s)"),
        ('[arxiv]\napi_url = "ftp://x"\n', "[arxiv] api_url must be an http(s) URL"),
    ],
)
def test_bad_bluesky_and_arxiv_values_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        # 0 made the delivery job spin: 100% CPU and hundreds of MB within seconds.
        (
            "[digest]\ndeliver_seconds = 0",
            "[digest] deliver_seconds must be 1 to 3600 (one hour), got 0",
        ),
        (
            "[digest]\ndeliver_seconds = -30",
            "[digest] deliver_seconds must be 1 to 3600 (one hour), got -30",
        ),
        (
            "[digest]\ndeliver_seconds = 3601",
            "[digest] deliver_seconds must be 1 to 3600 (one hour), got 3601",
        ),
        # Beyond these, timedelta and APScheduler overflow.
        (
            "[source]\npoll_seconds = 0",
            "[source] poll_seconds must be 1 to 604800 (one week), got 0",
        ),
        (
            "[source]\npoll_seconds = 9223372036854775807",
            "[source] poll_seconds must be 1 to 604800 (one week), got 9223372036854775807",
        ),
        ("[source]\nlookback_days = 366", "[source] lookback_days must be 0 to 365, got 366"),
        (
            "[source]\nlookback_days = 100000000000",
            "[source] lookback_days must be 0 to 365, got 100000000000",
        ),
        ("[source]\nlookback_days = -1", "[source] lookback_days must be 0 to 365, got -1"),
        (
            "[source]\nsettle_seconds = nan",
            "[source] settle_seconds must be 0 to 86400 (one day), got nan",
        ),
        (
            "[source]\nsettle_seconds = inf",
            "[source] settle_seconds must be 0 to 86400 (one day), got inf",
        ),
        (
            "[source]\nsettle_seconds = -0.5",
            "[source] settle_seconds must be 0 to 86400 (one day), got -0.5",
        ),
        ("[source]\ntimeout_seconds = 0", "[source] timeout_seconds must be at least 1, got 0"),
        ("[source]\ntimeout_seconds = -5", "[source] timeout_seconds must be at least 1, got -5"),
        (
            "[discord]\nrequests_per_second = nan",
            "[discord] requests_per_second must be more than 0 and at most 50 (Discord's global"
            " limit), got nan",
        ),
        # A million made every Bluesky poll fail: the catch-up window overflowed the dates.
        ("[digest]\ncatch_up_days = 0", "[digest] catch_up_days must be 1 to 365, got 0"),
        (
            "[digest]\ncatch_up_days = 1000000",
            "[digest] catch_up_days must be 1 to 365, got 1000000",
        ),
        (
            "[discord]\ndev_guild = 99999999999999999999",
            "[discord] dev_guild must be a guild id (a snowflake, below 2**64), or 0 for global"
            " commands, got 99999999999999999999",
        ),
        # Every poll raised IndexError filling in {0}; a file:// URL is no HTTP source.
        (
            '[source]\nurl = "http://127.0.0.1:1/{date}{0}"',
            "[source] url may hold {date} and no other {...}: 'http://127.0.0.1:1/{date}{0}'"
            " (Replacement index 0 out of range for positional args tuple); write a literal"
            " brace as {{ or }}",
        ),
        (
            '[source]\nurl = "file:///etc/{date}"',
            "[source] url must be an http(s) URL, got 'file:///etc/{date}'",
        ),
        (
            '[source]\nurl = "https://host/posts.md"',
            "[source] url must contain {date}, e.g. https://host/{date}.md",
        ),
    ],
)
def test_values_that_would_break_the_bot_are_refused(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = write(tmp_path, toml + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == f"{path}: {message}"


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "[source]\npoll_seconds = 0\nsettle_seconds = nan\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == (
        f"{path}: [source] poll_seconds must be 1 to 604800 (one week), got 0; "
        "[source] settle_seconds must be 0 to 86400 (one day), got nan"
    )


@pytest.mark.parametrize(
    ("toml", "section", "expected"),
    [
        (
            "[source]\npoll_seconds = 604800\nlookback_days = 365\nsettle_seconds = 0\n",
            "source",
            {"poll_seconds": 604800, "lookback_days": 365, "settle_seconds": 0},
        ),
        (
            "[source]\nlookback_days = 0\ntimeout_seconds = 1\nsettle_seconds = 86400\n",
            "source",
            {"lookback_days": 0, "timeout_seconds": 1, "settle_seconds": 86400},
        ),
        (
            "[digest]\ndeliver_seconds = 1\ncatch_up_days = 1\n",
            "digest",
            {"deliver_seconds": 1, "catch_up_days": 1},
        ),
        (
            "[digest]\ndeliver_seconds = 3600\ncatch_up_days = 365\n",
            "digest",
            {"deliver_seconds": 3600, "catch_up_days": 365},
        ),
    ],
)
def test_the_bounds_themselves_are_accepted(
    tmp_path: Path, toml: str, section: str, expected: dict[str, float]
) -> None:
    loaded = getattr(load_config(write(tmp_path, toml), {}), section)
    assert {key: getattr(loaded, key) for key in expected} == expected


def test_max_post_bytes(tmp_path: Path) -> None:
    assert load_config(None, {}).source.max_post_bytes == MAX_POST_BYTES == 2_000_000
    path = write(tmp_path, "[source]\nmax_post_bytes = 500_000\n")
    assert load_config(path, {}).source.max_post_bytes == 500_000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "[source] max_post_bytes must be at least 1, got 0"),
        ("-5", "[source] max_post_bytes must be at least 1, got -5"),
        ("2.5", "[source] max_post_bytes must be a int, got 2.5"),
        ('"2MB"', "[source] max_post_bytes must be a int, got '2MB'"),
    ],
)
def test_max_post_bytes_must_be_a_positive_number(tmp_path: Path, value: str, message: str) -> None:
    path = write(tmp_path, f"[source]\nmax_post_bytes = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value) == f"{path}: {message}"
