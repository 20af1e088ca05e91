"""Settings -> the Radicale configuration Kalends runs Radicale with."""

from __future__ import annotations

from typing import Any

from radicale import config as radicale_config
from sqlalchemy import Engine

from kalends.config import Settings
from kalends.server.auth import UserAuth
from kalends.server.rights import OwnerOnlyRights
from kalends.storage import Storage


def build_radicale_configuration(settings: Settings, engine: Engine) -> Any:
    """Radicale's configuration: our storage and auth plugins, owner-only rights, our limits."""
    configuration = radicale_config.load()
    hashes = {name: user.password_hash for name, user in settings.users.items()}
    cache_seconds = settings.auth.login_cache_seconds

    def storage_factory(conf: Any) -> Storage:
        return Storage(conf, engine)

    def auth_factory(conf: Any) -> UserAuth:
        return UserAuth(conf, hashes, cache_seconds)

    configuration.update(
        {
            "server": {
                "max_content_length": str(settings.server.max_body_bytes),
                "max_resource_size": str(settings.server.max_body_bytes * 8 // 10),
            },
            "auth": {"type": auth_factory, "delay": str(settings.auth.failure_delay)},
            "rights": {"type": OwnerOnlyRights},
            "storage": {"type": storage_factory},
            "web": {"type": "none"},
        },
        "kalends",
        privileged=True,
    )
    return configuration
