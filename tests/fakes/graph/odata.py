"""Request options: ``Prefer`` headers and the OData query options the fake understands.

``Prefer`` may come as several headers or one comma-separated header; the fake honours
``outlook.timezone``, ``outlook.body-content-type``, ``odata.maxpagesize`` and
``IdType="ImmutableId"`` and says which it applied in ``Preference-Applied``. ``$filter``
supports what a sync engine needs to find its events: ``iCalUId eq '...'``, ``type eq '...'``
and ``singleValueExtendedProperties/any(ep: ep/id eq '...' and ep/value eq '...')``, joined by
``and``; anything else is refused with a message that names the fake's limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tests.fakes.graph.bodies import EVENT_PROPERTIES
from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.model import Record
from tests.fakes.graph.zones import resolve

__all__ = ["Filter", "Prefer", "parse_expand", "parse_filter", "parse_prefer", "parse_select"]

_ITEM = re.compile(r'\s*([\w.-]+)\s*(?:=\s*("(?:[^"]*)"|[^,]*))?\s*(?:,|$)')
_QUOTED = r"'((?:[^']|'')*)'"
_EQ = re.compile(rf"^\s*(iCalUId|type)\s+eq\s+{_QUOTED}\s*$", re.IGNORECASE)
_ANY = re.compile(
    rf"^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+{_QUOTED}"
    rf"(?:\s+and\s+\1/value\s+eq\s+{_QUOTED})?\s*\)\s*$",
    re.IGNORECASE,
)
_EXPAND = re.compile(
    r"^\s*singleValueExtendedProperties\s*\(\s*\$filter\s*=\s*(.*)\)\s*$", re.IGNORECASE
)
_ID_EQ = re.compile(rf"^\s*id\s+eq\s+{_QUOTED}\s*$", re.IGNORECASE)


@dataclass
class Prefer:
    where: ZoneInfo | None = None
    zone_label: str = "UTC"
    max_page_size: int | None = None
    immutable: bool = False
    text_body: bool = False
    applied: list[str] = field(default_factory=list)


def parse_prefer(values: Iterable[str]) -> Prefer:
    prefer = Prefer()
    for value in values:
        for match in _ITEM.finditer(value):
            name, raw = match.group(1), (match.group(2) or "").strip().strip('"')
            if not name:
                continue
            lowered = name.lower()
            if lowered == "outlook.timezone" and raw:
                try:
                    prefer.where = resolve(raw)
                except GraphError:
                    continue  # an unknown zone is not applied: times stay in UTC
                prefer.zone_label = raw
                prefer.applied.append(f'outlook.timezone="{raw}"')
            elif lowered == "odata.maxpagesize" and raw.isdigit() and int(raw) > 0:
                prefer.max_page_size = int(raw)
                prefer.applied.append(f"odata.maxpagesize={int(raw)}")
            elif lowered == "idtype" and raw.lower() == "immutableid":
                prefer.immutable = True
                prefer.applied.append('IdType="ImmutableId"')
            elif lowered == "outlook.body-content-type" and raw.lower() in ("text", "html"):
                prefer.text_body = raw.lower() == "text"
                prefer.applied.append(f'outlook.body-content-type="{raw.lower()}"')
    return prefer


def parse_select(query: Mapping[str, str]) -> list[str] | None:
    text = query.get("$select")
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in EVENT_PROPERTIES:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type 'microsoft.graph.event'.",
            )
    return names


def parse_expand(query: Mapping[str, str]) -> tuple[str, ...] | None:
    """The extended-property ids ``$expand=singleValueExtendedProperties($filter=...)`` asks
    for (joined by ``or``)."""
    text = query.get("$expand")
    if text is None:
        return None
    match = _EXPAND.match(text)
    if match is None:
        raise GraphError.bad_request(
            "The fake supports only $expand=singleValueExtendedProperties($filter=id eq '...')."
        )
    found = []
    for part in re.split(r"\s+or\s+", match.group(1), flags=re.IGNORECASE):
        wanted = _ID_EQ.match(part)
        if wanted is None:
            raise GraphError.bad_request(f"Invalid $filter in $expand: {match.group(1)}")
        found.append(wanted.group(1).replace("''", "'"))
    return tuple(found)


@dataclass
class Filter:
    tests: list[Callable[[Record], bool]] = field(default_factory=list)
    types: set[str] | None = None  # `type eq` (applied to rendered items)

    def accepts(self, record: Record) -> bool:
        return all(test(record) for test in self.tests)


def parse_filter(query: Mapping[str, str]) -> Filter:
    made = Filter()
    text = query.get("$filter")
    if text is None:
        return made
    for clause in _clauses(text):
        equals, any_ = _EQ.match(clause), _ANY.match(clause)
        if equals is not None:
            name, value = equals.group(1).lower(), equals.group(2).replace("''", "'")
            if name == "icaluid":
                made.tests.append(_has_uid(value))
            else:
                made.types = (made.types or set()) | {value}
        elif any_ is not None:
            ident = any_.group(2).replace("''", "'").lower()
            value = any_.group(3).replace("''", "'") if any_.group(3) is not None else None
            made.tests.append(_has_property(ident, value))
        else:
            raise GraphError(
                400,
                "ErrorInvalidUrlQueryFilter",
                "The fake supports only "
                "iCalUId eq, type eq and singleValueExtendedProperties/any(...) in "
                f"$filter, not: {clause}",
            )
    return made


def _has_uid(uid: str) -> Callable[[Record], bool]:
    return lambda record: record.uid == uid


def _has_property(ident: str, value: str | None) -> Callable[[Record], bool]:
    def test(record: Record) -> bool:
        found = record.extended.get(ident)
        return found is not None and (value is None or found[1] == value)

    return test


def _clauses(text: str) -> list[str]:
    """``a and b`` split at top-level ``and`` (not inside parentheses or quotes)."""
    parts, depth, quoted, start = [], 0, False, 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and text[index : index + 5].lower() == " and ":
            parts.append(text[start:index])
            start = index + 5
            index += 4
        index += 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]
