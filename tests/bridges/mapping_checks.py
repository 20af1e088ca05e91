"""Helpers both provider mapping tests use: hand-written calendar objects and their lines."""

from __future__ import annotations

from datetime import date, datetime

from kalends.ical import parse

__all__ = ["alarms", "escape", "lines", "master_lines", "timed", "vcal", "vevents"]


def vevents(ical: str) -> list[list[str]]:
    return [list(event.lines) for event in parse(ical).sub("VEVENT")]


def master_lines(ical: str) -> list[str]:
    return next(lines for lines in vevents(ical) if not any("RECURRENCE-ID" in x for x in lines))


def alarms(ical: str) -> list[list[str]]:
    return [list(alarm.lines) for event in parse(ical).sub("VEVENT") for alarm in event.children]


def vcal(*events: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        + "".join(f"BEGIN:VEVENT\r\n{body}END:VEVENT\r\n" for body in events)
        + "END:VCALENDAR\r\n"
    )


def lines(*content: str) -> str:
    return "".join(f"{line}\r\n" for line in content)


def escape(text: str) -> str:
    """A TEXT value as a test writes it by hand."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _value(moment: date | datetime, form: str) -> tuple[str, str]:
    """(parameters, value) of a DATE / DATE-TIME in ``form``: date, UTC, floating or a TZID."""
    if not isinstance(moment, datetime):
        return ";VALUE=DATE", moment.strftime("%Y%m%d")
    text = moment.strftime("%Y%m%dT%H%M%S")
    if form == "UTC":
        return "", text + "Z"
    if form == "floating":
        return "", text
    return f";TZID={form}", text


def timed(name: str, moment: date | datetime, form: str) -> str:
    params, text = _value(moment, form)
    return f"{name}{params}:{text}"
