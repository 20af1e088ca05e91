"""Finding the line of a key in the TOML text, for problem reports.

This is a best-effort scan, not a TOML parser: it looks for the ``[table]`` header of the
longest matching prefix of the key path, then for ``key =`` inside that table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["find_line", "syntax_error_location"]

_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
_SYNTAX_LOCATION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_SYNTAX_END = re.compile(r"\s*\(at end of document\)$")


def find_line(lines: Sequence[str], path: Sequence[str]) -> int | None:
    """Return the 1-based line where ``path`` is set or its table starts, else None."""
    for depth in range(len(path), 0, -1):
        header = _find_header(lines, path[:depth])
        if header is None:
            continue
        if depth == len(path):
            return header + 1
        key = _find_key(lines, header + 1, path[depth])
        return (key if key is not None else header) + 1
    key = _find_key(lines, 0, path[0]) if path else None
    return None if key is None else key + 1


def syntax_error_location(message: str) -> tuple[str, int | None]:
    """Split a tomllib error message into its text (with the column) and its line."""
    match = _SYNTAX_LOCATION.search(message)
    if match:
        text = message[: match.start()]
        return f"{text}, at column {match.group(2)}", int(match.group(1))
    match = _SYNTAX_END.search(message)
    if match:
        return f"{message[: match.start()]}, at the end of the file", None
    return message, None


def _find_header(lines: Sequence[str], path: Sequence[str]) -> int | None:
    wanted = list(path)
    for index, line in enumerate(lines):
        if _header_parts(line) == wanted:
            return index
    return None


def _find_key(lines: Sequence[str], start: int, key: str) -> int | None:
    for index in range(start, len(lines)):
        if _header_parts(lines[index]) is not None:
            return None
        parts = _key_parts(lines[index])
        if parts and parts[0] == key:
            return index
    return None


def _header_parts(line: str) -> list[str] | None:
    """The key path of a ``[table]`` or ``[[array]]`` header line, else None."""
    text = line.strip()
    if not text.startswith("["):
        return None
    inner = text.lstrip("[")
    end = inner.find("]")
    return _dotted(inner[:end]) if end >= 0 else None


def _key_parts(line: str) -> list[str] | None:
    """The key path on the left of ``=`` in a key/value line, else None."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    end = _equals_outside_quotes(text)
    return None if end is None else _dotted(text[:end])


def _equals_outside_quotes(text: str) -> int | None:
    quote = ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "=":
            return index
    return None


def _dotted(text: str) -> list[str] | None:
    """Split a dotted TOML key, minding quoted parts (escapes are left as written)."""
    parts: list[str] = []
    position = 0
    while True:
        match = _PART.match(text, position)
        if match is None:
            return None
        parts.append(next(group for group in match.groups() if group is not None))
        position = match.end()
        if position == len(text):
            return parts
        if text[position] != ".":
            return None
        position += 1
