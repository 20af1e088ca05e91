"""Note text <-> one iCalendar object text: the two directions of the bridge in one place.

The bridge adds files, versions and paths around these; tests use them to check round trips.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kalends.bridges.obsidian.catalog import ParsedNote, parse_note
from kalends.bridges.obsidian.frontmatter import rewrite, split
from kalends.bridges.obsidian.icalin import event_from_ical
from kalends.bridges.obsidian.icalout import ZoneBlocks, to_ical
from kalends.bridges.obsidian.model import EventData
from kalends.bridges.obsidian.notewrite import frontmatter_updates

__all__ = ["ical_to_note", "note_to_ical", "note_updates"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def note_to_ical(
    text: str, remote_id: str, *, stamp: datetime = _EPOCH, zones: ZoneBlocks | None = None
) -> str:
    """The VCALENDAR of a note; NoteError when the note is not an event."""
    parsed = parse_note(remote_id, text.encode("utf-8"))
    return to_ical(parsed.event, stamp=stamp, zones=zones or ZoneBlocks())


def ical_to_note(
    ical: str, *, note: str = "", remote_id: str = "", default_zone: str | None = None
) -> str:
    """``note`` (a new one when empty) updated to hold ``ical``; Unsupported when it cannot.

    Unknown keys and the body of ``note`` are kept; a new note gets the event's UID.
    """
    new = event_from_ical(ical, default_zone=default_zone)
    if not note:
        return rewrite(split(""), frontmatter_updates({}, None, new, write_uid=True))
    old = parse_note(remote_id, note.encode("utf-8"))
    updates = note_updates(old, new)
    return rewrite(old.note, updates) if updates else note


def note_updates(old: ParsedNote, new: EventData) -> dict[str, str | None]:
    """The frontmatter keys to rewrite so that note ``old`` holds ``new`` ({}: nothing to do).

    A note without ``uid`` gets one along with a real change (never on its own): Full Calendar
    renames the notes it edits, which would change a UID derived from the path.
    """
    updates = frontmatter_updates(old.fields, old.event, new, write_uid=False)
    if updates and "uid" not in old.fields:
        updates = frontmatter_updates(old.fields, old.event, new, write_uid=True)
    return updates
