"""Building each settings section from its TOML table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import cast, get_args

from kalends.config._tables import Table
from kalends.config.schema import (
    AuthSettings,
    Direction,
    Privacy,
    ServerSettings,
    SourceSettings,
    SourceType,
    StorageSettings,
    UserSettings,
    ViewSettings,
)
from kalends.config.urls import database_url, mask_password
from kalends.security.passwords import is_valid_hash

__all__ = [
    "auth_settings",
    "check_default_target",
    "server_settings",
    "source_settings",
    "storage_settings",
    "user_settings",
    "view_settings",
]

_SERVER = ServerSettings()
_AUTH = AuthSettings()
_DEFAULT_DATABASE = "sqlite:///kalends.db"
_SOURCE_TYPES: tuple[str, ...] = get_args(SourceType)
_DIRECTIONS: tuple[str, ...] = get_args(Direction)
_PRIVACY: tuple[str, ...] = get_args(Privacy)

SERVER_KEYS = (
    "host",
    "port",
    "data_dir",
    "max_body_bytes",
    "request_threads",
    "shutdown_timeout",
    "public_url",
)
STORAGE_KEYS = ("url", "pool_size")
AUTH_KEYS = ("login_cache_seconds", "failure_delay")
USER_KEYS = ("password_hash", "calendars", "unified", "default_target")
SOURCE_KEYS = ("type", "user", "direction", "priority")  # the rest are provider options
VIEW_KEYS = ("user", "sources", "privacy")


def server_settings(table: Table, base_dir: Path) -> ServerSettings:
    """``[server]``; ``data_dir`` is resolved against ``base_dir``."""
    data_dir = table.string("data_dir", str(_SERVER.data_dir))
    settings = ServerSettings(
        host=table.string("host", _SERVER.host),
        port=table.integer("port", _SERVER.port, 0, 65535),
        data_dir=Path(os.path.abspath(base_dir / data_dir)),
        max_body_bytes=table.integer("max_body_bytes", _SERVER.max_body_bytes, 1024),
        request_threads=table.integer("request_threads", _SERVER.request_threads, 1, 256),
        shutdown_timeout=table.number("shutdown_timeout", _SERVER.shutdown_timeout, 0, above=True),
        public_url=_public_url(table),
    )
    table.reject_unknown(SERVER_KEYS)
    return settings


def _public_url(table: Table) -> str | None:
    """The address providers send push notifications to (http(s), no query)."""
    value = table.raw("public_url")
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or "?" in value:
        table.problem(
            "public_url", "expected an http(s) URL such as https://cal.example.org", value
        )
        return None
    return value.rstrip("/")


def storage_settings(table: Table, data_dir: Path) -> StorageSettings:
    """``[storage]``; the URL defaults to ``kalends.db`` inside ``data_dir``."""
    url = database_url(_DEFAULT_DATABASE, data_dir)
    value = table.raw("url")
    if value is not None and not isinstance(value, str):
        table.problem("url", "expected a database URL", value)
    elif value is not None:
        try:
            url = database_url(value, data_dir)
        except ValueError as exc:
            table.problem("url", str(exc), mask_password(value))
    pool_size = table.integer("pool_size", 10, 1, 100)
    table.reject_unknown(STORAGE_KEYS)
    return StorageSettings(url=url, pool_size=pool_size)


def auth_settings(table: Table) -> AuthSettings:
    settings = AuthSettings(
        login_cache_seconds=table.number("login_cache_seconds", _AUTH.login_cache_seconds, 0),
        failure_delay=table.number("failure_delay", _AUTH.failure_delay, 0, 10),
    )
    table.reject_unknown(AUTH_KEYS)
    return settings


def user_settings(name: str, table: Table) -> UserSettings:
    """``[users.<name>]``; ``default_target`` is checked later, against the sources."""
    password_hash = _password_hash(table)
    calendars = table.names("calendars") or ()
    unified = table.name("unified") or "all"
    if unified in calendars:
        table.problem("unified", f"{unified!r} is also the name of one of the calendars")
    default_target = table.name("default_target")
    table.reject_unknown(USER_KEYS)
    return UserSettings(
        name=name,
        password_hash=password_hash,
        calendars=calendars,
        unified=unified,
        default_target=default_target,
    )


def source_settings(name: str, table: Table, users: Mapping[str, UserSettings]) -> SourceSettings:
    """``[sources.<name>]``; keys other than the common ones are provider options."""
    source_type = table.choice("type", _SOURCE_TYPES, None) or "ics"
    user = _user_name(table, users)
    direction = table.choice("direction", _DIRECTIONS, "two-way") or "two-way"
    priority = table.integer("priority", 0)
    return SourceSettings(
        name=name,
        type=cast(SourceType, source_type),
        user=user,
        direction=cast(Direction, direction),
        priority=priority,
        options=_freeze_mapping(table.leftovers()),
    )


def view_settings(
    name: str,
    table: Table,
    users: Mapping[str, UserSettings],
    sources: Mapping[str, SourceSettings],
) -> ViewSettings:
    """``[views.<name>]``; without ``sources`` a view shows all of its user's sources."""
    user = _user_name(table, users)
    own = tuple(source.name for source in sources.values() if source.user == user)
    chosen = table.names("sources")
    for source in chosen or ():
        if source not in own:
            table.problem("sources", f"expected sources of user {user!r}{_listing(own)}", source)
    privacy = table.choice("privacy", _PRIVACY, "full") or "full"
    table.reject_unknown(VIEW_KEYS)
    if user in users and _clashes(name, users[user]):
        table.reporter.add(table.path, f"a calendar of user {user!r} already has this name")
    return ViewSettings(
        name=name,
        user=user,
        sources=own if chosen is None else chosen,
        privacy=cast(Privacy, privacy),
    )


def check_default_target(
    table: Table, user: UserSettings, sources: Mapping[str, SourceSettings]
) -> None:
    target = user.default_target
    if target is None:
        return
    source = sources.get(target)
    if source is None or source.user != user.name:
        own = tuple(name for name, source in sources.items() if source.user == user.name)
        table.problem("default_target", f"expected a source of this user{_listing(own)}", target)


def _password_hash(table: Table) -> str:
    value = table.required("password_hash")
    if isinstance(value, str) and is_valid_hash(value):
        return value
    if value is not None:
        message = "expected a password hash made by 'kalends hash-password'"
        table.problem("password_hash", message, value)
    return ""


def _user_name(table: Table, users: Mapping[str, UserSettings]) -> str:
    user = table.name("user", required=True)
    if user is not None and user not in users:
        table.problem("user", f"expected a declared user{_listing(tuple(users))}", user)
    return user or ""


def _clashes(name: str, user: UserSettings) -> bool:
    return name == user.unified or name in user.calendars


def _listing(names: tuple[str, ...]) -> str:
    return f" ({', '.join(names)})" if names else " (there are none)"


def _freeze_mapping(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType({key: _freeze(value) for key, value in mapping.items()})


def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return _freeze_mapping(value)
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value
