"""What a bridge may use of the running installation besides its own options.

Bridges never import the server or the storage layer: they get these small interfaces, filled
in by ``kalends serve`` (everything) or by a CLI round (no push endpoints). Tests fill them with
in-memory stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["Channel", "ChannelBook", "HookRegistry", "SecretVault", "SourceContext"]


class SecretVault(Protocol):
    """Encrypted credentials by name (a source, or an account shared by several sources)."""

    def get(self, name: str) -> dict[str, str] | None: ...

    def put(self, name: str, secrets: Mapping[str, str]) -> None: ...


class HookRegistry(Protocol):
    """The server's webhook endpoint ``/.kalends/hooks/<provider>``.

    ``register`` routes notifications naming ``channel_id`` and carrying ``token`` to
    ``notify``; it returns the function that removes the route again.
    """

    def register(
        self, provider: str, channel_id: str, token: str, notify: Callable[[], None]
    ) -> Callable[[], None]: ...


@dataclass(frozen=True, slots=True)
class Channel:
    """A push subscription held at a provider, remembered so that it can be stopped after a
    restart or once its source is gone (providers offer no way to list them)."""

    source: str
    provider: str
    channel_id: str
    resource_id: str
    expires_at: float  # epoch seconds
    account: str  # the credentials it was made with
    api_url: str


class ChannelBook(Protocol):
    def save(self, channel: Channel) -> None: ...

    def forget(self, channel_id: str) -> None: ...

    def of_source(self, source: str) -> Sequence[Channel]: ...

    def all(self) -> Sequence[Channel]: ...


@dataclass(frozen=True, slots=True)
class SourceContext:
    name: str  # the source's name in the admin file
    data_dir: Path
    vault: SecretVault | None = None
    hooks: HookRegistry | None = None  # None: no server is running (a CLI round)
    channels: ChannelBook | None = None
    public_url: str | None = None  # where providers reach this server's webhooks
