"""The push channels this installation holds open at providers (a ChannelBook)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Engine, delete, insert, select

from kalends.bridges.context import Channel
from kalends.storage.engine import short_write
from kalends.storage.models import push_channels

__all__ = ["SqlChannelBook"]


class SqlChannelBook:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, channel: Channel) -> None:
        row = {
            "channel_id": channel.channel_id,
            "source": channel.source,
            "provider": channel.provider,
            "resource_id": channel.resource_id,
            "expires_at": channel.expires_at,
            "account": channel.account,
            "api_url": channel.api_url,
        }
        with short_write(self._engine) as conn:
            conn.execute(
                delete(push_channels).where(push_channels.c.channel_id == channel.channel_id)
            )
            conn.execute(insert(push_channels).values(row))

    def forget(self, channel_id: str) -> None:
        with short_write(self._engine) as conn:
            conn.execute(delete(push_channels).where(push_channels.c.channel_id == channel_id))

    def of_source(self, source: str) -> Sequence[Channel]:
        return self._select(push_channels.c.source == source)

    def all(self) -> Sequence[Channel]:
        return self._select(None)

    def _select(self, where: ColumnElement[bool] | None) -> list[Channel]:
        query = select(push_channels).order_by(push_channels.c.expires_at)
        if where is not None:
            query = query.where(where)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Channel(
                source=r.source,
                provider=r.provider,
                channel_id=r.channel_id,
                resource_id=r.resource_id,
                expires_at=r.expires_at,
                account=r.account,
                api_url=r.api_url,
            )
            for r in rows
        ]
