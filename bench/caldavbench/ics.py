"""iCalendar rendering of the generated events (VTIMEZONE text as clients send it; the
generator's own expansion uses zoneinfo)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

from .model import RANGE_START, EventSpec, Recurrence, to_timestamp, utc_stamp

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
    return f"RRULE:FREQ={rule.freq};UNTIL={utc_stamp(until)}"


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
        "DTSTAMP:" + utc_stamp(created),
        "CREATED:" + utc_stamp(created),
        "LAST-MODIFIED:" + utc_stamp(created),
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
