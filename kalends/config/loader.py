"""Reading the admin TOML file into frozen :class:`Settings`."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from kalends.config._env import expand_tree
from kalends.config._lines import syntax_error_location
from kalends.config._sections import (
    auth_settings,
    check_default_target,
    server_settings,
    source_settings,
    storage_settings,
    user_settings,
    view_settings,
)
from kalends.config._tables import Reporter, Table
from kalends.config.errors import ConfigError, Problem
from kalends.config.schema import Settings

__all__ = ["DEFAULT_CONFIG", "ENV_VAR", "config_path_from", "load_settings"]

ENV_VAR = "KALENDS_CONFIG"
DEFAULT_CONFIG = Path("kalends.toml")
TOP_KEYS = ("server", "storage", "auth", "users", "sources", "views")

logger = logging.getLogger(__name__)


def config_path_from(cli_value: str | None, environ: Mapping[str, str]) -> Path:
    """The ``--config`` value, else ``$KALENDS_CONFIG``, else ``./kalends.toml``."""
    if cli_value:
        return Path(cli_value)
    from_env = environ.get(ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_CONFIG


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, expand and validate the file at ``path``.

    Raises ConfigError listing every problem found, including an unreadable file.
    ``${VAR}`` references are taken from ``environ`` (default: the process environment).
    """
    file = str(path)
    text = _read_text(path, file)
    try:
        tree = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = syntax_error_location(str(exc))
        raise ConfigError((Problem("", None, f"invalid TOML: {message}", file, line),)) from None
    reporter = Reporter(file, text)
    expanded = expand_tree(tree, os.environ if environ is None else environ, reporter.add)
    settings = _build(Table(reporter, (), expanded), Path(os.path.abspath(path)))
    problems = reporter.problems()
    if problems:
        raise ConfigError(problems)
    logger.debug("loaded configuration from %s", settings.path)
    return settings


def _read_text(path: Path, file: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problem = Problem("", None, "configuration file not found", file, None)
        raise ConfigError((problem,)) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        problem = Problem("", None, f"cannot read the configuration file: {reason}", file, None)
        raise ConfigError((problem,)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = Problem("", None, "the file is not valid UTF-8 text", file, line)
        raise ConfigError((problem,)) from None


def _build(root: Table, path: Path) -> Settings:
    """Build every section, even after problems, so that all of them get reported."""
    server = server_settings(root.table("server"), path.parent)
    storage = storage_settings(root.table("storage"), server.data_dir)
    auth = auth_settings(root.table("auth"))
    user_tables = dict(root.named_tables("users"))
    users = {name: user_settings(name, table) for name, table in user_tables.items()}
    sources = {
        name: source_settings(name, table, users) for name, table in root.named_tables("sources")
    }
    for name, table in user_tables.items():
        check_default_target(table, users[name], sources)
    views = {
        name: view_settings(name, table, users, sources)
        for name, table in root.named_tables("views")
    }
    root.reject_unknown(TOP_KEYS)
    return Settings(
        path=path,
        server=server,
        storage=storage,
        auth=auth,
        users=MappingProxyType(users),
        sources=MappingProxyType(sources),
        views=MappingProxyType(views),
    )
