"""Per-item version vectors over the two replicas of a linked event: our store and the source.

Each replica's counter moves when a change made on that replica is observed. Comparing the vector
a side presents now with the one recorded at the last sync tells who changed since: one side
ahead is a plain update, both ahead is a concurrent edit that must be merged.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class Order(Enum):
    EQUAL = "equal"
    BEFORE = "before"  # self happened before other
    AFTER = "after"
    CONCURRENT = "concurrent"


class VersionVector(NamedTuple):
    """Immutable; a tuple because a round builds one per linked event (10,000s)."""

    local: int = 0
    remote: int = 0

    def bump(self, *, local: bool = False, remote: bool = False) -> VersionVector:
        return VersionVector(self.local + int(local), self.remote + int(remote))

    def join(self, other: VersionVector) -> VersionVector:
        return VersionVector(max(self.local, other.local), max(self.remote, other.remote))

    def compare(self, other: VersionVector) -> Order:
        if self == other:
            return Order.EQUAL
        if self.local <= other.local and self.remote <= other.remote:
            return Order.BEFORE
        if self.local >= other.local and self.remote >= other.remote:
            return Order.AFTER
        return Order.CONCURRENT
