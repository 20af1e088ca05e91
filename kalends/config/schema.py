"""Frozen, typed settings produced by :func:`kalends.config.load_settings`.

Everything here is immutable: mappings are read-only proxies and lists are tuples.
Paths are absolute and the database URL is final, so consumers never resolve anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from kalends.config.urls import mask_password

__all__ = [
    "AuthSettings",
    "Direction",
    "Privacy",
    "ServerSettings",
    "Settings",
    "SourceSettings",
    "SourceType",
    "StorageSettings",
    "UserSettings",
    "ViewSettings",
]

SourceType = Literal["google", "outlook", "icloud", "notion", "obsidian", "ics"]
Direction = Literal["two-way", "read-only", "write-only"]
Privacy = Literal["full", "title-only", "busy-only"]

_NO_OPTIONS: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 5232  # 0 asks the OS for any free port
    data_dir: Path = Path("data")
    max_body_bytes: int = 10 * 1024 * 1024  # larger request bodies get 413
    request_threads: int = 8
    shutdown_timeout: float = 30.0  # seconds in-flight requests get on SIGTERM
    public_url: str | None = None  # where providers reach /.kalends/hooks (push notifications)


@dataclass(frozen=True, slots=True, repr=False)
class StorageSettings:
    url: str  # absolute SQLite URL or postgresql+psycopg:// URL
    pool_size: int = 10  # PostgreSQL only

    def __repr__(self) -> str:  # never show a database password in logs
        return f"StorageSettings(url={mask_password(self.url)!r}, pool_size={self.pool_size})"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    login_cache_seconds: float = 60.0  # how long a verified login is remembered
    failure_delay: float = 1.0  # seconds added to every failed login


@dataclass(frozen=True, slots=True)
class UserSettings:
    name: str
    password_hash: str = field(repr=False)
    calendars: tuple[str, ...] = ()  # created at start
    unified: str = "all"  # name of the calendar that merges everything
    default_target: str | None = None  # a source of this user


@dataclass(frozen=True, slots=True)
class SourceSettings:
    name: str
    type: SourceType
    user: str
    direction: Direction = "two-way"
    priority: int = 0
    options: Mapping[str, object] = field(default_factory=lambda: _NO_OPTIONS, repr=False)
    title: str = ""  # the calendar's display name when it is created (default: the name)
    entry: str = ""  # the file's entry naming several calendars this one was expanded from


@dataclass(frozen=True, slots=True)
class ViewSettings:
    """A read-only virtual collection over some of a user's sources."""

    name: str
    user: str
    sources: tuple[str, ...]  # already defaulted to all of the user's sources
    privacy: Privacy = "full"


@dataclass(frozen=True, slots=True)
class Settings:
    path: Path  # absolute path of the configuration file
    server: ServerSettings
    storage: StorageSettings
    auth: AuthSettings
    users: Mapping[str, UserSettings]
    sources: Mapping[str, SourceSettings]
    views: Mapping[str, ViewSettings]
