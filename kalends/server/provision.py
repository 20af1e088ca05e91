"""Create the principals and calendars the admin file declares (idempotent, at start)."""

from __future__ import annotations

import logging

from kalends.config import Settings
from kalends.storage import Storage

logger = logging.getLogger(__name__)


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
