"""A faithful local fake of Microsoft Graph v1.0 (Outlook calendars) and its identity provider.

``GraphFake`` serves Graph and an Entra-ID-like identity provider on 127.0.0.1 over HTTPS (a
trustme CA; clients pass ``verify=fake.ca_path``). It stores calendars and events and answers
like Graph: the real URL and JSON shapes, status codes and error bodies, delta rounds with
stripped occurrences and ``@removed`` entries, recurring series with exceptions, change keys and
412s, the 4-request concurrency limit, subscriptions with their validation handshake, and
switches for Graph's misbehaviour (see ``faults``). msal signs in against it unmodified.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.fakes.graph.errors import GraphError
from tests.fakes.graph.fake import GraphFake
from tests.fakes.graph.subscriptions import Delivery, Subscription

__all__ = ["Delivery", "GraphError", "GraphFake", "Subscription", "running_graph_fake"]


@contextmanager
def running_graph_fake(
    *, tenant: str = "common", user_address: str = "fake.user@example.com", seed: int = 20260301
) -> Iterator[GraphFake]:
    """A started fake, stopped afterwards."""
    with GraphFake(tenant=tenant, user_address=user_address, seed=seed) as fake:
        yield fake
