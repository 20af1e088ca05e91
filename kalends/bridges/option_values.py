"""Reading a source's provider options from the admin file, each with a message naming it."""

from __future__ import annotations

from collections.abc import Mapping

from kalends.bridges.base import SourceOptionError

__all__ = ["flag", "text", "url", "whole"]


def text(options: Mapping[str, object], name: str, default: str | None) -> str | None:
    value = options.get(name, default)
    if value is not None and not isinstance(value, str):
        raise SourceOptionError(f"{name}: expected a string, got {value!r}")
    return value


def whole(options: Mapping[str, object], name: str, default: int, low: int, high: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SourceOptionError(f"{name}: expected a whole number from {low} to {high}")
    return value


def flag(options: Mapping[str, object], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise SourceOptionError(f"{name}: expected true or false, got {value!r}")
    return value


def url(options: Mapping[str, object], name: str, default: str) -> str:
    value = text(options, name, default) or default
    if not value.startswith(("https://", "http://")):
        raise SourceOptionError(f"{name}: expected an http(s) URL, got {value!r}")
    return value
