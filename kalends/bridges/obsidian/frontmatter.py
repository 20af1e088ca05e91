"""A note's YAML frontmatter: split it from the body, read its keys, rewrite it line by line.

Full Calendar rewrites frontmatter one line per key and keeps every other line verbatim; doing
the same keeps unknown keys, comments and the user's formatting, while the body, the line
endings and a UTF-8 byte order mark are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from kalends.bridges.obsidian.yamltext import YamlError, load_mapping

__all__ = ["BOM", "FrontmatterError", "Note", "rewrite", "split"]

BOM = "\ufeff"
_FENCE = "---"
# A top-level key: quoted, or plain up to the first ": " (or a colon at the end of the line).
_KEY = re.compile(
    r"""^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^\s#'"\-?:,\[\]{}][^\n]*?))\s*:(?=\s|$)"""
)


class FrontmatterError(ValueError):
    """The note's frontmatter cannot be read (the reason names no note content)."""


@dataclass(frozen=True, slots=True)
class Note:
    """A note cut into its parts; joining them gives back the exact text."""

    bom: str
    opening: str  # the first "---" line with its line ending; "" when there is no frontmatter
    lines: tuple[str, ...]  # frontmatter lines, each with its line ending
    closing: str  # the closing "---" line ("" without frontmatter, may lack a line ending)
    body: str
    newline: str  # the line ending new lines are written with

    @property
    def has_frontmatter(self) -> bool:
        return bool(self.opening)

    def text(self) -> str:
        return self.bom + self.opening + "".join(self.lines) + self.closing + self.body

    def mapping(self) -> dict[str, object]:
        """The frontmatter keys; FrontmatterError for invalid YAML or duplicate keys."""
        try:
            return load_mapping("".join(self.lines))
        except YamlError as error:
            raise FrontmatterError(f"the frontmatter {error}") from None


def _newline_of(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\n"


def _is_fence(line: str) -> bool:
    return line.rstrip("\r\n").rstrip(" \t") == _FENCE


def split(text: str) -> Note:
    """Cut ``text`` into BOM, frontmatter lines and body; FrontmatterError when never closed."""
    bom = BOM if text.startswith(BOM) else ""
    rest = text[len(bom) :]
    first_end = rest.find("\n")
    if first_end == -1 or not _is_fence(rest[: first_end + 1]):
        newline = _newline_of(rest[: first_end + 1]) if first_end != -1 else "\n"
        return Note(bom, "", (), "", rest, newline)
    opening = rest[: first_end + 1]
    lines: list[str] = []
    position = first_end + 1
    while position < len(rest):
        end = rest.find("\n", position)
        line = rest[position:] if end == -1 else rest[position : end + 1]
        position += len(line)
        if _is_fence(line):
            return Note(bom, opening, tuple(lines), line, rest[position:], _newline_of(opening))
        lines.append(line)
    raise FrontmatterError("the frontmatter is never closed (no second --- line)")


@dataclass(frozen=True, slots=True)
class _Block:
    key: str | None  # None for blank lines and comments
    lines: tuple[str, ...]


def _key_of(line: str) -> str | None:
    match = _KEY.match(line)
    if match is None:
        return None
    double, single, plain = match.groups()
    if double is not None:
        try:
            return str(yaml.safe_load(f'"{double}"'))
        except yaml.YAMLError:
            return None
    if single is not None:
        return single.replace("''", "'")
    return str(plain).rstrip()


def _blocks(lines: tuple[str, ...]) -> list[_Block]:
    """Group lines by top-level key: a key line and its indented or "- " continuation lines."""
    blocks: list[_Block] = []
    for line in lines:
        content = line.rstrip("\r\n")
        if not content.strip() or content.startswith("#"):
            blocks.append(_Block(None, (line,)))
        elif content[0] in " \t" or content.startswith("-"):
            if not blocks or blocks[-1].key is None:
                raise FrontmatterError("the frontmatter has a continuation line without a key")
            blocks[-1] = _Block(blocks[-1].key, (*blocks[-1].lines, line))
        else:
            key = _key_of(content)
            if key is None:
                raise FrontmatterError("a frontmatter line is not of the form 'key: value'")
            blocks.append(_Block(key, (line,)))
    return blocks


def rewrite(note: Note, updates: Mapping[str, str | None]) -> str:
    """The note's text with each key of ``updates`` set to its YAML text (None: removed).

    Keys already present are rewritten in place, new keys are appended, every other line and
    the body stay byte for byte. FrontmatterError when the lines cannot be told apart by key.
    """
    newline = note.newline
    blocks = _blocks(note.lines)
    found = [block.key for block in blocks if block.key is not None]
    if note.has_frontmatter and sorted(found) != sorted(note.mapping()):
        raise FrontmatterError("the frontmatter layout is not one key per line")
    out: list[str] = []
    for block in blocks:
        if block.key is None or block.key not in updates:
            out.extend(block.lines)
            continue
        value = updates[block.key]
        if value is not None:
            out.append(f"{block.key}: {value}{newline}")
    out.extend(
        f"{key}: {value}{newline}"
        for key, value in updates.items()
        if value is not None and key not in found
    )
    opening = note.opening or f"{_FENCE}{newline}"
    closing = note.closing or f"{_FENCE}{newline}"
    return note.bom + opening + "".join(out) + closing + note.body
