"""Listing a calendar: PROPFIND Depth 1 and sync-collection, for the properties clients list with.

Radicale builds an ElementTree per item, re-checks rights and paths for each, and for
sync-collection reads every item's text: about 60 us and a few kB an item, most of a listing of
10,000 events. For the handful of item properties sync clients ask for when they list a calendar,
the responses are written here directly, in Radicale's format, from the index columns (no item
text, no per-item objects); any other property leaves the request to Radicale.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from email.utils import formatdate
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from radicale import xmlutils

from kalends.storage import Collection

_DAV = "{DAV:}"
_CHUNK = 500
XML_HEAD = "<?xml version='1.0' encoding='utf-8'?>\n"
Row = Any  # href, etag, name, component, modified_at
Renderer = Callable[[Row, str], str]  # (row, encoding) -> one property element
# what ``quote`` escapes in ASCII text: all but these and the "/" it is told to keep
_QUOTED_ASCII = re.compile(r"[^A-Za-z0-9_.~/-]")


def _percent(found: re.Match[str]) -> str:
    return f"%{ord(found.group()):02X}"


def quoted(href: str) -> str:
    """``urllib.parse.quote(href)``, as Radicale writes hrefs, in a third of the time for
    ASCII names with an "@" (most UIDs). Its answer holds nothing XML needs escaped."""
    return _QUOTED_ASCII.sub(_percent, href) if href.isascii() else quote(href)


def _content_type(row: Row, encoding: str) -> str:
    """As Radicale's ``xmlutils.get_content_type``, from the row instead of an Item."""
    value = f"{xmlutils.OBJECT_MIMETYPES[row.name]};charset={encoding}"
    if row.component:
        value += f";component={row.component}"
    return f"<getcontenttype>{escape(value)}</getcontenttype>"


_ITEM_PROPS: dict[str, Renderer] = {
    "getetag": lambda row, _encoding: f"<getetag>{escape(row.etag)}</getetag>",
    "getcontenttype": _content_type,
    "resourcetype": lambda _row, _encoding: "<resourcetype />",
    "getlastmodified": lambda row, _encoding: (
        f"<getlastmodified>{formatdate(row.modified_at, usegmt=True)}</getlastmodified>"
    ),
}


def requested_item_props(request: ET.Element | None, root: str = "propfind") -> list[str] | None:
    """The requested property names if this module can answer all of them for items, else None."""
    if request is None or request.tag != _DAV + root:
        return None
    prop = request.find(_DAV + "prop")
    others = [child for child in request if child.tag not in (_DAV + "prop", _DAV + "sync-token")]
    if prop is None or any(child.tag != _DAV + "sync-level" for child in others):
        return None  # allprop, propname, include, limit: Radicale's
    names = []
    for child in prop:
        if not child.tag.startswith(_DAV) or child.tag[len(_DAV) :] not in _ITEM_PROPS:
            return None
        names.append(child.tag[len(_DAV) :])
    return names or None


def item_responses(
    collection: Collection,
    rows: Iterable[Row],
    props: Sequence[str],
    base_prefix: str,
    encoding: str,
    known: Mapping[str, Renderer] = _ITEM_PROPS,
    after: str = "",
) -> Iterator[str]:
    """One ``<response>`` per row, as Radicale would write it, in chunks of ``_CHUNK`` rows.

    ``known`` renders each of ``props`` (the PROPFIND item properties unless told); ``after``
    follows the found properties' ``<propstat>`` in every response.
    """
    prefix = quote(f"{base_prefix}/{collection.path}/")
    renderers = [known[name] for name in props]
    parts = []
    for row in rows:
        values = "".join(render(row, encoding) for render in renderers)
        parts.append(
            f"<response><href>{prefix}{quoted(row.href)}</href><propstat><prop>{values}"
            f"</prop><status>HTTP/1.1 200 OK</status></propstat>{after}</response>"
        )
        if len(parts) >= _CHUNK:
            yield "".join(parts)
            parts = []
    yield "".join(parts)


def missing_responses(collection: Collection, hrefs: Iterable[str], base_prefix: str) -> str:
    """Deleted members in a sync-collection answer."""
    prefix = quote(f"{base_prefix}/{collection.path}/")
    return "".join(
        f"<response><href>{prefix}{quoted(href)}</href>"
        "<status>HTTP/1.1 404 Not Found</status></response>"
        for href in hrefs
    )
