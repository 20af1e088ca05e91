"""GET of a whole calendar: one VCALENDAR streamed from the database.

The result matches Radicale's ``BaseCollection.serialize``: the components of every item inside one
VCALENDAR, each VTIMEZONE once (by TZID) and ahead of the events. Time zones are collected in a
first, cheap pass over the few items that carry one, so the events can then be streamed in
batches without holding the calendar in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import vobject


def calendar_header(displayname: str | None, description: str | None) -> tuple[str, str]:
    """The opening and closing lines Radicale writes around a calendar export."""
    template = vobject.iCalendar()
    if displayname:
        template.add("X-WR-CALNAME")
        template.x_wr_calname.value_param = "TEXT"
        template.x_wr_calname.value = displayname
    if description:
        template.add("X-WR-CALDESC")
        template.x_wr_caldesc.value_param = "TEXT"
        template.x_wr_caldesc.value = description
    text: str = template.serialize()
    split_at = text.find("\r\nEND:VCALENDAR\r\n") + 2
    return text[:split_at], text[split_at:]


def split_item(text: str) -> tuple[list[tuple[str | None, str]], str]:
    """The VTIMEZONE blocks (with their TZID) and the other components of one item.

    Works on the text as stored (CRLF lines, as Radicale writes them): a line starting with
    ``BEGIN:`` opens a component and a component never contains one of its own kind, so each
    top-level component ends at the first ``END:<name>`` line after it.
    """
    timezones: list[tuple[str | None, str]] = []
    components: list[str] = []
    position = text.find("\r\nBEGIN:")
    while position != -1:
        start = position + 2
        name_end = text.find("\r\n", start)
        end_line = f"\r\nEND:{text[start + 6 : name_end]}\r\n"
        stop = text.find(end_line, name_end)
        if name_end == -1 or stop == -1:
            raise ValueError("unbalanced component in stored item")
        block = text[start : stop + len(end_line)]
        if text.startswith("VTIMEZONE\r\n", start + 6):
            timezones.append((_tzid(block), block))
        else:
            components.append(block)
        position = text.find("\r\nBEGIN:", stop + len(end_line) - 2)
    return timezones, "".join(components)


def _tzid(block: str) -> str | None:
    found = block.find("\r\nTZID:")
    if found == -1:
        return None
    return block[found + 7 : block.find("\r\n", found + 7)]


def distinct_timezones(texts: Iterable[str]) -> str:
    seen: set[str] = set()
    blocks: list[str] = []
    for text in texts:
        for tzid, block in split_item(text)[0]:
            if tzid is None or tzid not in seen:
                blocks.append(block)
            if tzid is not None:
                seen.add(tzid)
    return "".join(blocks)


def stream_calendar(
    header: tuple[str, str], timezones: str, texts: Iterable[str], batch_chars: int = 65536
) -> Iterator[str]:
    """Yield the export in chunks of roughly ``batch_chars`` characters."""
    opening, closing = header
    yield opening + timezones
    pending: list[str] = []
    size = 0
    for text in texts:
        body = split_item(text)[1]
        pending.append(body)
        size += len(body)
        if size >= batch_chars:
            yield "".join(pending)
            pending, size = [], 0
    pending.append(closing)
    yield "".join(pending)
