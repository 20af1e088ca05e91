"""The admin configuration: one TOML file turned into frozen, typed settings."""

from __future__ import annotations

from kalends.config.errors import ConfigError, Problem
from kalends.config.loader import config_path_from, load_settings
from kalends.config.schema import (
    AuthSettings,
    ServerSettings,
    Settings,
    SourceSettings,
    StorageSettings,
    UserSettings,
    ViewSettings,
)
from kalends.config.urls import mask_password

__all__ = [
    "AuthSettings",
    "ConfigError",
    "Problem",
    "ServerSettings",
    "Settings",
    "SourceSettings",
    "StorageSettings",
    "UserSettings",
    "ViewSettings",
    "config_path_from",
    "load_settings",
    "mask_password",
]
