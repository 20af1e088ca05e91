"""Requests that would break the unified calendar or a source's calendar, refused with a reason.

The unified calendar ``/<user>/<unified>/`` is a view: nothing can be created in or over it,
its properties come from the admin file, and items do not move into or out of it (a MOVE would
have to pick a calendar behind the client's back; PUT and DELETE through the view are the
supported way). The unified calendar and sources' calendars cannot be deleted (see
``kalends.server.rights``). Checked before Radicale sees the request, so a refusal changes
nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import unquote, urlsplit

from radicale import pathutils

from kalends.server.rights import deletion_refusal

Kinds = Callable[[Iterable[str]], Mapping[str, str]]  # stored kind of each path that is one

_VIRTUAL = "the unified calendar is virtual: "


def destination_path(raw: str, base_prefix: str) -> str | None:
    """The path a MOVE's Destination header names, without the base prefix (None: elsewhere)."""
    path = pathutils.sanitize_path(unquote(urlsplit(raw).path))
    if not (path + "/").startswith(base_prefix + "/"):
        return None
    return path[len(base_prefix) :]


def _with_parent(path: str) -> tuple[str, str]:
    sane = pathutils.strip_path(path)
    return sane, posixpath.dirname(sane)


def refusal(method: str, path: str, destination: str | None, kinds: Kinds) -> str | None:
    """Why ``method`` on ``path`` must be refused, or None to let Radicale answer."""
    here, parent = _with_parent(path)
    if method == "MOVE":
        there, there_parent = _with_parent(destination) if destination else ("", "")
        found = kinds((here, parent, there, there_parent))
        if "unified" in (found.get(here), found.get(parent)):
            return _VIRTUAL + "items cannot be moved out of it (PUT them to another calendar)"
        if "unified" in (found.get(there), found.get(there_parent)):
            return _VIRTUAL + "items cannot be moved into it (PUT them through it instead)"
        return None
    found = kinds((here, parent))
    if method == "DELETE":
        kind = found.get(here)
        return None if kind is None else deletion_refusal(kind)
    if "unified" not in (found.get(here), found.get(parent)):
        return None
    if method in ("MKCOL", "MKCALENDAR"):
        return _VIRTUAL + "no collection can be created in it or in its place"
    if method == "PROPPATCH":
        return _VIRTUAL + "its properties are set by the server configuration"
    return None
