"""The calendars of one provider account, as a source entry naming several of them sees them.

A provider that offers this (Google's calendarList, Graph's ``/me/calendars``) exports
``DEFAULT_CALENDAR`` (the ``calendar`` option's default: the account's own calendar) and
``list_calendars(options, context)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from kalends.bridges.context import SourceContext

__all__ = ["AccountCalendar", "CalendarLister"]


@dataclass(frozen=True, slots=True)
class AccountCalendar:
    calendar_id: str
    title: str
    writable: bool = True  # false: the account may only read it (a holiday or shared calendar)
    primary: bool = False  # the account's own calendar (Google's primary, Outlook's default)


class CalendarLister(Protocol):
    async def __call__(
        self, options: Mapping[str, object], context: SourceContext
    ) -> list[AccountCalendar]: ...
