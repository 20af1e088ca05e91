"""PROPFIND Depth 1 on a calendar, for the properties sync clients list items with.

Radicale builds an ElementTree per item and re-checks rights and paths for each: about 60 us an
item, most of a PROPFIND over 10,000 events. For the handful of item properties clients ask for
when they list a calendar, the item responses are written here directly, in Radicale's format,
from the index columns; any other property leaves the request to Radicale.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from urllib.parse import quote
from xml.sax.saxutils import escape

from radicale import xmlutils

from kalends.storage import Collection
from kalends.storage.rows import StoredItem

_DAV = "{DAV:}"


def _etag(item: StoredItem, _encoding: str) -> str:
    return f"<getetag>{escape(item.etag)}</getetag>"


def _content_type(item: StoredItem, encoding: str) -> str:
    return f"<getcontenttype>{escape(xmlutils.get_content_type(item, encoding))}</getcontenttype>"


def _resource_type(_item: StoredItem, _encoding: str) -> str:
    return "<resourcetype />"


def _last_modified(item: StoredItem, _encoding: str) -> str:
    return f"<getlastmodified>{escape(item.last_modified)}</getlastmodified>"


_ITEM_PROPS: dict[str, Callable[[StoredItem, str], str]] = {
    "getetag": _etag,
    "getcontenttype": _content_type,
    "resourcetype": _resource_type,
    "getlastmodified": _last_modified,
}


def requested_item_props(request: ET.Element | None) -> list[str] | None:
    """The requested property names if this module can answer all of them for items, else None."""
    if request is None or request.tag != _DAV + "propfind":
        return None
    children = list(request)
    if len(children) != 1 or children[0].tag != _DAV + "prop":
        return None  # allprop, propname, include: Radicale's
    names = []
    for prop in children[0]:
        if not prop.tag.startswith(_DAV) or prop.tag[len(_DAV) :] not in _ITEM_PROPS:
            return None
        names.append(prop.tag[len(_DAV) :])
    return names or None


def item_responses(
    collection: Collection, props: Sequence[str], base_prefix: str, encoding: str
) -> str:
    """One ``<response>`` per item of ``collection``, as Radicale would write it."""
    prefix = quote(f"{base_prefix}/{collection.path}/")
    renderers = [_ITEM_PROPS[name] for name in props]
    parts = []
    for item in collection.list_items():
        assert item.href is not None
        values = "".join(render(item, encoding) for render in renderers)
        parts.append(
            f"<response><href>{escape(prefix + quote(item.href))}</href><propstat><prop>{values}"
            "</prop><status>HTTP/1.1 200 OK</status></propstat></response>"
        )
    return "".join(parts)
