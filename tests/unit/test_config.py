"""The admin TOML file: defaults, every validation rule, and how problems are reported."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from kalends.config import (
    ConfigError,
    Problem,
    Settings,
    config_path_from,
    load_settings,
    mask_password,
)
from kalends.security.passwords import DUMMY_HASH

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kalends.toml"
USER = f'[users.alice]\npassword_hash = "{DUMMY_HASH}"\n'
NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path so that problems name the file as plain ``kalends.toml``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(text: str, environ: Mapping[str, str] | None = None) -> Settings:
    Path("kalends.toml").write_text(text, encoding="utf-8")
    return load_settings(Path("kalends.toml"), {} if environ is None else environ)


def problems(text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, environ)
    return [str(problem) for problem in caught.value.problems]


def test_defaults(here: Path) -> None:
    settings = load("")
    assert settings.path == here / "kalends.toml"
    server = settings.server
    assert (server.host, server.port, server.data_dir) == ("127.0.0.1", 5232, here / "data")
    assert (server.max_body_bytes, server.request_threads) == (10 * 1024 * 1024, 8)
    assert server.shutdown_timeout == 30.0
    assert settings.storage.url == f"sqlite:///{here}/data/kalends.db"
    assert settings.storage.pool_size == 10
    assert (settings.auth.login_cache_seconds, settings.auth.failure_delay) == (60.0, 1.0)
    assert (dict(settings.users), dict(settings.sources), dict(settings.views)) == ({}, {}, {})


def test_full_configuration(here: Path) -> None:
    settings = load(
        "[server]\nhost = '::'\nport = 0\ndata_dir = '/srv/kalends'\nmax_body_bytes = 1024\n"
        "request_threads = 256\nshutdown_timeout = 5\n"
        "[storage]\npool_size = 100\n[auth]\nlogin_cache_seconds = 0\nfailure_delay = 10\n"
        f"{USER}calendars = ['personal', 'work.2']\nunified = 'Everything'\n"
        "default_target = 'notes'\n"
        "[users.bob]\npassword_hash = 'scrypt$16$1$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA'\n"
        "[sources.notes]\ntype = 'obsidian'\nuser = 'alice'\ndirection = 'read-only'\n"
        "priority = -3\nvault = '/notes'\nfolders = ['a', {deep = ['b']}]\n"
        "[sources.cal]\ntype = 'ics'\nuser = 'alice'\n"
        "[sources.bobs]\ntype = 'google'\nuser = 'bob'\n"
        "[views.busy]\nuser = 'alice'\nprivacy = 'busy-only'\n"
        "[views.some]\nuser = 'alice'\nsources = ['cal']\n"
    )
    server = settings.server
    assert (server.host, server.port, server.data_dir) == ("::", 0, Path("/srv/kalends"))
    assert (server.max_body_bytes, server.request_threads) == (1024, 256)
    assert server.shutdown_timeout == 5.0 and isinstance(server.shutdown_timeout, float)
    assert settings.storage.url == "sqlite:////srv/kalends/kalends.db"
    assert settings.storage.pool_size == 100
    assert (settings.auth.login_cache_seconds, settings.auth.failure_delay) == (0.0, 10.0)
    alice = settings.users["alice"]
    assert (alice.name, alice.password_hash) == ("alice", DUMMY_HASH)
    assert (alice.calendars, alice.unified, alice.default_target) == (
        ("personal", "work.2"),
        "Everything",
        "notes",
    )
    bob = settings.users["bob"]
    assert (bob.calendars, bob.unified, bob.default_target) == ((), "all", None)
    notes = settings.sources["notes"]
    assert (notes.name, notes.type, notes.user) == ("notes", "obsidian", "alice")
    assert (notes.direction, notes.priority) == ("read-only", -3)
    assert dict(notes.options) == {"vault": "/notes", "folders": ("a", {"deep": ("b",)})}
    cal = settings.sources["cal"]
    assert (cal.direction, cal.priority, dict(cal.options)) == ("two-way", 0, {})
    assert settings.views["busy"].sources == ("notes", "cal")
    assert settings.views["busy"].privacy == "busy-only"
    assert (settings.views["some"].sources, settings.views["some"].privacy) == (("cal",), "full")


def test_settings_are_immutable(here: Path) -> None:
    settings = load(
        f"{USER}calendars = ['a']\n[sources.s]\ntype = 'ics'\nuser = 'alice'\n"
        "url = 'x'\nnested = {list = [1]}\n"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.server.port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.users["alice"].calendars = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.users["bob"] = settings.users["alice"]  # type: ignore[index]
    with pytest.raises(TypeError):
        settings.sources["s"].options["url"] = "y"  # type: ignore[index]
    nested = settings.sources["s"].options["nested"]
    assert isinstance(nested, Mapping)
    with pytest.raises(TypeError):
        nested["list"] = []  # type: ignore[index]
    assert nested["list"] == (1,)
    assert isinstance(settings.users["alice"].calendars, tuple)


def test_secrets_stay_out_of_reprs(here: Path) -> None:
    settings = load("[storage]\nurl = 'postgresql://kal:s3cret@db/kal'\n" + USER)
    assert repr(settings.storage) == (
        "StorageSettings(url='postgresql+psycopg://kal:***@db/kal', pool_size=10)"
    )
    assert "s3cret" not in repr(settings)
    assert DUMMY_HASH not in repr(settings)
    assert settings.storage.url == "postgresql+psycopg://kal:s3cret@db/kal"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("port = 'abc'", "expected an integer from 0 to 65535, got 'abc'"),
        ("port = true", "expected an integer from 0 to 65535, got True"),
        ("port = 65536", "expected an integer from 0 to 65535, got 65536"),
        ("port = -1", "expected an integer from 0 to 65535, got -1"),
        ("port = 80.0", "expected an integer from 0 to 65535, got 80.0"),
        ("host = ''", "expected a non-empty string, got ''"),
        ("host = 1", "expected a non-empty string, got 1"),
        ("data_dir = ['x']", "expected a non-empty string, got ['x']"),
        ("max_body_bytes = 1023", "expected an integer of at least 1024, got 1023"),
        ("request_threads = 0", "expected an integer from 1 to 256, got 0"),
        ("request_threads = 257", "expected an integer from 1 to 256, got 257"),
        ("shutdown_timeout = 0", "expected a number greater than 0, got 0"),
        ("shutdown_timeout = inf", "expected a number greater than 0, got inf"),
        ("shutdown_timeout = nan", "expected a number greater than 0, got nan"),
        ("shutdown_timeout = '5'", "expected a number greater than 0, got '5'"),
        ("shutdown_timeout = false", "expected a number greater than 0, got False"),
    ],
)
def test_server_values(here: Path, line: str, message: str) -> None:
    key = line.split(" = ")[0]
    assert problems(f"[server]\n{line}\n") == [f"server.{key}: {message} (kalends.toml, line 2)"]


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        ("auth", "login_cache_seconds = -0.5", "expected a number of at least 0, got -0.5"),
        ("auth", "failure_delay = 10.5", "expected a number from 0 to 10, got 10.5"),
        ("storage", "pool_size = 0", "expected an integer from 1 to 100, got 0"),
        ("storage", "pool_size = 101", "expected an integer from 1 to 100, got 101"),
        ("storage", "url = 5", "expected a database URL, got 5"),
    ],
)
def test_auth_and_storage_values(here: Path, table: str, line: str, message: str) -> None:
    key = f"{table}.{line.split(' = ')[0]}"
    assert problems(f"[{table}]\n{line}\n") == [f"{key}: {message} (kalends.toml, line 2)"]


def test_all_problems_are_reported_together_in_file_order(here: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load("[views.v]\nuser = 'nobody'\n[server]\nport = 'abc'\nhost = ''\n")
    assert str(caught.value) == (
        "invalid configuration: 3 problems\n"
        "  views.v.user: expected a declared user (there are none), got 'nobody'"
        " (kalends.toml, line 2)\n"
        "  server.port: expected an integer from 0 to 65535, got 'abc' (kalends.toml, line 4)\n"
        "  server.host: expected a non-empty string, got '' (kalends.toml, line 5)"
    )


def test_problem_and_error_texts() -> None:
    assert str(Problem("", None, "configuration file not found", "k.toml", None)) == (
        "configuration file not found (k.toml)"
    )
    error = ConfigError((Problem("a.b", "1", "expected x", "k.toml", 7),))
    assert (
        str(error) == "invalid configuration: 1 problem\n  a.b: expected x, got 1 (k.toml, line 7)"
    )
    assert error.problems[0].line == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nport = \n", "invalid TOML: Invalid value, at column 8 (kalends.toml, line 2)"),
        (
            "a = 1\na = 2\n[server]\n",
            "invalid TOML: Cannot overwrite a value, at column 6 (kalends.toml, line 2)",
        ),
        ('host = "x', "invalid TOML: Unterminated string, at the end of the file (kalends.toml)"),
    ],
)
def test_toml_syntax_errors(here: Path, text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_unreadable_files(here: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(Path("missing.toml"), {})
    assert [str(p) for p in caught.value.problems] == [
        "configuration file not found (missing.toml)"
    ]
    with pytest.raises(ConfigError) as caught:
        load_settings(here, {})
    assert str(caught.value.problems[0]) == (
        f"cannot read the configuration file: Is a directory ({here})"
    )
    Path("latin1.toml").write_bytes(b"[server]\nhost = 'caf\xe9'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(Path("latin1.toml"), {})
    assert [str(p) for p in caught.value.problems] == [
        "the file is not valid UTF-8 text (latin1.toml, line 2)"
    ]


def test_environment_references(here: Path) -> None:
    environ = {"HOST": "0.0.0.0", "DIR": "state", "TOKEN": "t0k", "CAL": "work"}
    settings = load(
        "[server]\nhost = '${HOST}'\ndata_dir = '/var/${DIR}/x${DIR}'\n"
        f"{USER}calendars = ['${{CAL}}']\n"
        "[sources.g]\ntype = 'google'\nuser = 'alice'\nauth = {token = 'Bearer ${TOKEN}'}\n"
        "template = '$${NOT_EXPANDED} costs $5 and $$5 ${TOKEN}$${TOKEN}'\n",
        environ,
    )
    assert settings.server.host == "0.0.0.0"
    assert settings.server.data_dir == Path("/var/state/xstate")
    assert settings.users["alice"].calendars == ("work",)
    options = settings.sources["g"].options
    assert options["auth"] == {"token": "Bearer t0k"}
    assert options["template"] == "${NOT_EXPANDED} costs $5 and $$5 t0k${TOKEN}"


def test_environment_defaults_to_the_process_environment(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KALENDS_TEST_HOST", "10.1.2.3")
    Path("kalends.toml").write_text("[server]\nhost = '${KALENDS_TEST_HOST}'\n")
    assert load_settings(Path("kalends.toml")).server.host == "10.1.2.3"


def test_environment_problems(here: Path) -> None:
    assert problems(
        "[server]\nhost = '${MISSING_HOST}'\n"
        "[sources.s]\ntype = 'ics'\nuser = 'nobody'\nurl = 'https://${MISSING_A}/${MISSING_B}'\n"
        "bad = '${1X}'\nopen = 'a ${HOST'\nport = 'x'\n"
    ) == [
        "server.host: environment variable MISSING_HOST is not set (kalends.toml, line 2)",
        "sources.s.user: expected a declared user (there are none), got 'nobody'"
        " (kalends.toml, line 5)",
        "sources.s.url: environment variable MISSING_A is not set (kalends.toml, line 6)",
        "sources.s.url: environment variable MISSING_B is not set (kalends.toml, line 6)",
        "sources.s.bad: malformed ${...} reference (write $${ for a literal ${)"
        " (kalends.toml, line 7)",
        "sources.s.open: malformed ${...} reference (write $${ for a literal ${)"
        " (kalends.toml, line 8)",
    ]


def test_expanded_values_are_still_validated(here: Path) -> None:
    assert problems("[server]\nport = '${PORT}'\n", {"PORT": "8080"}) == [
        "server.port: expected an integer from 0 to 65535, got '8080' (kalends.toml, line 2)"
    ]


def test_paths_are_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = tmp_path / "etc" / "kalends.toml"
    config.write_text("[server]\ndata_dir = '../var/kalends'\n")
    settings = load_settings(Path("../etc/kalends.toml"), {})
    assert settings.path == config
    assert settings.server.data_dir == tmp_path / "var" / "kalends"
    assert settings.storage.url == f"sqlite:///{tmp_path}/var/kalends/kalends.db"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///kalends.db", "sqlite:///{data}/kalends.db"),
        ("sqlite:///sub/../db/cal.sqlite", "sqlite:///{data}/db/cal.sqlite"),
        ("sqlite:///../up.db?timeout=5", "sqlite:///{root}/up.db?timeout=5"),
        ("sqlite:////abs/path.db", "sqlite:////abs/path.db"),
        (
            "postgresql://kal:pw@db.example:5433/kal",
            "postgresql+psycopg://kal:pw@db.example:5433/kal",
        ),
        ("postgresql:///kal", "postgresql+psycopg:///kal"),
        (
            "postgresql+psycopg://kal@db/kal?sslmode=require",
            "postgresql+psycopg://kal@db/kal?sslmode=require",
        ),
    ],
)
def test_database_urls(here: Path, url: str, expected: str) -> None:
    settings = load(f"[server]\ndata_dir = 'data'\n[storage]\nurl = '{url}'\n")
    assert settings.storage.url == expected.format(data=here / "data", root=here)


@pytest.mark.parametrize(
    ("url", "shown", "message"),
    [
        (
            "mysql://kal:pw@db/kal",
            "'mysql://kal:***@db/kal'",
            "expected a URL starting with sqlite:///, postgresql:// or postgresql+psycopg://",
        ),
        (
            "postgresql+psycopg2://db/kal",
            "'postgresql+psycopg2://db/kal'",
            "expected a URL starting with sqlite:///, postgresql:// or postgresql+psycopg://",
        ),
        (
            "sqlite://",
            "'sqlite://'",
            "expected a URL starting with sqlite:///, postgresql:// or postgresql+psycopg://",
        ),
        ("sqlite:///", "'sqlite:///'", "expected the path of a database file after sqlite:///"),
        (
            "sqlite:///:memory:",
            "'sqlite:///:memory:'",
            "expected the path of a database file after sqlite:///",
        ),
        (
            "postgresql://",
            "'postgresql://'",
            "expected a PostgreSQL URL naming a server or a database",
        ),
    ],
)
def test_bad_database_urls(here: Path, url: str, shown: str, message: str) -> None:
    assert problems(f"[storage]\nurl = '{url}'\n") == [
        f"storage.url: {message}, got {shown} (kalends.toml, line 2)"
    ]


def test_mask_password() -> None:
    assert mask_password("postgresql+psycopg://u:p/s:w@h:1/db") == (
        "postgresql+psycopg://u:***@h:1/db"
    )
    assert mask_password("postgresql://u:@h/db?x=@") == "postgresql://u:***@h/db?x=@"
    assert mask_password("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_password("postgresql://h:5432/db") == "postgresql://h:5432/db"
    assert mask_password("sqlite:////x/y.db") == "sqlite:////x/y.db"


def test_unknown_keys(here: Path) -> None:
    assert problems(
        "colour = 'red'\n[server]\nhots = 'x'\n[storage]\ndriver = 1\n[auth]\nx = 1\n"
        f"{USER}calendar = []\n[sources.s]\ntype = 'ics'\nuser = 'alice'\nanything = 1\n"
        "[views.v]\nuser = 'alice'\nprivate = true\n[extra]\n"
    ) == [
        "colour: unknown key (allowed keys: server, storage, auth, users, sources, views)"
        " (kalends.toml, line 1)",
        "server.hots: unknown key (allowed keys: host, port, data_dir, max_body_bytes,"
        " request_threads, shutdown_timeout, public_url) (kalends.toml, line 3)",
        "storage.driver: unknown key (allowed keys: url, pool_size) (kalends.toml, line 5)",
        "auth.x: unknown key (allowed keys: login_cache_seconds, failure_delay)"
        " (kalends.toml, line 7)",
        "users.alice.calendar: unknown key (allowed keys: password_hash, calendars, unified,"
        " default_target) (kalends.toml, line 10)",
        "views.v.private: unknown key (allowed keys: user, sources, privacy)"
        " (kalends.toml, line 17)",
        "extra: unknown key (allowed keys: server, storage, auth, users, sources, views)"
        " (kalends.toml, line 18)",
    ]


def test_sections_must_be_tables(here: Path) -> None:
    assert problems("server = 5\nusers = {alice = 'x'}\n") == [
        "server: expected a table, got 5 (kalends.toml, line 1)",
        "users.alice: expected a table, got 'x' (kalends.toml, line 2)",
    ]


def test_user_rules(here: Path) -> None:
    long_name = "a" * 65
    assert problems(
        "[users.alice]\ncalendars = ['ok', 'ok', '.hidden', 3]\nunified = 'ok'\n"
        "[users.bob]\npassword_hash = 'scrypt$1$1$1$x$y'\ncalendars = 'personal'\n"
        "unified = 'a/b'\ndefault_target = 'mine'\n"
        f"[users.{long_name}]\npassword_hash = '{DUMMY_HASH}'\n"
        f"[users.'-x']\npassword_hash = '{DUMMY_HASH}'\n"
    ) == [
        "users.alice.password_hash: missing required key (kalends.toml, line 1)",
        "users.alice.calendars: item 2: 'ok' is listed twice (kalends.toml, line 2)",
        f"users.alice.calendars: item 3: expected a name of {NAME_RULE}, got '.hidden'"
        " (kalends.toml, line 2)",
        f"users.alice.calendars: item 4: expected a name of {NAME_RULE}, got 3"
        " (kalends.toml, line 2)",
        "users.alice.unified: 'ok' is also the name of one of the calendars (kalends.toml, line 3)",
        "users.bob.password_hash: expected a password hash made by 'kalends hash-password',"
        " got 'scrypt$1$1$1$x$y' (kalends.toml, line 5)",
        "users.bob.calendars: expected a list of names, got 'personal' (kalends.toml, line 6)",
        f"users.bob.unified: expected a name of {NAME_RULE}, got 'a/b' (kalends.toml, line 7)",
        "users.bob.default_target: expected a source of this user (there are none), got 'mine'"
        " (kalends.toml, line 8)",
        f"users.{long_name}: invalid name: expected {NAME_RULE} (kalends.toml, line 9)",
        f"users.-x: invalid name: expected {NAME_RULE} (kalends.toml, line 11)",
    ]


def test_longest_names_are_accepted(here: Path) -> None:
    name = "A" + "b.-_9" * 12 + "xyz"
    assert len(name) == 64
    assert name in load(f"[users.'{name}']\npassword_hash = '{DUMMY_HASH}'\n").users
    assert problems(f"[users.'{name}.']\npassword_hash = '{DUMMY_HASH}'\n") == [
        f'users."{name}.": invalid name: expected {NAME_RULE} (kalends.toml, line 1)'
    ]


def test_default_target_must_be_a_source_of_the_same_user(here: Path) -> None:
    assert problems(
        f"{USER}default_target = 'theirs'\n[users.bob]\npassword_hash = '{DUMMY_HASH}'\n"
        "[sources.theirs]\ntype = 'ics'\nuser = 'bob'\n[sources.mine]\ntype = 'ics'\n"
        "user = 'alice'\n"
    ) == [
        "users.alice.default_target: expected a source of this user (mine), got 'theirs'"
        " (kalends.toml, line 3)"
    ]


def test_source_rules(here: Path) -> None:
    assert problems(
        f"{USER}[sources.a]\nuser = 'bob'\n[sources.b]\ntype = 'caldav'\ndirection = 'both'\n"
        "priority = true\n[sources.'c d']\ntype = 'ics'\nuser = 'alice'\n"
    ) == [
        "sources.a.type: missing required key (kalends.toml, line 3)",
        "sources.a.user: expected a declared user (alice), got 'bob' (kalends.toml, line 4)",
        "sources.b.user: missing required key (kalends.toml, line 5)",
        "sources.b.type: expected one of 'google', 'outlook', 'icloud', 'notion', 'obsidian'"
        " or 'ics', got 'caldav' (kalends.toml, line 6)",
        "sources.b.direction: expected one of 'two-way', 'read-only' or 'write-only', got 'both'"
        " (kalends.toml, line 7)",
        "sources.b.priority: expected an integer, got True (kalends.toml, line 8)",
        f'sources."c d": invalid name: expected {NAME_RULE} (kalends.toml, line 9)',
    ]


def test_view_rules(here: Path) -> None:
    assert problems(
        f"{USER}calendars = ['work']\n[users.bob]\npassword_hash = '{DUMMY_HASH}'\n"
        "[sources.hers]\ntype = 'ics'\nuser = 'alice'\n"
        "[sources.his]\ntype = 'ics'\nuser = 'bob'\n"
        "[views.work]\nuser = 'alice'\nsources = ['hers', 'his', 'none', 'hers']\n"
        "privacy = 'secret'\n[views.all]\nuser = 'alice'\n[views.v]\n"
    ) == [
        "views.work: a calendar of user 'alice' already has this name (kalends.toml, line 12)",
        "views.work.sources: item 4: 'hers' is listed twice (kalends.toml, line 14)",
        "views.work.sources: expected sources of user 'alice' (hers), got 'his'"
        " (kalends.toml, line 14)",
        "views.work.sources: expected sources of user 'alice' (hers), got 'none'"
        " (kalends.toml, line 14)",
        "views.work.privacy: expected one of 'full', 'title-only' or 'busy-only', got 'secret'"
        " (kalends.toml, line 15)",
        "views.all: a calendar of user 'alice' already has this name (kalends.toml, line 16)",
        "views.v.user: missing required key (kalends.toml, line 18)",
    ]


def test_view_of_a_user_without_sources_is_empty(here: Path) -> None:
    settings = load(f"{USER}[views.nothing]\nuser = 'alice'\n")
    assert settings.views["nothing"].sources == ()


def test_lines_of_dotted_keys_and_inline_tables(here: Path) -> None:
    assert problems(
        "server.port = 'x'\n"
        "users = { alice = { password_hash = 'bad' } }\n"
        "[sources]\nnotes.type = 'ics'\nnotes.user = 'alice'\nnotes.direction = 'up'\n"
    ) == [
        "server.port: expected an integer from 0 to 65535, got 'x' (kalends.toml, line 1)",
        "users.alice.password_hash: expected a password hash made by 'kalends hash-password',"
        " got 'bad' (kalends.toml, line 2)",
        "sources.notes.direction: expected one of 'two-way', 'read-only' or 'write-only',"
        " got 'up' (kalends.toml, line 4)",
    ]


def test_lines_of_quoted_headers(here: Path) -> None:
    assert problems(
        "# comment with [users.alice]\n[ users . \"alice\" ]\n# port = 1\n'calendars' = [1]\n"
    ) == [
        "users.alice.password_hash: missing required key (kalends.toml, line 2)",
        f"users.alice.calendars: item 1: expected a name of {NAME_RULE}, got 1"
        " (kalends.toml, line 4)",
    ]


def test_config_path_from() -> None:
    assert config_path_from("a.toml", {"KALENDS_CONFIG": "b.toml"}) == Path("a.toml")
    assert config_path_from(None, {"KALENDS_CONFIG": "b.toml"}) == Path("b.toml")
    assert config_path_from(None, {}) == Path("kalends.toml")
    assert config_path_from("", {"KALENDS_CONFIG": ""}) == Path("kalends.toml")


def test_example_configuration_is_valid() -> None:
    settings = load_settings(EXAMPLE, {})
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 5232)
    assert settings.server.data_dir == EXAMPLE.parents[1] / "data"
    assert list(settings.users) == ["demo"]
    assert settings.users["demo"].calendars == ("personal",)


def test_example_commented_sections_are_valid(here: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for block in ("# [sources.holidays]", "# [views.busy]"):
        start = text.index(block)
        end = text.find("\n\n", start)
        section = text[start : end if end >= 0 else len(text)]
        text = text.replace(section, re.sub(r"^# ", "", section, flags=re.MULTILINE))
    settings = load(text)
    assert settings.sources["notes"].type == "obsidian"
    assert settings.sources["holidays"].options["url"] == "https://example.org/holidays.ics"
    assert settings.users["demo"].default_target == "notes"
    assert settings.views["busy"].sources == ("notes",)
