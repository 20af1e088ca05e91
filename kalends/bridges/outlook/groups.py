"""Mapped Graph fields as groups of iCalendar properties: one Graph value each, both ways.

Each mapped field is a *group* of iCalendar properties read into one Graph value and written
back from it (``showAs`` is TRANSP plus X-MICROSOFT-CDO-BUSYSTATUS, ``body`` is DESCRIPTION plus
X-ALT-DESC ...). Where Graph keeps less than iCalendar said (``PRIORITY:3`` is ``high``, which
reads back as ``PRIORITY:1``), ``from_ical`` notes the lines as they were (``kept``) and
``to_ical`` writes them again as long as they still say what Graph holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kalends.bridges.icaltext import (
    MappingError,
    escape_text,
    join_text_list,
    param_map,
    split_line,
    split_text_list,
    unescape_text,
)
from kalends.bridges.outlook.htmltext import plain_text

__all__ = [
    "GROUPS",
    "Group",
    "kept_lines",
]

BUSY_STATUS = "X-MICROSOFT-CDO-BUSYSTATUS"
ALT_DESC = "X-ALT-DESC"
_SENSITIVITY = "X-MSGRAPH-SENSITIVITY"


def kept_lines(kept: object) -> list[str] | None:
    """Lines noted in a form, when they are lines (the note may come from anywhere)."""
    if not isinstance(kept, list):
        return None
    if not all(isinstance(line, str) and line and not _BREAKS & set(line) for line in kept):
        return None
    return [str(line) for line in kept]


_BREAKS = frozenset("\r\n")


@dataclass(frozen=True)
class Group:
    """iCalendar properties that make up one Graph field."""

    field: str
    names: frozenset[str]
    read: Callable[[Sequence[str]], Any]  # the group's lines -> the Graph value
    write: Callable[[Any], list[str]]  # a Graph value -> the lines, as Kalends writes them

    def holds(self, line: str) -> bool:
        name, params, _ = split_line(line)
        if name == ALT_DESC:
            kind = param_map(params).get("FMTTYPE", "")
            return name in self.names and kind.casefold() == "text/html"
        return name in self.names

    def lines(self, value: Any, kept: object) -> list[str]:
        """The lines for ``value``: the ones noted as written before when they still say the
        same, Kalends' own otherwise."""
        written = self.write(value)
        noted = kept_lines(kept)
        if noted is not None:
            try:
                if self.read(noted) == self.read(written):
                    return noted
            except MappingError:
                pass
        return written


def _values(lines: Sequence[str], name: str) -> list[str]:
    return [split_line(line)[2] for line in lines if split_line(line)[0] == name]


def _first_text(lines: Sequence[str], name: str) -> str:
    found = _values(lines, name)
    return unescape_text(found[0]) if found else ""


def _text_lines(name: str) -> Callable[[Any], list[str]]:
    def write(value: Any) -> list[str]:
        text = value if isinstance(value, str) else ""
        return [f"{name}:{escape_text(text)}"] if text else []

    return write


def _read_subject(lines: Sequence[str]) -> str:
    return _first_text(lines, "SUMMARY")


def _read_location(lines: Sequence[str]) -> str:
    return _first_text(lines, "LOCATION")


def _read_body(lines: Sequence[str]) -> dict[str, str]:
    """HTML (X-ALT-DESC) when DESCRIPTION is still its text: a client that edits only the
    DESCRIPTION leaves a stale X-ALT-DESC behind, and the edit wins."""
    text = _first_text(lines, "DESCRIPTION")
    alternatives = _values(lines, ALT_DESC)
    if alternatives:
        markup = unescape_text(alternatives[0])
        if not _values(lines, "DESCRIPTION") or plain_text(markup) == text:
            return {"contentType": "html", "content": markup}
    return {"contentType": "text", "content": text}


def _write_body(value: Any) -> list[str]:
    body = value if isinstance(value, Mapping) else {}
    content = str(body.get("content") or "")
    if str(body.get("contentType", "text")).casefold() != "html":
        return [f"DESCRIPTION:{escape_text(content)}"] if content else []
    if not content:
        return []
    text = plain_text(content)
    lines = [f"DESCRIPTION:{escape_text(text)}"] if text else []
    return [*lines, f"{ALT_DESC};FMTTYPE=text/html:{escape_text(content)}"]


def _read_categories(lines: Sequence[str]) -> list[str]:
    return [item for value in _values(lines, "CATEGORIES") for item in split_text_list(value)]


def _write_categories(value: Any) -> list[str]:
    items = [str(item) for item in value] if isinstance(value, list) else []
    return [f"CATEGORIES:{join_text_list(items)}"] if items else []


_SHOW_AS = {
    "free": ["TRANSP:TRANSPARENT"],
    "busy": ["TRANSP:OPAQUE"],
    "tentative": ["TRANSP:OPAQUE", f"{BUSY_STATUS}:TENTATIVE"],
    "oof": ["TRANSP:OPAQUE", f"{BUSY_STATUS}:OOF"],
    "workingElsewhere": ["TRANSP:TRANSPARENT", f"{BUSY_STATUS}:WORKINGELSEWHERE"],
}
_BUSY = {  # X-MICROSOFT-CDO-BUSYSTATUS -> (showAs, the TRANSP it contradicts)
    "FREE": ("free", "OPAQUE"),
    "BUSY": ("busy", "TRANSPARENT"),
    "TENTATIVE": ("tentative", "TRANSPARENT"),
    "OOF": ("oof", "TRANSPARENT"),
    "WORKINGELSEWHERE": ("workingElsewhere", "OPAQUE"),
}


def _read_show_as(lines: Sequence[str]) -> str:
    """Outlook's own busy status when TRANSP does not contradict it (a client that knows only
    TRANSP changes that alone), else TRANSP; no TRANSP is OPAQUE (RFC 5545)."""
    transp = next(iter(_values(lines, "TRANSP")), "").strip().upper()
    status = next(iter(_values(lines, BUSY_STATUS)), "").strip().upper()
    if status in _BUSY and transp != _BUSY[status][1]:
        return _BUSY[status][0]
    return "free" if transp == "TRANSPARENT" else "busy"


def _write_show_as(value: Any) -> list[str]:
    return list(_SHOW_AS.get(str(value), []))


_CLASS = {
    "normal": "PUBLIC",
    "personal": "PRIVATE",
    "private": "PRIVATE",
    "confidential": "CONFIDENTIAL",
}


def _read_sensitivity(lines: Sequence[str]) -> str:
    kind = next(iter(_values(lines, "CLASS")), "").strip().upper()
    if kind == "PRIVATE":
        carried = next(iter(_values(lines, _SENSITIVITY)), "")
        return "personal" if unescape_text(carried).strip() == '"personal"' else "private"
    return "confidential" if kind == "CONFIDENTIAL" else "normal"


def _write_sensitivity(value: Any) -> list[str]:
    kind = _CLASS.get(str(value))
    if kind is None:
        return []
    return [f"CLASS:{kind}"] + ([f'{_SENSITIVITY}:"personal"'] if value == "personal" else [])


def _read_importance(lines: Sequence[str]) -> str:
    """RFC 5545: 1-4 high, 5 normal (medium), 6-9 low, 0 undefined."""
    try:
        level = int(next(iter(_values(lines, "PRIORITY")), "0").strip())
    except ValueError:
        return "normal"
    return "high" if 1 <= level <= 4 else "low" if 6 <= level <= 9 else "normal"


def _write_importance(value: Any) -> list[str]:
    return {"high": ["PRIORITY:1"], "low": ["PRIORITY:9"]}.get(str(value), [])


GROUPS = (
    Group("subject", frozenset({"SUMMARY"}), _read_subject, _text_lines("SUMMARY")),
    Group("body", frozenset({"DESCRIPTION", ALT_DESC}), _read_body, _write_body),
    Group("location", frozenset({"LOCATION"}), _read_location, _text_lines("LOCATION")),
    Group("categories", frozenset({"CATEGORIES"}), _read_categories, _write_categories),
    Group("showAs", frozenset({"TRANSP", BUSY_STATUS}), _read_show_as, _write_show_as),
    Group("sensitivity", frozenset({"CLASS", _SENSITIVITY}), _read_sensitivity, _write_sensitivity),
    Group("importance", frozenset({"PRIORITY"}), _read_importance, _write_importance),
)
