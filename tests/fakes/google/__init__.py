"""A faithful local fake of the Google Calendar API v3 and Google's OAuth endpoints.

``GoogleFake`` stores calendars and events and answers like Google: the real URL and JSON shapes,
status codes and error bodies, sync and page tokens, recurring series with their exceptions,
watch channels that POST notifications, and switches for Google's misbehaviour (see ``faults``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.fakes.google.channels import Channel, Delivery
from tests.fakes.google.errors import ApiError
from tests.fakes.google.fake import GoogleFake

__all__ = ["ApiError", "Channel", "Delivery", "GoogleFake", "running_google_fake"]


@contextmanager
def running_google_fake(
    *, user_email: str = "fake.user@example.com", seed: int = 20260301
) -> Iterator[GoogleFake]:
    """A started fake, stopped afterwards."""
    with GoogleFake(user_email=user_email, seed=seed) as fake:
        yield fake
