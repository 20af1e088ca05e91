"""What the unified calendar shows of the generated events (``--unified``).

The unified calendar collapses events with the same organizer, start and summary (Kalends'
fingerprint), and the generated data has a few of those (all-day events with the same title on
the same day): the session on it expects exactly what the rule leaves, edits only events without
a twin (an edit changes the summary, which would split a pair and rightly report the twin too)
and creates only events without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from radicale import item as radicale_item

from kalends.storage.fingerprint import event_fingerprint

from .ics import render
from .model import EventSpec


def fingerprint(spec: EventSpec) -> str:
    return event_fingerprint(radicale_item.read_components(render(spec))[0])


@dataclass(frozen=True)
class UnifiedView:
    visible: list[EventSpec]  # what the unified calendar shows, in generation order
    changeable: list[str]  # hrefs of events no other event shares a fingerprint with
    taken: set[str]  # fingerprints of all the events

    def hrefs(self) -> set[str]:
        return {spec.href for spec in self.visible}

    def new_event_filter(self) -> Callable[[EventSpec], bool]:
        """True for a new event without a twin among the events and the new ones before it."""
        taken = set(self.taken)

        def fresh(spec: EventSpec) -> bool:
            found = fingerprint(spec)
            if found in taken:
                return False
            taken.add(found)
            return True

        return fresh


def unified_view(specs: Sequence[EventSpec]) -> UnifiedView:
    """Event ``i`` lives in source ``i % 2``; the first source has the higher priority, ties go
    to the smaller href (the server's rule)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for index, spec in enumerate(specs):
        groups.setdefault(fingerprint(spec), []).append((index % 2, spec.href))
    winners = {min(members) for members in groups.values()}
    visible = [spec for index, spec in enumerate(specs) if (index % 2, spec.href) in winners]
    single = _singles(groups.values())
    return UnifiedView(visible, [s.href for s in visible if s.href in single], set(groups))


def _singles(groups: Iterable[list[tuple[int, str]]]) -> set[str]:
    return {members[0][1] for members in groups if len(members) == 1}
