"""Page and sync tokens: opaque to clients, sealed with the store's secret, bound to a listing.

A sync token names a calendar, the change sequence number it was issued at, the calendar's
token epoch (``expire_sync_tokens`` moves it on) and the listing parameters it is bound to; a
page token names the listing (every parameter but ``pageToken``) and where it resumes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from tests.fakes.common import unseal
from tests.fakes.google.errors import ApiError
from tests.fakes.google.model import Calendar

if TYPE_CHECKING:
    from tests.fakes.google.listing import Query

__all__ = ["NOISE", "bound_to", "digest", "since"]

Params = Mapping[str, list[str]]
FORBIDDEN_WITH_SYNC = (
    "iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin",
    "timeMax", "updatedMin",
)  # fmt: skip
# Standard query parameters of every Google API: not part of what a token is bound to.
NOISE = frozenset({"alt", "prettyPrint", "fields", "quotaUser", "key", "userIp", "callback",
                   "access_token", "oauth_token", "$.xgafv", "uploadType", "upload_protocol",
                   "pageToken", "sendUpdates", "sendNotifications"})  # fmt: skip


def digest(params: Params, names: Callable[[str], bool]) -> str:
    chosen = sorted((k, sorted(v)) for k, v in params.items() if names(k))
    return hashlib.sha256(json.dumps(chosen).encode()).hexdigest()[:16]


def bound_to(query: Query) -> str:
    """What a sync token is bound to: the parameters that must not change between listings."""
    bound = {"singleEvents": str(query.single), "maxResults": str(query.max_results),
             "eventTypes": ",".join(sorted(query.event_types))}  # fmt: skip
    return hashlib.sha256(json.dumps(bound, sort_keys=True).encode()).hexdigest()[:16]


def since(secret: bytes, cal: Calendar, query: Query, token: str) -> int:
    """The sequence number a sync token names (410 when it is no longer valid)."""
    for name in FORBIDDEN_WITH_SYNC:
        if name in query.params:
            raise ApiError.invalid(f"{name} cannot be used together with syncToken.", name)
    payload = unseal(secret, token)
    if payload is None or payload.get("t") != "s" or payload.get("c") != cal.token_id:
        raise ApiError.invalid("Invalid sync token value.", "syncToken")
    if payload.get("e") != cal.epoch or int(payload["q"]) < cal.horizon_seq:
        raise ApiError.full_sync_required()
    if payload.get("b") != bound_to(query):
        raise ApiError.invalid(
            "The sync token was issued for a listing with other parameters.", "syncToken"
        )
    return int(payload["q"])
