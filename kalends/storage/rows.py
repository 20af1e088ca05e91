"""Turning database rows into Radicale items without parsing them."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from radicale import item as radicale_item
from sqlalchemy import Row

from kalends.storage.models import items

if TYPE_CHECKING:
    from radicale.storage import BaseCollection

AnyRow: TypeAlias = Row[*tuple[Any, ...]]

# Everything but the text: enough for PROPFIND, sync-collection hrefs and the pre-filter.
HEAD_COLUMNS = (
    items.c.id,
    items.c.href,
    items.c.uid,
    items.c.name,
    items.c.component,
    items.c.etag,
    items.c.tr_start,
    items.c.tr_end,
    items.c.modified_at,
)
FULL_COLUMNS = (*HEAD_COLUMNS, items.c.text)


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


class StoredItem(radicale_item.Item):
    """An item read from the database: every cached attribute is filled, the text may come later.

    Radicale's ``Item`` insists on a text or a parsed tree up front; a PROPFIND over 10,000 items
    only needs their etags, so the text is loaded on first use instead.
    """

    def __init__(
        self,
        collection: BaseCollection,
        row: AnyRow,
        load_text: Callable[[], str] | None = None,
        href: str | None = None,
    ) -> None:
        """``href``: the item's name in ``collection`` when it is not the row's own."""
        # Radicale's __init__ only stores these attributes, after re-sanitising the collection
        # path, which costs more than the rest of a query answer; the row is already trusted.
        self._collection_path = collection.path
        self.collection = collection
        self.href = row.href if href is None else href
        self._modified_at: float = row.modified_at
        self._text = getattr(row, "text", None)  # rows without the text column have none
        self._vobject_item = None
        self._etag = row.etag
        self._uid = row.uid
        self._name = row.name
        self._component_name = row.component
        self._time_range = (row.tr_start, row.tr_end)
        self._load_text = load_text
        self.row_id: int = row.id

    @property
    def last_modified(self) -> str:
        """Formatted on demand: most answers never show it."""
        return http_date(self._modified_at)

    @last_modified.setter
    def last_modified(self, value: str) -> None:
        self._modified_at = parsedate_to_datetime(value).timestamp()

    def serialize(self) -> str:
        if self._text is None:
            if self._load_text is None:
                raise RuntimeError(f"item {self.href!r} has no text")
            self._text = self._load_text()
        text: str = self._text
        return text

    @property
    def vobject_item(self) -> Any:
        self.serialize()
        return super().vobject_item
