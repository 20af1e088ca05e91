"""Outlook's one reminder <-> a VALARM.

Graph keeps a single reminder (minutes before the start): the first VALARM it can say exactly
that way maps to it, the other alarms are carried as they are.
"""

from __future__ import annotations

from kalends.bridges.icalmap import trigger_minutes
from kalends.ical import Component

__all__ = [
    "ALARM_TEXT",
    "reminder_alarm",
    "reminder_minutes",
]

ALARM_TEXT = "Reminder"


def reminder_minutes(alarm: Component) -> int | None:
    """The minutes before the start of a VALARM Outlook's one reminder can be: DISPLAY, one
    TRIGGER relative to the start, whole minutes, no repetition."""
    if alarm.name != "VALARM" or (alarm.first("ACTION") or "").strip().upper() != "DISPLAY":
        return None
    return trigger_minutes(alarm)


def reminder_alarm(minutes: int) -> Component:
    lines = ("ACTION:DISPLAY", f"TRIGGER:-PT{minutes}M", f"DESCRIPTION:{ALARM_TEXT}")
    return Component("VALARM", lines)
