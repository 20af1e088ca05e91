"""Create the principals and calendars the admin file declares (idempotent, at start).

Each user gets the plain calendars listed for them, one calendar per source of theirs
(``/<user>/<source>/``) and the unified calendar (``/<user>/<unified>/``), a view of all of them.
"""

from __future__ import annotations

import logging

from kalends.config import Settings, UserSettings
from kalends.storage import Storage
from kalends.storage.provisioning import Declared, provision, retire
from kalends.storage.unified import DEFAULT_TARGET

logger = logging.getLogger(__name__)

UNIFIED_DISPLAYNAME = "All calendars"


def provision_calendars(storage: Storage, settings: Settings) -> None:
    for user in settings.users.values():
        principal = f"/{user.name}/"
        with storage.acquire_lock("w", user.name, path=principal):
            if next(iter(storage.discover(principal)), None) is None:
                storage.create_collection(principal)
            for name in user.calendars:
                path = f"/{user.name}/{name}/"
                if next(iter(storage.discover(path)), None) is None:
                    props = {"tag": "VCALENDAR", "D:displayname": name}
                    storage.create_collection(path, props=props)
                    logger.info("created calendar %s", path)
        _provision_views(storage, settings, user)


def _provision_views(storage: Storage, settings: Settings, user: UserSettings) -> None:
    """The user's source calendars and unified calendar, following the admin file."""
    own = [source for source in settings.sources.values() if source.user == user.name]
    unified = f"{user.name}/{user.unified}"
    for path in retire(storage, user.name, {source.name for source in own}, unified):
        logger.info("/%s/ is no longer a source's calendar or the unified calendar", path)
    declared = [
        Declared(
            f"{user.name}/{source.name}",
            "source",
            source.title or source.name,
            source=source.name,
            priority=source.priority,
        )
        for source in own
    ]
    private = {DEFAULT_TARGET: user.default_target} if user.default_target else {}
    declared.append(Declared(unified, "unified", UNIFIED_DISPLAYNAME, private=private))
    for item in declared:
        if item.kind == "source" and item.path.rsplit("/", 1)[1] in user.calendars:
            logger.warning(
                "/%s/ is both a listed calendar and a source: it is the source's", item.path
            )
        outcome = provision(storage, item)
        if outcome in ("created", "updated"):
            logger.info("%s %s calendar /%s/", outcome, item.kind, item.path)
        elif outcome != "unchanged":
            logger.error("%s calendar not provisioned: %s", item.kind, outcome)
