"""calendar-multiget REPORT on a calendar: Radicale's answer, written as text.

Clients fetch what a sync found changed with a multiget of its hrefs, often 100 at a time.
Radicale builds an ElementTree element by element for every item and serialises the tree, most
of the time of such a request. Here, as ``kalends.server.calendar_query`` does for a
calendar-query (whose query, property rendering, occurrence limit and multistatus are reused),
the answer is written directly from the items ``get_multi`` returns. What each href names is
decided by Radicale's own helpers (``urlparse``, ``unquote``, ``pathutils.sanitize_path``, the
base prefix test, ``pathutils.name_from_path``, ``xmlutils.make_href``) so it cannot drift.

Radicale keeps the hrefs in a set, so the order of its responses changes from one process to
the next; only their grouping is fixed: first a 404 for every href that names no item of the
calendar (outside it, or not a single name below it), then a 404 for every name without an item,
then the items found. Kalends answers with the same groups, each in request order, once per
href (as Radicale, duplicates after normalisation count once). An href outside the base prefix
gets no response at all, as in Radicale.

Radicale answers everything else (``parse`` or ``Multiget.answer`` return None): the properties
``calendar_query.requested`` leaves to it (calendar-data with content, C:expand anywhere,
CR:address-data, no property Radicale finds), any element of the request other than D:prop and
D:href (a C:filter, which Radicale would apply; a second D:prop), an href Radicale would fail on
(no text, a malformed URL, the base prefix itself), an href naming the calendar itself (Radicale
then serves every item), an answer without any item found, and more VEVENTs than
``max_expand_occurrence`` (Radicale's 400).
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlparse
from xml.sax.saxutils import escape

from radicale import item as radicale_item
from radicale import pathutils, xmlutils

from kalends.server import calendar_query
from kalends.storage import Collection

_DAV = "{DAV:}"
_MULTIGET = "{urn:ietf:params:xml:ns:caldav}calendar-multiget"


@dataclass(frozen=True, slots=True)
class Multiget:
    query: calendar_query.Query  # the properties asked for each item (no filters)
    paths: tuple[str, ...]  # what the hrefs inside the base prefix name below it, once each

    def answer(
        self, collection: Collection, base_prefix: str, limit: int
    ) -> Iterator[bytes] | None:
        """Radicale's answer on ``collection`` in chunks, or None to leave it to Radicale.

        ``limit``: Radicale's ``max_expand_occurrence``.
        """
        names, invalid = _names(self.paths, collection)
        if names is None:
            return None  # the calendar itself
        found: list[radicale_item.Item] = []
        missing = []
        for name, item in collection.get_multi(names):
            if item is None:
                missing.append(pathutils.unstrip_path(posixpath.join(collection.path, name)))
            else:
                found.append(item)
        if not found or calendar_query.over_limit(found, self.query, limit):
            return None  # Radicale's answer of 404s only, or its occurrence limit's 400
        before = "".join(_not_found(base_prefix, path) for path in [*invalid, *missing])
        return calendar_query.multistatus(collection, found, self.query, base_prefix, before)


def parse(request: ET.Element | None, base_prefix: str) -> Multiget | None:
    """The multiget if this module answers it as Radicale would, else None."""
    if request is None or request.tag != _MULTIGET:
        return None
    prop = None
    hrefs = []
    for child in request:
        if child.tag == _DAV + "href":
            hrefs.append(child.text)
        elif child.tag == _DAV + "prop" and prop is None:
            prop = child
        else:
            return None
    query = calendar_query.requested(request, prop)
    paths = _paths(hrefs, base_prefix)
    return None if query is None or paths is None else Multiget(query, paths)


def _paths(hrefs: Sequence[str | None], base_prefix: str) -> tuple[str, ...] | None:
    """As Radicale reads the hrefs of a multiget: the paths they name below ``base_prefix``,
    without those outside it (which Radicale skips) and duplicates; None where it would fail."""
    paths: dict[str, None] = {}
    for href in hrefs:
        if href is None:
            return None  # Radicale's assertion on urlparse's answer fails: its 500
        try:
            path = pathutils.sanitize_path(unquote(urlparse(href).path))
        except ValueError:
            return None  # a malformed URL (an unclosed IPv6 host): Radicale's 400
        if not (path + "/").startswith(base_prefix + "/"):
            continue
        path = path[len(base_prefix) :]  # sanitised, as name_from_path asserts, unless empty
        if not path:
            return None  # the base prefix itself: Radicale's assertion fails
        paths[path] = None
    return tuple(paths)


def _names(paths: Sequence[str], collection: Collection) -> tuple[list[str] | None, list[str]]:
    """The item names ``paths`` give in ``collection`` (None if one names the collection), and
    the paths that name none, as Radicale's ``retrieve_items`` tells them apart."""
    names: list[str] = []
    invalid = []
    for path in paths:
        try:
            name = pathutils.name_from_path(path, collection)
        except ValueError:
            invalid.append(path)
            continue
        if not name:
            return None, invalid
        names.append(name)
    return names, invalid


def _not_found(base_prefix: str, path: str) -> str:
    """Radicale's response for an href without an item."""
    href = escape(xmlutils.make_href(base_prefix, path))
    return f"<response><href>{href}</href><status>{xmlutils.make_response(404)}</status></response>"
