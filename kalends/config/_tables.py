"""Typed, problem-collecting access to the parsed TOML tables."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeGuard

from kalends.config._lines import find_line
from kalends.config.errors import Problem

__all__ = ["NAME_RULE", "Reporter", "Table", "is_name"]

NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MAX_SHOWN = 80


def is_name(value: object) -> bool:
    """Tell whether ``value`` is usable as a user, calendar, source or view name."""
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


class Reporter:
    """Collects the problems of one configuration file, with their line numbers."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self._lines = text.splitlines()
        self._problems: list[Problem] = []

    def add(self, path: Sequence[str], message: str, value: object = None) -> None:
        """Record a problem; ``value`` None means there is no value to show."""
        shown = None if value is None else _shorten(repr(value))
        line = find_line(self._lines, path)
        self._problems.append(Problem(_dotted(path), shown, message, self.file, line))

    def problems(self) -> tuple[Problem, ...]:
        """All problems so far, in file order (those without a line last)."""
        return tuple(sorted(self._problems, key=lambda p: (p.line is None, p.line or 0)))


class Table:
    """One TOML table; every read is remembered so that leftovers can be reported."""

    def __init__(self, reporter: Reporter, path: tuple[str, ...], data: object) -> None:
        self.reporter = reporter
        self.path = path
        self._data: Mapping[str, object] = data if isinstance(data, dict) else {}
        self._used: set[str] = set()

    def problem(self, key: str, message: str, value: object = None) -> None:
        self.reporter.add((*self.path, key), message, value)

    def raw(self, key: str) -> object | None:
        self._used.add(key)
        return self._data.get(key)

    def table(self, key: str) -> Table:
        """The sub-table ``key``; empty when absent or (reported) not a table."""
        value = self.raw(key)
        if value is not None and not isinstance(value, dict):
            self.problem(key, "expected a table", value)
        return Table(self.reporter, (*self.path, key), value)

    def named_tables(self, key: str) -> Iterator[tuple[str, Table]]:
        """The entries of the sub-table ``key``, each named by the name rule."""
        outer = self.table(key)
        for name, value in outer._data.items():
            outer._used.add(name)
            if not is_name(name):
                outer.problem(name, f"invalid name: expected {NAME_RULE}")
            if not isinstance(value, dict):
                outer.problem(name, "expected a table", value)
                continue
            yield name, Table(self.reporter, (*outer.path, name), value)

    def integer(
        self, key: str, default: int, low: int | None = None, high: int | None = None
    ) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool) and _within(value, low, high):
            return value
        self.problem(key, f"expected an integer{_range_text(low, high)}", value)
        return default

    def number(
        self,
        key: str,
        default: float,
        low: float,
        high: float | None = None,
        *,
        above: bool = False,
    ) -> float:
        """A finite int or float; ``above`` makes ``low`` itself invalid."""
        value = self.raw(key)
        if value is None:
            return default
        if _is_number(value) and _above_low(value, low, above) and _within(value, None, high):
            return float(value)
        range_text = f" greater than {_format(low)}" if above else _range_text(low, high)
        self.problem(key, f"expected a number{range_text}", value)
        return default

    def string(self, key: str, default: str) -> str:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, str) and value:
            return value
        self.problem(key, "expected a non-empty string", value)
        return default

    def choice(self, key: str, options: Sequence[str], default: str | None) -> str | None:
        """One of ``options``; a missing key is a problem when there is no default."""
        value = self.required(key) if default is None else self.raw(key)
        if value is None:
            return default
        if isinstance(value, str) and value in options:
            return value
        listed = ", ".join(repr(option) for option in options[:-1])
        self.problem(key, f"expected one of {listed} or {options[-1]!r}", value)
        return default

    def name(self, key: str, *, required: bool = False) -> str | None:
        value = self.required(key) if required else self.raw(key)
        if value is None or is_name(value):
            return value if isinstance(value, str) else None
        self.problem(key, f"expected a name of {NAME_RULE}", value)
        return None

    def names(self, key: str) -> tuple[str, ...] | None:
        """A list of distinct names; None when the key is absent."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self.problem(key, "expected a list of names", value)
            return ()
        found: list[str] = []
        for index, item in enumerate(value, start=1):
            if not is_name(item):
                self.problem(key, f"item {index}: expected a name of {NAME_RULE}", item)
            elif item in found:
                self.problem(key, f"item {index}: {item!r} is listed twice")
            else:
                found.append(item)
        return tuple(found)

    def required(self, key: str) -> object | None:
        value = self.raw(key)
        if value is None:
            self.problem(key, "missing required key")
        return value

    def leftovers(self) -> dict[str, object]:
        """The keys not read so far."""
        return {key: value for key, value in self._data.items() if key not in self._used}

    def reject_unknown(self, allowed: Sequence[str]) -> None:
        for key in self.leftovers():
            self.problem(key, f"unknown key (allowed keys: {', '.join(allowed)})")


def _is_number(value: object) -> TypeGuard[float]:
    """int or float, finite, and not bool (which TOML keeps apart but Python does not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _above_low(value: float, low: float, strictly: bool) -> bool:
    return value > low if strictly else value >= low


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {_format(low)} to {_format(high)}"
    if low is not None:
        return f" of at least {_format(low)}"
    return "" if high is None else f" of at most {_format(high)}"


def _format(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _dotted(path: Sequence[str]) -> str:
    return ".".join(part if _BARE_KEY.fullmatch(part) else json.dumps(part) for part in path)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
