"""Turning database rows into Radicale items without parsing them."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate
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
    ) -> None:
        text: str | None = row.text if "text" in row._fields else None
        super().__init__(
            collection=collection,
            href=row.href,
            last_modified=http_date(row.modified_at),
            text=text if text is not None else "",
            etag=row.etag,
            uid=row.uid,
            name=row.name,
            component_name=row.component,
            time_range=(row.tr_start, row.tr_end),
        )
        self.row_id: int = row.id
        if text is None:
            self._text = None
            self._load_text = load_text

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
