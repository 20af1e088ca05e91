"""CalDAV benchmark: Kalends (default SQLite storage) against stock Radicale 3.9, side by side.

Both servers run as their own processes on ephemeral ports and are driven over HTTP by one
keep-alive httpx client with Basic auth:

- Kalends: ``python -m kalends serve --config <generated file>``, default SQLite storage in a
  temporary data directory, calendars ``/bench/bench/`` (all N events) and ``/bench/guard/`` (the
  first M events, the set shared with Radicale);
- Radicale: ``python -m radicale --config <generated file>``, multifilesystem storage, htpasswd
  (plain) auth, rights ``owner_only``, calendar ``/bench/bench/`` with the first M events.

Steps: generate the events (deterministic, seeded), load them by sequential PUTs, check that both
servers answer the same time-range queries (and that the generator's own expansion agrees),
restart each server, then time every operation on it: the first call of each operation after the
restart is reported as "cold", the others as "warm" (p50/p95, nearest rank). Kalends is also
measured on its M-event calendar, so the Radicale/Kalends ratio compares equal sizes. The markdown
report goes to stdout, progress to stderr, the raw numbers to ``bench/results/<timestamp>.json``.

Commands (from the repository root):

    # smoke run (about a minute)
    .venv/bin/python bench/caldav_bench.py --events 2000 --radicale-events 300

    # the 10,000-event profile (targets apply), stock Radicale at 1,000 events (about 4 minutes)
    .venv/bin/python bench/caldav_bench.py --events 10000 --radicale-events 1000

    # the same with stock Radicale at 3,000 events (about 7 minutes)
    .venv/bin/python bench/caldav_bench.py --events 10000 --radicale-events 3000

    # the 100,000-event profile over 20 years (same weekly density), Kalends only
    .venv/bin/python bench/caldav_bench.py --events 100000 --years 20 --skip-radicale

    # print only the generator's calibration (events per week and per month), start no server
    .venv/bin/python bench/caldav_bench.py --events 10000 --calibrate

Other options: ``--repeat`` (fast operations, default 30), ``--slow-repeat`` (free-busy, PROPFIND,
GET of the collection, initial sync; default 10), ``--accept-encoding`` (default
``gzip, deflate`` as CalDAV clients send it; ``identity`` measures without response compression),
``--seed``, ``--workdir`` (keep the servers' data there instead of in a temporary directory),
``--results-dir``, ``--kalends-source DIR`` (serve the kalends package found in DIR instead of the
installed one, e.g. a fixed commit while the working tree changes:
``git archive HEAD kalends | tar -x -C DIR``).
The exit status is 1 when a correctness check failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx

USER = "bench"
PASSWORD = "bench-password"
CALENDAR = "/bench/bench/"
GUARD_CALENDAR = "/bench/guard/"
RANGE_START = datetime(2024, 1, 1)  # a Monday; all times below are relative to it
WEEKS_PER_YEAR = 52.1775
DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
ICS_TYPE = "text/calendar; charset=utf-8"
MS = 1000.0

# -------------------------------------------------------------------------------------------------
# Time zones (VTIMEZONE text as clients send it; the generator's own expansion uses zoneinfo)
# -------------------------------------------------------------------------------------------------

_VTIMEZONE_TEXT = {
    "Europe/Berlin": """\
BEGIN:VTIMEZONE
TZID:Europe/Berlin
X-LIC-LOCATION:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
""",
    "America/New_York": """\
BEGIN:VTIMEZONE
TZID:America/New_York
X-LIC-LOCATION:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
""",
    "Asia/Tokyo": """\
BEGIN:VTIMEZONE
TZID:Asia/Tokyo
X-LIC-LOCATION:Asia/Tokyo
BEGIN:STANDARD
TZOFFSETFROM:+0900
TZOFFSETTO:+0900
TZNAME:JST
DTSTART:19700101T000000
END:STANDARD
END:VTIMEZONE
""",
    "UTC": """\
BEGIN:VTIMEZONE
TZID:UTC
BEGIN:STANDARD
TZOFFSETFROM:+0000
TZOFFSETTO:+0000
TZNAME:UTC
DTSTART:19700101T000000
END:STANDARD
END:VTIMEZONE
""",
}
VTIMEZONES: dict[str, list[str]] = {
    zone: text.strip().split("\n") for zone, text in _VTIMEZONE_TEXT.items()
}
ZONE_WEIGHTS = {"Europe/Berlin": 40, "America/New_York": 30, "Asia/Tokyo": 15, "UTC": 15}

# -------------------------------------------------------------------------------------------------
# Event model
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recurrence:
    freq: str  # "DAILY" or "WEEKLY"
    count: int  # occurrences generated by the rule (before EXDATE)
    use_until: bool  # UNTIL instead of COUNT (same occurrences)
    exdates: tuple[int, ...] = ()  # occurrence numbers removed by EXDATE
    moved: int | None = None  # occurrence number overridden by a RECURRENCE-ID component
    moved_by: timedelta = timedelta(0)

    @property
    def step(self) -> timedelta:
        return timedelta(days=1 if self.freq == "DAILY" else 7)


@dataclass(frozen=True, slots=True)
class EventSpec:
    uid: str
    zone: str  # IANA zone or "UTC"; ignored for all-day (floating) events
    utc_as_z: bool  # UTC written as "...Z" rather than TZID=UTC with a VTIMEZONE
    start: datetime  # naive wall time in ``zone`` (midnight for all-day events)
    duration: timedelta  # wall-clock length
    all_day: bool
    duration_property: bool  # DURATION instead of DTEND
    recurrence: Recurrence | None
    flavour: int  # seeds the cosmetic text (summary, description, attendees...)

    @property
    def href(self) -> str:
        return self.uid + ".ics"


def to_timestamp(spec: EventSpec, wall: datetime) -> int:
    """Seconds since the epoch of a wall time of ``spec`` (floating all-day times count as UTC,
    as Radicale's filter does)."""
    zone = ZoneInfo("UTC") if spec.all_day else ZoneInfo(spec.zone)
    return int(wall.replace(tzinfo=zone).timestamp())


def occurrence_starts(spec: EventSpec) -> list[datetime]:
    """Wall-clock starts of every occurrence, EXDATEs removed, the overridden one moved."""
    rule = spec.recurrence
    if rule is None:
        return [spec.start]
    starts: list[datetime] = []
    for number in range(rule.count):
        if number in rule.exdates:
            continue
        start = spec.start + number * rule.step
        starts.append(start + rule.moved_by if number == rule.moved else start)
    return starts


def occurrences(spec: EventSpec) -> list[tuple[int, int]]:
    return [
        (to_timestamp(spec, start), to_timestamp(spec, start + spec.duration))
        for start in occurrence_starts(spec)
    ]


def expected_hrefs(specs: Iterable[EventSpec], start: int, end: int) -> set[str]:
    """What a VEVENT time-range query over [start, end) must return (RFC 4791 9.9)."""
    return {spec.href for spec in specs if any(s < end and e > start for s, e in occurrences(spec))}


# -------------------------------------------------------------------------------------------------
# Generator
# -------------------------------------------------------------------------------------------------

WEEKDAY_WEIGHTS = (6, 6, 6, 6, 5, 2, 2)  # Monday..Sunday: most events are on working days


def range_weeks(years: float) -> int:
    return max(2, round(years * WEEKS_PER_YEAR))


def generate(count: int, years: float, seed: int, prefix: str = "evt") -> list[EventSpec]:
    """``count`` events spread over ``years`` from RANGE_START; the same arguments give the same
    events. Event ``i`` of a longer list equals event ``i`` of a shorter one, so the first M events
    are a true subset."""
    return list(itertools.islice(event_stream(years, seed, prefix), count))


def event_stream(years: float, seed: int, prefix: str) -> Iterator[EventSpec]:
    weeks = range_weeks(years)
    for i in itertools.count():
        yield _event(random.Random(f"{seed}:{prefix}:{i}"), f"{prefix}-{i:06d}", weeks)


def _event(rng: random.Random, name: str, weeks: int) -> EventSpec:
    uid = f"{name}-{rng.getrandbits(32):08x}@bench.kalends.example"
    kind = rng.random()
    if kind < 0.10:
        return _all_day(rng, uid, weeks)
    if kind < 0.20:
        return _series(rng, uid, weeks)
    return _timed(rng, uid, weeks)


def _day(rng: random.Random, weeks: int) -> datetime:
    while True:
        day = rng.randrange(weeks * 7)
        if rng.random() * 6 < WEEKDAY_WEIGHTS[day % 7]:
            return RANGE_START + timedelta(days=day)


def _zone(rng: random.Random) -> tuple[str, bool]:
    zone = rng.choices(list(ZONE_WEIGHTS), weights=list(ZONE_WEIGHTS.values()))[0]
    return zone, zone == "UTC" and rng.random() < 0.5


def _wall_time(rng: random.Random, day: datetime) -> datetime:
    # 07:00-19:45: never near a DST switch, so wall-clock and absolute arithmetic agree
    return day.replace(hour=rng.randrange(7, 20), minute=rng.choice((0, 15, 30, 45)))


def _timed(rng: random.Random, uid: str, weeks: int) -> EventSpec:
    zone, as_z = _zone(rng)
    start = _wall_time(rng, _day(rng, weeks))
    if rng.random() < 0.02:  # conferences, trips
        duration = timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 8))
    else:
        duration = timedelta(minutes=rng.choice((15, 30, 30, 45, 60, 60, 60, 90, 120, 180)))
    short = duration < timedelta(hours=4)
    return EventSpec(
        uid,
        zone,
        as_z,
        start,
        duration,
        False,
        short and rng.random() < 0.2,
        None,
        rng.getrandbits(32),
    )


def _all_day(rng: random.Random, uid: str, weeks: int) -> EventSpec:
    days = 1 if rng.random() < 0.7 else rng.randint(2, 4)
    return EventSpec(
        uid,
        "UTC",
        False,
        _day(rng, weeks),
        timedelta(days=days),
        True,
        False,
        None,
        rng.getrandbits(32),
    )


def _series(rng: random.Random, uid: str, weeks: int) -> EventSpec:
    """A series starts inside the range like any event and may run past its end."""
    weekly = rng.random() < 0.65
    count = rng.randint(8, 44) if weekly else rng.randint(5, 40)
    zone, as_z = _zone(rng)
    start = _wall_time(rng, _day(rng, weeks))
    exdates = tuple(sorted(rng.sample(range(1, count - 1), rng.randint(1, 2))))
    if rng.random() >= 0.3:
        exdates = ()
    moved = None
    moved_by = timedelta(0)
    if rng.random() < 0.3:
        moved = rng.choice([n for n in range(1, count) if n not in exdates])
        moved_by = rng.choice((timedelta(hours=2), timedelta(hours=-1), timedelta(days=1)))
    rule = Recurrence(
        "WEEKLY" if weekly else "DAILY", count, rng.random() < 0.4, exdates, moved, moved_by
    )
    duration = timedelta(minutes=rng.choice((15, 30, 30, 45, 60, 60, 90)))
    return EventSpec(uid, zone, as_z, start, duration, False, False, rule, rng.getrandbits(32))


# -------------------------------------------------------------------------------------------------
# iCalendar rendering
# -------------------------------------------------------------------------------------------------

_WORD_TEXT = """
agenda budget review roadmap customer onboarding release sprint retrospective design migration
incident postmortem quarterly planning hiring interview demo feedback contract invoice travel
workshop training compliance audit security architecture database latency dashboard metrics
vendor partner launch marketing campaign backlog estimate priority deadline milestone
stakeholder alignment proposal draft summary follow-up action items decision risk dependency
schedule capacity forecast report analysis
"""
WORDS = tuple(_WORD_TEXT.split())
TOPICS = (
    "Team sync",
    "1:1",
    "Sprint planning",
    "Customer call",
    "Design review",
    "Lunch",
    "Dentist",
    "Quarterly business review",
    "Interview",
    "Yoga",
    "Flight",
    "Board meeting",
    "Standup",
    "Release retro",
    "Workshop",
    "Vendor demo",
    "Parents' evening",
    "Gym",
)
PEOPLE = (
    "Maria Schneider",
    "James O'Brien",
    "Yuki Tanaka",
    "Ana Souza",
    "Lars Eriksson",
    "Priya Nair",
    "Chen Wei",
    "Fatima Zahra",
    "Jürgen Müller",
    "Chloé Dubois",
)
PLACES = (
    "Room 4.12, Building B",
    "Zoom",
    "Café Central, Herrengasse 14, Wien",
    "Microsoft Teams Meeting",
    "HQ, 350 Fifth Avenue, New York, NY",
    "東京オフィス 3F",
    "Home office",
    "Conference room Alpha",
)


def escape_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n".join(parts)


def _date_time(name: str, spec: EventSpec, wall: datetime) -> str:
    if spec.all_day:
        return f"{name};VALUE=DATE:{wall:%Y%m%d}"
    if spec.zone == "UTC" and spec.utc_as_z:
        return f"{name}:{wall:%Y%m%dT%H%M%S}Z"
    return f"{name};TZID={spec.zone}:{wall:%Y%m%dT%H%M%S}"


def _utc_stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _description(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(2, 9)):
        words = rng.sample(WORDS, rng.randint(6, 16))
        sentences.append(" ".join(words).capitalize() + rng.choice((".", ".", "?", "; see notes.")))
    paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
    link = f"Join: https://meet.example.com/{rng.getrandbits(32):08x}"
    return "\n\n".join([*paragraphs, link])


def _rule_line(spec: EventSpec, rule: Recurrence) -> str:
    if not rule.use_until:
        return f"RRULE:FREQ={rule.freq};COUNT={rule.count}"
    last = spec.start + (rule.count - 1) * rule.step
    until = datetime.fromtimestamp(to_timestamp(spec, last), UTC) + timedelta(hours=1)
    return f"RRULE:FREQ={rule.freq};UNTIL={_utc_stamp(until)}"


def _end_line(spec: EventSpec, start: datetime) -> str:
    if spec.duration_property:
        minutes = int(spec.duration.total_seconds()) // 60
        return f"DURATION:PT{minutes // 60}H{minutes % 60}M"
    return _date_time("DTEND", spec, start + spec.duration)


def _people(rng: random.Random, lines: list[str]) -> None:
    organizer, *guests = rng.sample(PEOPLE, rng.randint(2, 5))
    lines.append(f"ORGANIZER;CN={organizer}:mailto:{_mailbox(organizer)}@example.com")
    for guest in guests:
        partstat = rng.choice(("ACCEPTED", "ACCEPTED", "TENTATIVE", "NEEDS-ACTION"))
        lines.append(
            f"ATTENDEE;CN={guest};ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};RSVP=TRUE:"
            f"mailto:{_mailbox(guest)}@example.com"
        )


def _mailbox(person: str) -> str:
    return re.sub(r"[^a-z]+", ".", person.lower().encode("ascii", "ignore").decode()).strip(".")


def _vevent(spec: EventSpec, rng: random.Random, sequence: int, note: str) -> list[str]:
    created = RANGE_START - timedelta(days=rng.randint(10, 400), seconds=rng.randrange(86400))
    summary = rng.choice(TOPICS) + (f" ({rng.choice(PEOPLE)})" if rng.random() < 0.3 else "")
    status = rng.choices(("CONFIRMED", "TENTATIVE", "CANCELLED"), weights=(90, 8, 2))[0]
    transparent = (spec.all_day and rng.random() < 0.7) or rng.random() < 0.05
    lines = [
        "BEGIN:VEVENT",
        "UID:" + spec.uid,
        "DTSTAMP:" + _utc_stamp(created),
        "CREATED:" + _utc_stamp(created),
        "LAST-MODIFIED:" + _utc_stamp(created),
        f"SEQUENCE:{sequence}",
        "SUMMARY:" + escape_text(summary + note),
        "LOCATION:" + escape_text(rng.choice(PLACES)),
        "DESCRIPTION:" + escape_text(_description(rng)),
        _date_time("DTSTART", spec, spec.start),
        _end_line(spec, spec.start),
        "STATUS:" + status,
        "TRANSP:" + ("TRANSPARENT" if transparent else "OPAQUE"),
        "CLASS:PUBLIC",
        "CATEGORIES:"
        + ",".join(rng.sample(("Work", "Meeting", "Personal", "Travel", "Family"), 2)),
        "X-MICROSOFT-CDO-BUSYSTATUS:" + ("FREE" if transparent else "BUSY"),
        "X-MICROSOFT-CDO-IMPORTANCE:1",
        "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC",
    ]
    if not spec.all_day and rng.random() < 0.5:
        _people(rng, lines)
    if spec.recurrence is not None:
        lines += _rule_lines(spec, spec.recurrence)
    if rng.random() < 0.4:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:Reminder",
            f"TRIGGER:-PT{rng.choice((5, 10, 15, 30))}M",
            "END:VALARM",
        ]
    return [*lines, "END:VEVENT"]


def _rule_lines(spec: EventSpec, rule: Recurrence) -> list[str]:
    lines = [_rule_line(spec, rule)]
    for number in rule.exdates:
        lines.append(_date_time("EXDATE", spec, spec.start + number * rule.step))
    return lines


def _override(spec: EventSpec, rule: Recurrence, sequence: int) -> list[str]:
    assert rule.moved is not None
    original = spec.start + rule.moved * rule.step
    start = original + rule.moved_by
    return [
        "BEGIN:VEVENT",
        "UID:" + spec.uid,
        "DTSTAMP:20231215T101500Z",
        _date_time("RECURRENCE-ID", spec, original),
        _date_time("DTSTART", spec, start),
        _end_line(spec, start),
        f"SEQUENCE:{sequence + 1}",
        "SUMMARY:Moved occurrence",
        "X-KALENDS-BENCH-OVERRIDE:1",
        "END:VEVENT",
    ]


def render(spec: EventSpec, sequence: int = 0, note: str = "") -> str:
    """The calendar object resource of ``spec`` (a change gets a higher sequence and a note)."""
    rng = random.Random(spec.flavour)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Kalends//CalDAV bench//EN",
        "CALSCALE:GREGORIAN",
        "X-WR-TIMEZONE:Europe/Berlin",
    ]
    if not spec.all_day and not (spec.zone == "UTC" and spec.utc_as_z):
        lines += VTIMEZONES[spec.zone]
    lines += _vevent(spec, rng, sequence, note)
    if spec.recurrence is not None and spec.recurrence.moved is not None:
        lines += _override(spec, spec.recurrence, sequence)
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"


# -------------------------------------------------------------------------------------------------
# Query windows
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # naive UTC
    end: datetime

    @property
    def start_ts(self) -> int:
        return int(self.start.replace(tzinfo=UTC).timestamp())

    @property
    def end_ts(self) -> int:
        return int(self.end.replace(tzinfo=UTC).timestamp())

    def label(self) -> str:
        return f"{self.start.date()}..{self.end.date()}"


def steady_weeks(years: float) -> range:
    """Weeks whose density is steady: series start inside the range and last up to ten months,
    so the first year (or half of a shorter range) is still filling up."""
    weeks = range_weeks(years)
    return range(min(52, weeks // 2), weeks)


def week_windows(years: float, rng: random.Random, count: int) -> list[Window]:
    weeks = steady_weeks(years)
    starts = [RANGE_START + timedelta(weeks=rng.choice(weeks)) for _ in range(count)]
    return [Window(start, start + timedelta(days=7)) for start in starts]


def month_windows(years: float, rng: random.Random, count: int) -> list[Window]:
    weeks = steady_weeks(years)
    first = RANGE_START + timedelta(weeks=weeks.start)
    last = RANGE_START + timedelta(weeks=weeks.stop) - timedelta(days=31)
    months: list[Window] = []
    year, month = first.year, first.month + (first.day > 1)
    while True:
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        start = datetime(year, month, 1)
        if start > last:
            break
        months.append(Window(start, datetime(year + month // 12, month % 12 + 1, 1)))
        month += 1
    return [rng.choice(months) for _ in range(count)]


def calibration(specs: Sequence[EventSpec], years: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    weeks = week_windows(years, rng, 20)
    months = month_windows(years, rng, 10)
    expanded = [occurrences(spec) for spec in specs]

    def hits(window: Window) -> int:
        start, end = window.start_ts, window.end_ts
        return sum(1 for occ in expanded if any(s < end and e > start for s, e in occ))

    return {
        "events_per_week_window": statistics.mean(hits(w) for w in weeks),
        "events_per_month_window": statistics.mean(hits(m) for m in months),
        "recurring_share": sum(s.recurrence is not None for s in specs) / len(specs),
        "all_day_share": sum(s.all_day for s in specs) / len(specs),
        "mean_resource_bytes": statistics.mean(len(render(s).encode()) for s in specs[:500]),
    }


# -------------------------------------------------------------------------------------------------
# Server processes
# -------------------------------------------------------------------------------------------------


class BenchError(RuntimeError):
    """A server misbehaved (unexpected status, early exit): the run cannot go on."""


class ServerProcess:
    """A server started with ``command``; its address is read from its log (``ready``)."""

    def __init__(
        self,
        name: str,
        command: Callable[[], list[str]],
        ready: str,
        cwd: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = command  # called before each start (a fresh port for Radicale)
        self.ready = re.compile(ready)
        self.cwd = cwd  # not the repository: "python -m" puts the working directory first
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.log: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.cwd,
            env=self.env,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._remember(line)
            found = self.ready.search(line)
            if found:
                self.url = "http://" + found.group(1)
                threading.Thread(target=self._drain, daemon=True).start()
                return
        raise BenchError(f"{self.name} exited early:\n{self.tail()}")

    def _remember(self, line: str) -> None:
        self.log.append(line)
        if len(self.log) > 400:
            del self.log[:200]

    def _drain(self) -> None:
        process = self.process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            self._remember(line)

    def tail(self, lines: int = 30) -> str:
        return "".join(self.log[-lines:])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM (peak) of the server process, in MB."""
        values: dict[str, float] = {}
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) / 1024
        return values


def source_environment(source: Path | None) -> dict[str, str] | None:
    """The environment that makes ``python -m kalends`` import the package under ``source``."""
    if source is None:
        return None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


def kalends_server(directory: Path, source: Path | None) -> ServerProcess:
    from kalends.security.passwords import hash_password

    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "kalends.toml"
    config.write_text(
        "\n".join(
            [
                "[server]",
                'host = "127.0.0.1"',
                "port = 0",
                f'data_dir = "{directory / "data"}"',
                "",
                "[auth]",
                "failure_delay = 0.0",
                "",
                f"[users.{USER}]",
                f'password_hash = "{hash_password(PASSWORD)}"',
                f'calendars = ["{CALENDAR.split("/")[2]}", "{GUARD_CALENDAR.split("/")[2]}"]',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "kalends", "serve", "--config", str(config)]
    env = source_environment(source)
    return ServerProcess("kalends", lambda: command, r"listening on http://(\S+)", directory, env)


def free_port() -> int:
    """A port nothing listens on now (Radicale's configuration does not accept port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def radicale_server(directory: Path) -> ServerProcess:
    directory.mkdir(parents=True, exist_ok=True)
    users = directory / "users"
    users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    config = directory / "radicale.conf"

    def command() -> list[str]:
        config.write_text(
            "\n".join(
                [
                    "[server]",
                    f"hosts = 127.0.0.1:{free_port()}",
                    "",
                    "[auth]",
                    "type = htpasswd",
                    f"htpasswd_filename = {users}",
                    "htpasswd_encryption = plain",
                    "",
                    "[rights]",
                    "type = owner_only",
                    "",
                    "[storage]",
                    f"filesystem_folder = {directory / 'collections'}",
                    "",
                    "[web]",
                    "type = none",
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        return [sys.executable, "-m", "radicale", "--config", str(config)]

    return ServerProcess("radicale", command, r"Listening on '([^']+)'", directory)


# -------------------------------------------------------------------------------------------------
# HTTP client and request bodies
# -------------------------------------------------------------------------------------------------


class Dav:
    """One keep-alive connection to a server, Basic auth; every request is timed."""

    def __init__(self, server: ServerProcess, accept_encoding: str) -> None:
        self.server = server
        self.client = httpx.Client(
            base_url=server.url,
            auth=(USER, PASSWORD),
            timeout=900.0,
            headers={"Accept-Encoding": accept_encoding},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        expect: Iterable[int] = (200,),
    ) -> tuple[httpx.Response, float]:
        content = None if body is None else body.encode("utf-8")
        begin = time.perf_counter()
        response = self.client.request(method, path, content=content, headers=headers)
        elapsed = time.perf_counter() - begin
        if response.status_code not in tuple(expect):
            raise BenchError(
                f"{self.server.name} {method} {path} -> {response.status_code} "
                f"{response.text[:500]}\n{self.server.tail()}"
            )
        return response, elapsed

    def put(self, path: str, text: str, create: bool) -> float:
        headers = {"Content-Type": ICS_TYPE}
        if create:
            headers["If-None-Match"] = "*"
        expect = (201,) if create else (201, 204)
        return self.request("PUT", path, text, headers, expect)[1]


def _xml(body: str) -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body


def calendar_query_body(window: Window, with_data: bool = True) -> str:
    data = "<C:calendar-data/>" if with_data else ""
    return _xml(
        f'<C:calendar-query xmlns:D="DAV:" xmlns:C="{CALDAV}">'
        f'<D:prop><D:getetag/>{data}</D:prop><C:filter><C:comp-filter name="VCALENDAR">'
        f'<C:comp-filter name="VEVENT">{_time_range(window)}</C:comp-filter>'
        "</C:comp-filter></C:filter></C:calendar-query>"
    )


def _time_range(window: Window) -> str:
    return f'<C:time-range start="{_utc_stamp(window.start)}" end="{_utc_stamp(window.end)}"/>'


def multiget_body(paths: Iterable[str]) -> str:
    hrefs = "".join(f"<D:href>{path}</D:href>" for path in paths)
    return _xml(
        f'<C:calendar-multiget xmlns:D="DAV:" xmlns:C="{CALDAV}">'
        f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"
    )


def sync_body(token: str) -> str:
    token_element = f"<D:sync-token>{token}</D:sync-token>" if token else "<D:sync-token/>"
    return _xml(
        f'<D:sync-collection xmlns:D="DAV:">{token_element}<D:sync-level>1</D:sync-level>'
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )


def freebusy_body(window: Window) -> str:
    return _xml(f'<C:free-busy-query xmlns:C="{CALDAV}">{_time_range(window)}</C:free-busy-query>')


PROPFIND_BODY = _xml('<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>')


def response_hrefs(response: httpx.Response, status: str = "") -> list[str]:
    """The resource names (last path segment) in a multistatus answer; with ``status``, only the
    responses whose status line contains it."""
    root = ET.fromstring(response.content)
    names = []
    for node in root.iter("{DAV:}response"):
        href = node.findtext("{DAV:}href") or ""
        statuses = " ".join(s.text or "" for s in node.iter("{DAV:}status"))
        if status and status not in statuses:
            continue
        names.append(
            unquote(href.rstrip("/").rsplit("/", 1)[-1]) if href.endswith(".ics") else href
        )
    return names


def sync_token(response: httpx.Response) -> str:
    return ET.fromstring(response.content).findtext("{DAV:}sync-token") or ""


def freebusy_periods_of(text: str) -> set[str]:
    unfolded = text.replace("\r\n ", "").replace("\n ", "")
    periods: set[str] = set()
    for line in unfolded.splitlines():
        if line.startswith("FREEBUSY"):
            params, _, value = line.partition(":")
            periods.update(f"{params} {period}" for period in value.split(","))
    return periods


# -------------------------------------------------------------------------------------------------
# Operations
# -------------------------------------------------------------------------------------------------

XML_TYPE = "application/xml; charset=utf-8"
DEPTH1 = {"Depth": "1", "Content-Type": XML_TYPE}
DEPTH0 = {"Depth": "0", "Content-Type": XML_TYPE}


@dataclass
class Session:
    """The state the operations on one calendar share during one measurement."""

    dav: Dav
    calendar: str
    specs: dict[str, EventSpec]  # href -> event, for every loaded event
    years: float
    new_events: Iterator[EventSpec]
    rng: random.Random = field(default_factory=random.Random)
    created: list[str] = field(default_factory=list)  # made by put_new, removed by delete
    token: str = ""
    version: int = 0
    sizes: dict[str, list[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def hrefs(self) -> list[str]:
        return list(self.specs)

    def note(self, op: str, size: int) -> None:
        self.sizes.setdefault(op, []).append(size)

    def report(
        self, body: str, headers: dict[str, str], expect: int = 207
    ) -> tuple[httpx.Response, float]:
        return self.dav.request("REPORT", self.calendar, body, headers, (expect,))


def op_get_event(s: Session) -> float:
    return s.dav.request("GET", s.calendar + s.rng.choice(s.hrefs))[1]


def _time_range_query(s: Session, op: str, window: Window) -> float:
    response, elapsed = s.report(calendar_query_body(window), DEPTH1)
    s.note(op, len(response_hrefs(response)))
    return elapsed


def op_week_query(s: Session) -> float:
    return _time_range_query(s, "week_query", week_windows(s.years, s.rng, 1)[0])


def op_month_query(s: Session) -> float:
    return _time_range_query(s, "month_query", month_windows(s.years, s.rng, 1)[0])


def op_multiget_100(s: Session) -> float:
    wanted = s.rng.sample(s.hrefs, min(100, len(s.specs)))
    response, elapsed = s.report(multiget_body(s.calendar + h for h in wanted), DEPTH1)
    got = response_hrefs(response, " 200")
    if sorted(got) != sorted(wanted):
        s.failures.append(f"multiget: asked {len(wanted)} hrefs, got {len(got)} with 200")
    s.note("multiget_100", len(got))
    return elapsed


def op_freebusy_month(s: Session) -> float:
    window = month_windows(s.years, s.rng, 1)[0]
    response, elapsed = s.report(freebusy_body(window), DEPTH1, expect=200)
    s.note("freebusy_month", len(freebusy_periods_of(response.text)))
    return elapsed


def op_propfind_depth1(s: Session) -> float:
    response, elapsed = s.dav.request("PROPFIND", s.calendar, PROPFIND_BODY, DEPTH1, (207,))
    s.note("propfind_depth1", len(response_hrefs(response)) - 1)
    return elapsed


def op_get_collection(s: Session) -> float:
    response, elapsed = s.dav.request("GET", s.calendar)
    s.note("get_collection", response.text.count("BEGIN:VEVENT"))
    return elapsed


def op_sync_initial(s: Session) -> float:
    response, elapsed = s.report(sync_body(""), DEPTH0)
    found = response_hrefs(response, " 200")
    s.token = sync_token(response)
    if len(found) != len(s.specs):
        s.failures.append(f"initial sync: {len(found)} hrefs for {len(s.specs)} events")
    s.note("sync_initial", len(found))
    return elapsed


def op_sync_delta(s: Session) -> float:
    """Change 10 events (not timed), then time the delta REPORT from the previous token."""
    if not s.token:
        s.token = sync_token(s.report(sync_body(""), DEPTH0)[0])
    changed = s.rng.sample(s.hrefs, min(10, len(s.specs)))
    for href in changed:
        s.version += 1
        text = render(s.specs[href], sequence=s.version, note=f" [changed {s.version}]")
        s.dav.put(s.calendar + href, text, create=False)
    response, elapsed = s.report(sync_body(s.token), DEPTH0)
    got = response_hrefs(response)
    s.token = sync_token(response)
    if sorted(got) != sorted(changed):
        s.failures.append(f"sync delta: changed {sorted(changed)}, reported {sorted(got)}")
    s.note("sync_delta", len(got))
    return elapsed


def op_put_new(s: Session) -> float:
    spec = next(s.new_events)
    elapsed = s.dav.put(s.calendar + spec.href, render(spec), create=True)
    s.created.append(spec.href)
    return elapsed


def op_delete(s: Session) -> float:
    if not s.created:
        op_put_new(s)
    href = s.created.pop()
    return s.dav.request("DELETE", s.calendar + href, expect=(200, 204))[1]


Operation = Callable[[Session], float]
# name, function, slow (fewer repeats); the order is the order of measurement
OPERATIONS: tuple[tuple[str, Operation, bool], ...] = (
    ("get_event", op_get_event, False),
    ("week_query", op_week_query, False),
    ("month_query", op_month_query, False),
    ("multiget_100", op_multiget_100, False),
    ("freebusy_month", op_freebusy_month, True),
    ("propfind_depth1", op_propfind_depth1, True),
    ("get_collection", op_get_collection, True),
    ("sync_initial", op_sync_initial, True),
    ("sync_delta", op_sync_delta, False),
    ("put_new", op_put_new, False),
    ("delete", op_delete, False),
)
LABELS = {
    "first_request": "first request after restart (OPTIONS, login)",
    "get_event": "GET one event",
    "week_query": "calendar-query week (etag + data)",
    "month_query": "calendar-query month (etag + data)",
    "multiget_100": "calendar-multiget 100 hrefs",
    "freebusy_month": "free-busy REPORT month",
    "propfind_depth1": "PROPFIND Depth 1 (getetag)",
    "get_collection": "GET whole collection",
    "sync_initial": "sync-collection initial",
    "sync_delta": "sync-collection delta (10 changes)",
    "put_new": "PUT new event",
    "delete": "DELETE event",
}


# -------------------------------------------------------------------------------------------------
# Statistics
# -------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """Milliseconds: the first sample is the cold one, the rest are warm."""
    ms = [round(value * MS, 3) for value in samples]
    warm = ms[1:] or ms
    return {
        "samples_ms": ms,
        "cold_ms": ms[0],
        "p50_ms": round(statistics.median(warm), 3),
        "p95_ms": round(percentile(warm, 0.95), 3),
        "warm_count": len(warm),
    }


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -------------------------------------------------------------------------------------------------
# Load, measurement sessions and the correctness guard
# -------------------------------------------------------------------------------------------------


def load(dav: Dav, calendar: str, specs: Sequence[EventSpec], label: str) -> dict[str, Any]:
    """PUT every event, one at a time, and keep every latency."""
    latencies: list[float] = []
    step = max(1, len(specs) // 10)
    begin = time.perf_counter()
    for number, spec in enumerate(specs, 1):
        latencies.append(dav.put(calendar + spec.href, render(spec), create=True))
        if number % step == 0:
            progress(
                f"{label}: loaded {number}/{len(specs)} "
                f"({number / (time.perf_counter() - begin):.0f} events/s)"
            )
    wall = time.perf_counter() - begin
    tenth = max(1, len(latencies) // 10)
    deciles = [latencies[i : i + tenth] for i in range(0, len(latencies), tenth)][:10]
    return {
        "events": len(specs),
        "wall_s": round(wall, 3),
        "events_per_s": round(len(specs) / wall, 1),
        "put_p50_ms": round(statistics.median(latencies) * MS, 3),
        "put_p95_ms": round(percentile(latencies, 0.95) * MS, 3),
        "decile_p50_ms": [round(statistics.median(d) * MS, 3) for d in deciles],
    }


def measure(
    server: ServerProcess,
    calendar: str,
    specs: Sequence[EventSpec],
    args: argparse.Namespace,
    label: str,
) -> dict[str, Any]:
    """Restart the server, then run every operation; the first call of each is the cold one."""
    server.restart()
    dav = Dav(server, args.accept_encoding)
    new_events = event_stream(args.years, args.seed, prefix="new")
    session = Session(dav, calendar, {s.href: s for s in specs}, args.years, new_events)
    results: dict[str, Any] = {}
    try:
        results["first_request"] = summarize([dav.request("OPTIONS", "/")[1]])
        for name, operation, slow in OPERATIONS:
            session.rng = random.Random(f"{args.seed}:{name}")
            count = args.slow_repeat if slow else args.repeat
            results[name] = summarize([operation(session) for _ in range(count)])
            results[name]["result_sizes"] = session.sizes.get(name, [])
            progress(
                f"{label}: {name}: p50 {results[name]['p50_ms']:.1f} ms, "
                f"cold {results[name]['cold_ms']:.1f} ms"
            )
        memory = server.memory()
    finally:
        dav.close()
    return {"operations": results, "memory_end_mb": memory, "failures": session.failures}


def query_hrefs(dav: Dav, calendar: str, window: Window) -> set[str]:
    response, _ = dav.request(
        "REPORT", calendar, calendar_query_body(window, with_data=False), DEPTH1, (207,)
    )
    return set(response_hrefs(response))


def freebusy_of(dav: Dav, calendar: str, window: Window) -> set[str]:
    response, _ = dav.request("REPORT", calendar, freebusy_body(window), DEPTH1, (200,))
    return freebusy_periods_of(response.text)


@dataclass
class Guard:
    """Checks that the servers give the same (and the expected) answers."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def compare(self, what: str, window: Window, left: set[str], right: set[str]) -> bool:
        if left == right:
            return True
        only_left, only_right = sorted(left - right)[:5], sorted(right - left)[:5]
        self.failures.append(
            f"{what} differ on {window.label()}: only first {only_left}, only second {only_right}"
        )
        return False


def run_guard(
    kalends: Dav,
    radicale: Dav | None,
    specs: Sequence[EventSpec],
    shared: Sequence[EventSpec],
    args: argparse.Namespace,
) -> Guard:
    """Kalends vs stock Radicale on the shared set, and both vs the generator's own expansion."""
    guard = Guard()
    rng = random.Random(f"{args.seed}:guard")
    windows = week_windows(args.years, rng, 6) + month_windows(args.years, rng, 2)
    for window in windows:
        row: dict[str, Any] = {"window": window.label()}
        model = expected_hrefs(specs, window.start_ts, window.end_ts)
        full = query_hrefs(kalends, CALENDAR, window)
        row.update(
            model_n=len(model),
            kalends_n=len(full),
            kalends_n_ok=guard.compare("Kalends (N) and the model", window, full, model),
        )
        if radicale is not None:
            row.update(_shared_row(guard, kalends, radicale, shared, window))
        guard.rows.append(row)
    if radicale is not None:
        window = windows[-1]
        left = freebusy_of(kalends, GUARD_CALENDAR, window)
        right = freebusy_of(radicale, CALENDAR, window)
        guard.rows.append(
            {
                "window": window.label() + " free-busy",
                "kalends_m": len(left),
                "radicale_m": len(right),
                "same": guard.compare("free-busy periods", window, left, right),
            }
        )
    return guard


def _shared_row(
    guard: Guard, kalends: Dav, radicale: Dav, shared: Sequence[EventSpec], window: Window
) -> dict[str, Any]:
    model = expected_hrefs(shared, window.start_ts, window.end_ts)
    ours = query_hrefs(kalends, GUARD_CALENDAR, window)
    stock = query_hrefs(radicale, CALENDAR, window)
    same = guard.compare("Kalends and Radicale (M)", window, ours, stock)
    guard.compare("Radicale (M) and the model", window, stock, model)
    return {"model_m": len(model), "kalends_m": len(ours), "radicale_m": len(stock), "same": same}


# -------------------------------------------------------------------------------------------------
# Targets
# -------------------------------------------------------------------------------------------------

# (what, limit, unit): an operation's warm p50 in ms, "load" in s, "rss" (peak VmHWM) in MB
TARGETS: dict[tuple[int, int], tuple[tuple[str, float, str], ...]] = {
    (10_000, 2): (
        ("week_query", 25, "ms"),
        ("month_query", 60, "ms"),
        ("put_new", 10, "ms"),
        ("delete", 10, "ms"),
        ("sync_delta", 10, "ms"),
        ("sync_initial", 1000, "ms"),
        ("multiget_100", 15, "ms"),
        ("freebusy_month", 150, "ms"),
        ("propfind_depth1", 400, "ms"),
        ("get_collection", 500, "ms"),
        ("load", 60, "s"),
    ),
    (100_000, 20): (("week_query", 30, "ms"), ("put_new", 12, "ms"), ("rss", 300, "MB")),
}


def evaluate_targets(results: dict[str, Any], events: int, years: float) -> dict[str, Any]:
    """Pass/fail of Kalends against the profile nearest to this run (binding only on it)."""
    profile = (100_000, 20) if events >= 50_000 else (10_000, 2)
    binding = (events, years) == profile
    kalends = results["sessions"]["kalends"]
    rows = []
    for what, limit, unit in TARGETS[profile]:
        if what == "load":
            measured = results["load"]["kalends"]["wall_s"]
        elif what == "rss":
            measured = results["memory"]["kalends_peak_hwm_mb"]
        else:
            measured = kalends["operations"][what]["p50_ms"]
        rows.append(
            {
                "target": what,
                "limit": limit,
                "unit": unit,
                "measured": measured,
                "pass": measured <= limit,
            }
        )
    return {
        "profile_events": profile[0],
        "profile_years": profile[1],
        "binding": binding,
        "rows": rows,
    }


# -------------------------------------------------------------------------------------------------
# Markdown report
# -------------------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _op_cells(session: dict[str, Any] | None, name: str) -> list[str]:
    if session is None:
        return ["-", "-", "-"]
    op = session["operations"][name]
    return [_ms(op["p50_ms"]), _ms(op["p95_ms"]), _ms(op["cold_ms"])]


def _ratio(stock: dict[str, Any] | None, ours: dict[str, Any] | None, name: str) -> str:
    if stock is None or ours is None:
        return "-"
    ratio = stock["operations"][name]["p50_ms"] / max(ours["operations"][name]["p50_ms"], 1e-6)
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def _sizes(session: dict[str, Any] | None, name: str) -> str:
    if session is None:
        return "-"
    sizes = session["operations"][name].get("result_sizes") or []
    return f"{statistics.mean(sizes):.0f}" if sizes else ""


def operations_table(results: dict[str, Any]) -> list[str]:
    sessions = results["sessions"]
    n, m = results["config"]["events"], results["config"]["radicale_events"]
    ours, ours_m, stock = (sessions.get(k) for k in ("kalends", "kalends_m", "radicale"))
    reference = ours_m or (ours if m == n else None)
    if stock is None:
        header = ["operation", f"Kalends N={n} p50", "p95", "cold", "results"]
        names = ("first_request", *(op[0] for op in OPERATIONS))
        return _table(header, ([LABELS[k], *_op_cells(ours, k), _sizes(ours, k)] for k in names))
    header = [
        "operation",
        f"Kalends N={n} p50",
        "p95",
        "cold",
        "results",
        f"Kalends N={m} p50",
        "p95",
        "cold",
        f"Radicale N={m} p50",
        "p95",
        "cold",
        "results",
        f"Radicale/Kalends at N={m} (p50)",
    ]
    rows = []
    for name in ("first_request", *(op[0] for op in OPERATIONS)):
        ours_m_cells = _op_cells(ours_m, name) if ours_m is not None else ["(same)"] * 3
        rows.append(
            [
                LABELS[name],
                *_op_cells(ours, name),
                _sizes(ours, name),
                *ours_m_cells,
                *_op_cells(stock, name),
                _sizes(stock, name),
                _ratio(stock, reference, name),
            ]
        )
    return _table(header, rows)


def load_table(results: dict[str, Any]) -> list[str]:
    rows = []
    for key, run in results["load"].items():
        deciles = run["decile_p50_ms"]
        rows.append(
            [
                key,
                run["events"],
                f"{run['wall_s']:.1f}",
                f"{run['events_per_s']:.0f}",
                _ms(run["put_p50_ms"]),
                _ms(run["put_p95_ms"]),
                _ms(deciles[0]),
                _ms(deciles[-1]),
            ]
        )
    header = [
        "calendar",
        "events",
        "total s",
        "events/s",
        "PUT p50 ms",
        "PUT p95 ms",
        "first 10% p50 ms",
        "last 10% p50 ms",
    ]
    return _table(header, rows)


def memory_table(results: dict[str, Any]) -> list[str]:
    rows = []
    for key, values in results["memory"]["processes"].items():
        rows.append([key, *(f"{values.get(k, 0):.0f}" for k in ("VmRSS", "VmHWM"))])
    return _table(["process, moment", "VmRSS MB", "VmHWM MB (peak)"], rows)


def targets_table(targets: dict[str, Any]) -> list[str]:
    binding = targets["binding"]
    rows = []
    for row in targets["rows"]:
        verdict = "PASS" if row["pass"] else "FAIL"
        rows.append(
            [
                LABELS.get(row["target"], row["target"]),
                f"<= {row['limit']} {row['unit']}",
                _ms(row["measured"]) + " " + row["unit"],
                verdict if binding else f"({verdict.lower()}, indicative)",
            ]
        )
    return _table(["target (Kalends, warm p50)", "limit", "measured", "result"], rows)


def guard_table(results: dict[str, Any]) -> list[str]:
    rows = results["guard"]["rows"]
    keys = [
        "window",
        "model_n",
        "kalends_n",
        "kalends_n_ok",
        "model_m",
        "kalends_m",
        "radicale_m",
        "same",
    ]
    return _table(keys, ([row.get(k, "") for k in keys] for row in rows))


def _source_line(source: dict[str, Any]) -> str:
    commit = f", git {source['git_commit']}" if source["git_commit"] else ""
    changes = source["uncommitted_changes"]
    dirty = f", {len(changes)} uncommitted changes" if changes else ""
    return f"Kalends package: `{source['package']}`{commit}{dirty}."


def _machine_line(meta: dict[str, Any]) -> str:
    start = ", ".join(f"{v:.1f}" for v in meta["load_average_start"])
    end = ", ".join(f"{v:.1f}" for v in meta["load_average_end"])
    return (
        f"Machine: {meta['cpus']} CPUs, Python {meta['python']}; load average {start} at the "
        f"start, {end} at the end (client and servers share the machine); run "
        f"{meta['run_s']:.0f} s."
    )


def _intro(config: dict[str, Any], calib: dict[str, float]) -> str:
    stock = (
        "stock Radicale not measured (--skip-radicale)"
        if config["skip_radicale"]
        else f"M={config['radicale_events']} (stock Radicale and the shared guard calendar)"
    )
    return (
        f"N={config['events']} events over {config['years']} years (Kalends), {stock}; "
        f"seed {config['seed']}; repeats {config['repeat']} (slow ops {config['slow_repeat']}); "
        f"Accept-Encoding: {config['accept_encoding']}. "
        f"Data: {calib['recurring_share']:.0%} recurring, {calib['all_day_share']:.0%} all-day, "
        f"{calib['mean_resource_bytes']:.0f} bytes per resource; a week window holds "
        f"{calib['events_per_week_window']:.0f} events, a month "
        f"{calib['events_per_month_window']:.0f} (at N)."
    )


def markdown(results: dict[str, Any]) -> str:
    config, calib = results["config"], results["calibration"]
    lines = [
        f"## CalDAV benchmark: Kalends (SQLite) vs stock Radicale {results['meta']['radicale']}",
        "",
        _intro(config, calib),
        "",
        _source_line(results["meta"]["kalends_source"]) + " " + _machine_line(results["meta"]),
        "",
        "### Load (sequential PUT, one connection)",
        "",
        *load_table(results),
        "",
        "### Operations (ms; p50/p95 over the warm calls; cold = first call after a restart)",
        "",
        *operations_table(results),
        "",
        "### Server memory",
        "",
        *memory_table(results),
        "",
    ]
    if results.get("targets"):
        targets = results["targets"]
        title = (
            f"### Targets at N={targets['profile_events']} over {targets['profile_years']} years"
        )
        if not targets["binding"]:
            title += " (this run has another size: indicative only)"
        lines += [title, "", *targets_table(targets), ""]
    lines += ["### Correctness guard (sets of hrefs answered)", "", *guard_table(results), ""]
    failures = results["failures"]
    lines += (
        ["**CORRECTNESS: FAILED**", *(f"- {f}" for f in failures)]
        if failures
        else ["Correctness guard: all answers agree."]
    )
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------------------
# Orchestration
# -------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events for Kalends (N)")
    parser.add_argument("--years", type=float, default=2.0, help="years the events span")
    parser.add_argument(
        "--radicale-events",
        type=int,
        default=1_000,
        help="events loaded in stock Radicale, also the shared guard set (M)",
    )
    parser.add_argument("--skip-radicale", action="store_true", help="measure Kalends only")
    parser.add_argument("--repeat", type=int, default=30, help="calls per fast operation")
    parser.add_argument("--slow-repeat", type=int, default=10, help="calls per slow operation")
    parser.add_argument("--seed", type=int, default=20240101)
    parser.add_argument(
        "--accept-encoding",
        default="gzip, deflate",
        help="Accept-Encoding of every request (as CalDAV clients send it); "
        "'identity' measures without response compression",
    )
    parser.add_argument("--workdir", type=Path, help="keep the servers' data here (new directory)")
    parser.add_argument("--results-dir", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--kalends-source",
        type=Path,
        help="directory holding the kalends package to serve (e.g. an exported "
        "commit); default: the installed one",
    )
    parser.add_argument(
        "--calibrate", action="store_true", help="print the generated data's density and exit"
    )
    args = parser.parse_args(argv)
    if args.repeat < 2 or args.slow_repeat < 2:
        parser.error("--repeat and --slow-repeat need at least 2 (one cold call, warm calls)")
    return args


@contextmanager
def workspace(path: Path | None) -> Iterator[Path]:
    if path is None:
        with tempfile.TemporaryDirectory(prefix="caldav-bench-") as directory:
            yield Path(directory)
        return
    if path.exists() and any(path.iterdir()):
        raise SystemExit(f"--workdir {path} is not empty")
    path.mkdir(parents=True, exist_ok=True)
    yield path.resolve()


def meta(kalends_source: Path | None) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "radicale": version("radicale"),
        "kalends": version("kalends"),
        "httpx": version("httpx"),
        "kalends_source": kalends_location(kalends_source),
        "load_average_end": os.getloadavg(),
    }


def kalends_location(source: Path | None) -> dict[str, Any]:
    """Where the served kalends package comes from, and its git state when it has one."""
    probe = subprocess.run(
        [sys.executable, "-c", "import kalends, os; print(os.path.dirname(kalends.__file__))"],
        capture_output=True,
        text=True,
        check=False,
        env=source_environment(source),
        cwd=tempfile.gettempdir(),
    )
    package = Path(probe.stdout.strip() or ".")

    def git(*words: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(package), *words], capture_output=True, text=True, check=False
            )
        except OSError:
            return ""
        return done.stdout if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", ".").splitlines()
    return {
        "package": str(package),
        "git_commit": git("rev-parse", "--short", "HEAD").strip(),
        "uncommitted_changes": changed,
    }


@dataclass
class Run:
    """Everything one benchmark run produces."""

    args: argparse.Namespace
    specs: list[EventSpec]
    shared: list[EventSpec]
    load: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    guard: Guard = field(default_factory=Guard)


def load_servers(run: Run, kalends: ServerProcess, radicale: ServerProcess | None) -> None:
    kalends.start()
    ours = Dav(kalends, run.args.accept_encoding)
    stock: Dav | None = None
    try:
        run.load["kalends"] = load(ours, CALENDAR, run.specs, "kalends")
        run.memory["kalends, after load"] = kalends.memory()
        if radicale is not None:
            run.load["kalends_guard"] = load(ours, GUARD_CALENDAR, run.shared, "kalends guard")
            radicale.start()
            stock = Dav(radicale, run.args.accept_encoding)
            stock.request("MKCALENDAR", CALENDAR, expect=(201,))
            run.load["radicale"] = load(stock, CALENDAR, run.shared, "radicale")
            run.memory["radicale, after load"] = radicale.memory()
        progress("correctness guard")
        run.guard = run_guard(ours, stock, run.specs, run.shared, run.args)
    finally:
        ours.close()
        if stock is not None:
            stock.close()


def measure_servers(run: Run, kalends: ServerProcess, radicale: ServerProcess | None) -> None:
    run.sessions["kalends"] = measure(kalends, CALENDAR, run.specs, run.args, "kalends")
    run.memory["kalends, end"] = run.sessions["kalends"]["memory_end_mb"]
    if radicale is None:
        return
    if len(run.shared) < len(run.specs):
        run.sessions["kalends_m"] = measure(
            kalends, GUARD_CALENDAR, run.shared, run.args, "kalends_m"
        )
        run.memory["kalends (guard calendar), end"] = run.sessions["kalends_m"]["memory_end_mb"]
    run.sessions["radicale"] = measure(radicale, CALENDAR, run.shared, run.args, "radicale")
    run.memory["radicale, end"] = run.sessions["radicale"]["memory_end_mb"]


def execute(run: Run, directory: Path) -> None:
    kalends = kalends_server(directory / "kalends", run.args.kalends_source)
    radicale = None if run.args.skip_radicale else radicale_server(directory / "radicale")
    try:
        load_servers(run, kalends, radicale)
        measure_servers(run, kalends, radicale)
    finally:
        kalends.stop()
        if radicale is not None:
            radicale.stop()


def collect(run: Run, calib: dict[str, float]) -> dict[str, Any]:
    args = run.args
    failures = list(run.guard.failures)
    for key, session in run.sessions.items():
        failures += [f"{key}: {failure}" for failure in session["failures"]]
    kalends_hwm = [v.get("VmHWM", 0.0) for k, v in run.memory.items() if k.startswith("kalends")]
    results: dict[str, Any] = {
        "meta": meta(args.kalends_source),
        "config": {
            "events": args.events,
            "years": args.years,
            "radicale_events": len(run.shared),
            "skip_radicale": args.skip_radicale,
            "repeat": args.repeat,
            "slow_repeat": args.slow_repeat,
            "seed": args.seed,
            "accept_encoding": args.accept_encoding,
        },
        "calibration": calib,
        "load": run.load,
        "sessions": run.sessions,
        "memory": {"processes": run.memory, "kalends_peak_hwm_mb": max(kalends_hwm)},
        "guard": {"rows": run.guard.rows, "failures": run.guard.failures},
        "failures": failures,
    }
    results["targets"] = evaluate_targets(results, args.events, args.years)
    return results


def write_results(results: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (time.strftime("%Y%m%dT%H%M%S") + ".json")
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # stop the servers on SIGTERM too (the finally blocks run on SystemExit)
    signal.signal(signal.SIGTERM, lambda _signo, _frame: sys.exit(143))
    specs = generate(args.events, args.years, args.seed)
    calib = calibration(specs, args.years, args.seed)
    if args.calibrate:
        print(json.dumps(calib, indent=1))
        return 0
    shared = [] if args.skip_radicale else specs[: min(args.radicale_events, args.events)]
    run = Run(args, specs, shared)
    begin, load_average = time.monotonic(), os.getloadavg()
    with workspace(args.workdir) as directory:
        execute(run, directory)
    results = collect(run, calib)
    results["meta"]["run_s"] = round(time.monotonic() - begin, 1)
    results["meta"]["load_average_start"] = load_average
    path = write_results(results, args.results_dir)
    print(markdown(results))
    print(f"Raw results: {path}")
    if results["failures"]:
        banner = "!" * 78
        print(
            f"\n{banner}\nCORRECTNESS FAILURE: the servers do not give the same answers\n"
            + "\n".join(results["failures"])
            + f"\n{banner}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
