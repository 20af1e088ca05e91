"""StoredItem stands in for Radicale's Item without calling its constructor: keep them in step."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from radicale import item as radicale_item

from kalends.storage.rows import StoredItem

TEXT = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


class _Row(SimpleNamespace):
    _fields = ("id", "href", "uid", "name", "component", "etag", "tr_start", "tr_end", "text")


def test_stored_item_sets_every_attribute_radicale_sets() -> None:
    collection: Any = SimpleNamespace(path="u/c")
    reference = radicale_item.Item(collection=collection, text=TEXT, href="a.ics")
    row = _Row(
        id=1,
        href="a.ics",
        uid="a",
        name="VCALENDAR",
        component="VEVENT",
        etag='"e"',
        tr_start=0,
        tr_end=1,
        modified_at=0.0,
        text=TEXT,
    )
    stored = StoredItem(collection, row)
    missing = [name for name in vars(reference) if not hasattr(stored, name)]
    assert missing == []
    assert stored.last_modified == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert stored.serialize() == TEXT
    assert stored.uid == "a" and stored.etag == '"e"' and stored.time_range == (0, 1)
    assert stored.vobject_item.vevent.uid.value == "a"


def test_text_is_loaded_on_first_use() -> None:
    collection: Any = SimpleNamespace(path="u/c")
    row = SimpleNamespace(
        _fields=("id",),
        id=1,
        href="a.ics",
        uid="a",
        name="VCALENDAR",
        component="VEVENT",
        etag='"e"',
        tr_start=0,
        tr_end=1,
        modified_at=0.0,
    )
    loads: list[int] = []

    def load() -> str:
        loads.append(1)
        return TEXT

    stored = StoredItem(collection, row, load)
    assert loads == []
    assert stored.serialize() == TEXT
    assert stored.serialize() == TEXT
    assert loads == [1]
