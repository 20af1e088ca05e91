"""Source entries naming several calendars of one account become one source per calendar.

``calendars = "all"`` (or a list of calendar ids) in a Google or Outlook source entry stands
for a source per calendar, named ``<entry>-<calendar>`` and shown under the calendar's title.
Everything else in the entry (user, direction, priority, privacy, options) holds for each.

This module is pure: the provider's listing (None when it could not be asked) and the
calendars known from before go in; the expanded settings and what to remember come out.
A calendar keeps the name it was first given, so renaming it at the provider never moves
its address; when the provider cannot be asked, the calendars known from before stand (for
``"all"`` never listed yet: the account's own calendar alone). With ``"all"``, a calendar
that another source of the same account syncs on its own is left to that source; a
calendar the account may only read is synced read-only.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from kalends.bridges.accounts import AccountCalendar
from kalends.bridges.base import SourceOptionError
from kalends.config import Settings, SourceSettings, UserSettings, ViewSettings

__all__ = [
    "ALL",
    "CALENDARS",
    "ENTRY_OPTIONS",
    "Expansion",
    "KnownCalendar",
    "account_entries",
    "expand",
    "list_interval",
]

CALENDARS = "calendars"
LIST_INTERVAL = "calendar_list_interval"  # seconds between askings of a running server
ENTRY_OPTIONS = frozenset({CALENDARS, LIST_INTERVAL})  # the entry's, not its calendars'
ALL = "all"
DEFAULT_LIST_INTERVAL = 3600.0
_MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class KnownCalendar:
    """A calendar an entry expanded to before, under the source name it was given."""

    entry: str
    calendar_id: str  # the default calendar under the provider's alias for it
    source: str
    title: str
    writable: bool = True
    primary: bool = False


@dataclass(frozen=True, slots=True)
class Expansion:
    settings: Settings
    known: tuple[KnownCalendar, ...]  # every entry's calendars, to remember
    problems: tuple[str, ...]  # entries or calendars left out, and why


def account_entries(settings: Settings) -> list[SourceSettings]:
    return [source for source in settings.sources.values() if CALENDARS in source.options]


def wanted_calendars(entry: SourceSettings, defaults: Mapping[str, str]) -> str | tuple[str, ...]:
    """``"all"`` or the listed calendar ids; SourceOptionError when the entry cannot be one."""
    value = entry.options[CALENDARS]
    if entry.type not in defaults:
        kinds = " and ".join(sorted(defaults))
        raise SourceOptionError(f"calendars: only {kinds} sources name several calendars")
    if "calendar" in entry.options:
        raise SourceOptionError("calendars: give either calendar or calendars, not both")
    _interval(entry)
    if value == ALL:
        return ALL
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(item, str) for item in value)
        and len(set(value)) == len(value)
    ):
        return tuple(str(item) for item in value)
    raise SourceOptionError(
        f'calendars: expected "all" or a list of distinct calendar ids, got {value!r}'
    )


def _interval(entry: SourceSettings) -> float:
    value = entry.options.get(LIST_INTERVAL, DEFAULT_LIST_INTERVAL)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SourceOptionError(f"{LIST_INTERVAL}: expected a number of seconds, got {value!r}")
    return float(value)


def list_interval(settings: Settings) -> float | None:
    """How often a running server asks the accounts for their calendars (None: no entry)."""
    intervals = []
    for entry in account_entries(settings):
        with contextlib.suppress(SourceOptionError):  # expand() reports it
            intervals.append(_interval(entry))
    return min(intervals, default=None)


def expand(
    settings: Settings,
    listed: Mapping[str, Sequence[AccountCalendar] | None],
    known: Sequence[KnownCalendar],
    defaults: Mapping[str, str],
) -> Expansion:
    """``listed``: each entry's calendars as the provider lists them now (None: not asked or
    no answer). ``defaults``: per provider type, the id that means the account's own calendar."""
    entries = account_entries(settings)
    if not entries:
        return Expansion(settings, (), ())
    namer = _Namer(settings, known)
    sources: dict[str, SourceSettings] = {}
    children: dict[str, list[tuple[SourceSettings, KnownCalendar]]] = {}
    problems: list[str] = []
    for name, source in settings.sources.items():
        if CALENDARS not in source.options:
            sources[name] = source
            continue
        try:
            wanted = wanted_calendars(source, defaults)
        except SourceOptionError as error:
            problems.append(f"source {name!r} is not synced: {error}")
            children[name] = []
            continue
        default = defaults[source.type]
        candidates = _candidates(source, wanted, listed.get(name), known, default)
        if wanted == ALL:
            claimed = _claimed(settings, source, defaults)
            candidates = [c for c in candidates if c.calendar_id not in claimed]
        made = _children(source, candidates, namer, problems)
        sources.update((child.name, child) for child, _ in made)
        children[name] = made
    expanded = replace(
        settings,
        sources=MappingProxyType(sources),
        users=MappingProxyType(_retarget(settings.users, children, problems)),
        views=MappingProxyType(_reviewed(settings.views, children)),
    )
    remembered = tuple(record for made in children.values() for _, record in made)
    return Expansion(expanded, remembered, tuple(problems))


def _candidates(
    entry: SourceSettings,
    wanted: str | tuple[str, ...],
    listed: Sequence[AccountCalendar] | None,
    known: Sequence[KnownCalendar],
    default: str,
) -> list[AccountCalendar]:
    """The calendars to sync, from the listing, else from what is known, else from the file."""
    if listed is None:
        listed = [
            AccountCalendar(k.calendar_id, k.title, k.writable, k.primary)
            for k in known
            if k.entry == entry.name
        ]
        if not listed and wanted == ALL:
            listed = [AccountCalendar(default, "", primary=True)]
    if wanted == ALL:
        return list(listed)
    by_id = {c.calendar_id: c for c in listed}
    chosen = []
    for calendar_id in wanted:
        found = by_id.get(calendar_id)
        if found is None and calendar_id == default:
            found = next((c for c in listed if c.primary), None)
        chosen.append(found or AccountCalendar(calendar_id, ""))  # title unknown
    return chosen


def _claimed(settings: Settings, entry: SourceSettings, defaults: Mapping[str, str]) -> set[str]:
    """Calendars of the entry's account that single sources of the file sync."""
    account = entry.options.get("account", entry.name)
    return {
        str(source.options.get("calendar", defaults[entry.type]))
        for source in settings.sources.values()
        if source.type == entry.type
        and CALENDARS not in source.options
        and source.options.get("account", source.name) == account
    }


def _children(
    entry: SourceSettings,
    calendars: Iterable[AccountCalendar],
    namer: _Namer,
    problems: list[str],
) -> list[tuple[SourceSettings, KnownCalendar]]:
    base = {key: value for key, value in entry.options.items() if key not in ENTRY_OPTIONS}
    base["account"] = entry.options.get("account", entry.name)
    made = []
    for calendar in calendars:
        direction = entry.direction
        if not calendar.writable:
            if direction == "write-only":
                problems.append(
                    f"source {entry.name!r}: calendar {calendar.title!r} is read-only at the "
                    "provider, so it cannot be write-only; left out"
                )
                continue
            direction = "read-only"
        name = namer.name_for(entry.name, calendar)
        options = MappingProxyType({**base, "calendar": calendar.calendar_id})
        child = replace(
            entry, name=name, direction=direction, options=options, title=calendar.title,
            entry=entry.name,
        )  # fmt: skip
        record = KnownCalendar(
            entry.name, calendar.calendar_id, name, calendar.title,
            calendar.writable, calendar.primary,
        )  # fmt: skip
        made.append((child, record))
    return made


class _Namer:
    """Source names for calendars: the one given before, else a new one no other source,
    calendar or view of the file (or calendar known from before) has."""

    def __init__(self, settings: Settings, known: Sequence[KnownCalendar]) -> None:
        self._known = {(k.entry, k.calendar_id): k.source for k in known}
        self._taken = {name for name in settings.sources}
        self._taken.update(k.source for k in known)
        self._taken.update(settings.views)
        for user in settings.users.values():
            self._taken.update(user.calendars)
            self._taken.add(user.unified)

    def name_for(self, entry: str, calendar: AccountCalendar) -> str:
        before = self._known.get((entry, calendar.calendar_id))
        if before is not None:
            return before
        slug = (
            "primary"
            if calendar.primary
            else _slug(calendar.title) or _slug(calendar.calendar_id.split("@", 1)[0])
        )
        stem = f"{entry}-{slug or 'calendar'}"[:_MAX_NAME].rstrip("-._")
        name, number = stem, 1
        while name in self._taken:
            number += 1
            suffix = f"-{number}"
            name = stem[: _MAX_NAME - len(suffix)] + suffix
        self._taken.add(name)
        self._known[(entry, calendar.calendar_id)] = name
        return name


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].rstrip("-")


_Children = Mapping[str, list[tuple[SourceSettings, KnownCalendar]]]


def _retarget(
    users: Mapping[str, UserSettings], children: _Children, problems: list[str]
) -> dict[str, UserSettings]:
    """A default target naming an entry becomes its own calendar, else its first writable."""
    result = dict(users)
    for name, user in users.items():
        target = user.default_target
        if target is None or target not in children:
            continue
        writable = [(c, k) for c, k in children[target] if c.direction != "read-only"]
        ranked = sorted(writable, key=lambda pair: not pair[1].primary)
        chosen = ranked[0][0].name if ranked else None
        if chosen is None:
            problems.append(f"user {name!r}: default_target {target!r} has no writable calendar")
        result[name] = replace(user, default_target=chosen)
    return result


def _reviewed(views: Mapping[str, ViewSettings], children: _Children) -> dict[str, ViewSettings]:
    result = {}
    for name, view in views.items():
        sources = tuple(
            part
            for source in view.sources
            for part in (
                [child.name for child, _ in children[source]] if source in children else [source]
            )
        )
        result[name] = replace(view, sources=sources)
    return result
