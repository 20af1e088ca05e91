"""calendar-query REPORT on a calendar: Radicale's answer, written as text.

Radicale answers a calendar-query by building an ElementTree element by element for every item
found and serialising the tree: about half the time of a week query on a calendar of 10,000
events. Here the multistatus is written directly, in Radicale's format, from the same
``get_filtered`` answer Radicale would use; the items the storage does not vouch for
(``matched=False``) are put through Radicale's own ``test_filter``, as Radicale does. The
properties Radicale finds for an item in a REPORT (getetag, calendar-data, getcontenttype) are
written from the item; any other one gets Radicale's 404 ``<propstat>``, the same for every item,
written once by ElementTree along with the namespace declarations it puts on the root.

Radicale answers everything else (``parse`` or ``matching_items`` return None): a calendar-data
with any content (C:expand, C:limit-recurrence-set, a C:comp selection), CR:address-data, a query
without a found property, any element of the query other than D:prop, C:filter and C:timezone
(allprop, a second D:prop, CR:filter ...), and any query Radicale would refuse or fail on (a
filter it cannot evaluate, more VEVENTs than ``max_expand_occurrence``), so the error is its own.
Like Radicale, no Depth header is read: a calendar-query on a calendar searches its items.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from radicale import item as radicale_item
from radicale import xmlutils
from radicale.app.report import test_filter

from kalends.server import propfind
from kalends.storage import Collection

_DAV = "{DAV:}"
_CALDAV = "{urn:ietf:params:xml:ns:caldav}"
_CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
CALENDAR_DATA = _CALDAV + "calendar-data"
_VEVENT = "BEGIN:VEVENT"


def _element(name: str, text: str) -> str:
    """As ElementTree writes an element with only text (an empty one is self-closing)."""
    return f"<{name}>{escape(text)}</{name}>" if text else f"<{name} />"


def _etag(item: radicale_item.Item, _encoding: str) -> str:
    return _element("getetag", item.etag)


def _calendar_data(item: radicale_item.Item, _encoding: str) -> str:
    return _element("C:calendar-data", item.serialize())


def _content_type(item: radicale_item.Item, encoding: str) -> str:
    return _element("getcontenttype", xmlutils.get_content_type(item, encoding))


# Radicale's rendering of these in a REPORT, keyed by the requested element's tag
_PROPS: dict[str, propfind.Renderer] = {
    _DAV + "getetag": _etag,
    CALENDAR_DATA: _calendar_data,
    _DAV + "getcontenttype": _content_type,
}


@dataclass(frozen=True, slots=True)
class Query:
    props: tuple[str, ...]  # tags of the requested properties Radicale finds, in request order
    missing: tuple[str, ...]  # tags of those it answers 404 for, in request order
    filters: tuple[ET.Element, ...]

    def answer(
        self, collection: Collection, base_prefix: str, limit: int
    ) -> Iterator[bytes] | None:
        """Radicale's answer on ``collection`` in chunks, or None to leave the query to Radicale.

        ``limit``: Radicale's ``max_expand_occurrence``.
        """
        chosen = matching_items(collection, self, limit)
        return None if chosen is None else multistatus(collection, chosen, self, base_prefix)


def parse(request: ET.Element | None) -> Query | None:
    """The query if this module answers it as Radicale would, else None."""
    if request is None or request.tag != _CALDAV + "calendar-query":
        return None
    prop = None
    filters = []
    for child in request:
        if child.tag == _DAV + "prop" and prop is None:
            prop = child
        elif child.tag == _CALDAV + "filter":
            filters.append(child)
        elif child.tag != _CALDAV + "timezone":  # which Radicale ignores
            return None
    return requested(request, prop, filters)


def requested(
    request: ET.Element, prop: ET.Element | None, filters: Sequence[ET.Element] = ()
) -> Query | None:
    """What a REPORT ``request`` asks for each item with ``prop``, if this module writes it as
    Radicale would (also for ``kalends.server.multiget``), else None."""
    if prop is None or request.find(f".//{_CALDAV}expand") is not None:
        return None
    found, missing = [], []
    for child in prop:
        if child.tag in _PROPS and not len(child):
            found.append(child.tag)
        elif child.tag in _PROPS or child.tag == _CARDDAV + "address-data":
            return None  # partial retrieval, or the text as address data
        else:
            missing.append(child.tag)
    return Query(tuple(found), tuple(missing), tuple(filters)) if found else None


def matching_items(
    collection: Collection, query: Query, limit: int
) -> list[radicale_item.Item] | None:
    """The items of Radicale's answer, in its order; None where Radicale would answer an error.

    ``limit``: Radicale's ``max_expand_occurrence``, the most VEVENTs an answer may carry.
    """
    filters = list(query.filters)
    try:
        found = list(collection.get_filtered(filters))
    except ValueError:
        return None  # a time-range Radicale cannot parse: its 400
    chosen: list[radicale_item.Item] = []
    for item, matched in found:
        if filters and not matched:
            try:
                if not all(test_filter(collection.tag, item, f) for f in filters):
                    continue
            except Exception:  # Radicale's 400 or 500, with its own message
                return None
        chosen.append(item)
    if over_limit(chosen, query, limit):
        return None  # Radicale's "REPORT occurrences limit" 400
    return chosen


def over_limit(chosen: Sequence[radicale_item.Item], query: Query, limit: int) -> bool:
    """Whether Radicale would refuse to serve ``chosen`` for ``query``: more VEVENTs in the
    calendar-data it serves than ``limit`` (``max_expand_occurrence``; 0: no limit)."""
    copies = query.props.count(CALENDAR_DATA)  # Radicale counts each copy served
    return bool(limit and copies and _too_many_vevents(chosen, limit, copies))


def _too_many_vevents(chosen: Sequence[radicale_item.Item], limit: int, copies: int) -> bool:
    """Whether Radicale would count more than ``limit`` VEVENTs in the answer."""
    texts = [item.serialize() for item in chosen]
    # Radicale counts the lines that upper-case to BEGIN:VEVENT. Only ":" upper-cases to
    # something holding a ":", and only "v" and "V" to something starting with "V", so each
    # such line holds a ":V" or ":v": their count bounds Radicale's, without upper-casing every
    # text, and spares most answers the exact count.
    if sum(text.count(":V") + text.count(":v") for text in texts) * copies <= limit:
        return False
    exact = sum(1 for text in texts for line in text.splitlines() if line.upper() == _VEVENT)
    return exact * copies > limit


def _skeleton(query: Query) -> tuple[str, str]:
    """The opening tag of Radicale's multistatus and the 404 ``<propstat>`` of every response,
    as ElementTree writes them for a tree of one response (the namespace prefixes it declares
    on the root depend on the tags, in tree order, and every response has the same)."""
    root = ET.Element(_DAV + "multistatus")
    response = ET.SubElement(root, _DAV + "response")
    ET.SubElement(response, _DAV + "href").text = "/"
    found = ET.SubElement(ET.SubElement(response, _DAV + "propstat"), _DAV + "prop")
    for tag in query.props:
        ET.SubElement(found, tag).text = "-"
    if query.missing:
        propstat = ET.SubElement(response, _DAV + "propstat")
        missing = ET.SubElement(propstat, _DAV + "prop")
        for tag in query.missing:
            ET.SubElement(missing, tag)
        ET.SubElement(propstat, _DAV + "status").text = xmlutils.make_response(404)
    text = ET.tostring(root, "unicode")
    opening = text[: text.index("<response>")]
    if not query.missing:
        return opening, ""
    start = text.index("<propstat>", text.index("</propstat>"))
    return opening, text[start : text.rindex("</response>")]


def multistatus(
    collection: Collection,
    chosen: Sequence[radicale_item.Item],
    query: Query,
    base_prefix: str,
    before: str = "",
) -> Iterator[bytes]:
    """Radicale's multistatus for ``chosen``, as ElementTree writes it in UTF-8, in chunks.

    ``before``: responses written ahead of the items' (a multiget's 404s), only with items.
    """
    head = propfind.XML_HEAD
    if not chosen:
        yield (head + '<multistatus xmlns="DAV:" />').encode()
        return
    opening, missing = _skeleton(query)
    yield (head + opening + before).encode("utf-8", "xmlcharrefreplace")
    responses = propfind.item_responses(
        collection, chosen, query.props, base_prefix, "utf-8", _PROPS, missing
    )
    for chunk in responses:
        # ElementTree writes what UTF-8 cannot carry (a lone surrogate) as a reference
        yield chunk.encode("utf-8", "xmlcharrefreplace")
    yield b"</multistatus>"
