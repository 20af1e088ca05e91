"""The one interface every provider implements, its capability flags and its exception tree.

A bridge speaks iCalendar to the sync engine: every event it hands over or receives is one
calendar object (a VCALENDAR holding the VEVENTs of one UID: the master and its overridden
instances). What the provider calls an event is the bridge's business; the engine only sees
``remote_id`` (the provider's stable key), ``version`` (its etag / changeKey / mtime) and the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Flag, auto
from typing import Protocol, runtime_checkable

__all__ = [
    "AuthExpired",
    "Bridge",
    "BridgeError",
    "Capability",
    "ChangePage",
    "InvalidCursor",
    "NotFound",
    "PreconditionFailed",
    "RateLimited",
    "RemoteChange",
    "RemoteDeletion",
    "RemoteEvent",
    "SourceOptionError",
    "Transient",
    "Unsupported",
    "Watch",
]


class Capability(Flag):
    """What a provider can do; the engine never asks a bridge for what it lacks."""

    NONE = 0
    READ_ONLY = auto()  # no create, update or delete at all (ICS feeds)
    NO_DELETE = auto()  # events cannot be removed, only changed
    RECURRENCE = auto()  # RRULE series are stored as series
    OVERRIDES = auto()  # overridden instances (RECURRENCE-ID) are stored
    PUSH = auto()  # ``watch`` signals remote changes without polling
    X_PROPERTIES = auto()  # unknown X- properties survive a round trip


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """One calendar object as the provider holds it now."""

    remote_id: str
    version: str
    ical: str
    uid: str


@dataclass(frozen=True, slots=True)
class RemoteDeletion:
    remote_id: str


RemoteChange = RemoteEvent | RemoteDeletion


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of a change listing.

    ``next_page`` continues the same listing; the final page has ``next_page=None`` and carries
    the ``cursor`` to pass to the next listing. ``complete`` pages form a full listing (the first
    listing, or one after an invalid cursor): an event absent from it no longer exists, unless
    its id is in ``unreadable`` (it exists but cannot be read now, e.g. a note that does not
    parse: the engine leaves it alone).
    """

    changes: Sequence[RemoteChange]
    next_page: str | None
    cursor: str | None
    complete: bool
    unreadable: Sequence[str] = ()


class Watch(Protocol):
    """A running push subscription; ``close`` ends it."""

    async def close(self) -> None: ...


@runtime_checkable
class Bridge(Protocol):
    """A provider's calendar, seen as calendar objects keyed by ``remote_id``."""

    @property
    def capabilities(self) -> Capability: ...

    async def list_changes(self, cursor: str | None, page: str | None = None) -> ChangePage:
        """Changes since ``cursor`` (None: a full listing); raises InvalidCursor when expired."""
        ...

    async def get(self, remote_id: str) -> RemoteEvent:
        """The event now; raises NotFound."""
        ...

    async def find_by_uid(self, uid: str) -> RemoteEvent | None:
        """The event carrying this iCalendar UID, so a retried create never duplicates."""
        ...

    async def create(self, ical: str, uid: str) -> RemoteEvent:
        """Store a new event; Unsupported when the provider cannot hold it."""
        ...

    async def update(self, remote_id: str, ical: str, if_match: str) -> RemoteEvent:
        """Replace the event; PreconditionFailed when its version is no longer ``if_match``."""
        ...

    async def delete(self, remote_id: str, if_match: str | None) -> None:
        """Remove the event; NotFound when it is already gone."""
        ...

    async def watch(self, notify: Callable[[], None]) -> Watch | None:
        """Call ``notify`` whenever the provider signals a change; None when it cannot push."""
        ...

    async def aclose(self) -> None: ...


class SourceOptionError(ValueError):
    """A source's options in the admin file are wrong; the message names the option."""


class BridgeError(Exception):
    """Anything a provider call can fail with. ``retryable`` errors are tried again later."""

    retryable = False


class AuthExpired(BridgeError):
    """The credentials no longer work; an admin has to sign in again."""


class RateLimited(BridgeError):
    retryable = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transient(BridgeError):
    """A timeout, a dropped connection, a 5xx: the same call may well work a moment later."""

    retryable = True


class PreconditionFailed(BridgeError):
    """The event changed since the version the caller named."""


class NotFound(BridgeError):
    pass


class InvalidCursor(BridgeError):
    """The cursor expired or was never valid: reconcile against a full listing."""


class Unsupported(BridgeError):
    """The provider cannot express this event (a reason a user can act on)."""
