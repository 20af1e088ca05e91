"""The deterministic event generator, the query windows and the calibration of the data."""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from .ics import render
from .model import RANGE_START, EventSpec, Recurrence, Window, occurrences

WEEKS_PER_YEAR = 52.1775
ZONE_WEIGHTS = {"Europe/Berlin": 40, "America/New_York": 30, "Asia/Tokyo": 15, "UTC": 15}
WEEKDAY_WEIGHTS = (6, 6, 6, 6, 5, 2, 2)  # Monday..Sunday: most events are on working days


def range_weeks(years: float) -> int:
    return max(2, round(years * WEEKS_PER_YEAR))


def generate(count: int, years: float, seed: int, prefix: str = "evt") -> list[EventSpec]:
    """``count`` events spread over ``years`` from RANGE_START; the same arguments give the same
    events. Event ``i`` of a longer list equals event ``i`` of a shorter one, so the first M events
    are a true subset."""
    return list(itertools.islice(event_stream(years, seed, prefix), count))


def event_stream(years: float, seed: int, prefix: str) -> Iterator[EventSpec]:
    weeks = range_weeks(years)
    for i in itertools.count():
        yield _event(random.Random(f"{seed}:{prefix}:{i}"), f"{prefix}-{i:06d}", weeks)


def _event(rng: random.Random, name: str, weeks: int) -> EventSpec:
    uid = f"{name}-{rng.getrandbits(32):08x}@bench.kalends.example"
    kind = rng.random()
    if kind < 0.10:
        return _all_day(rng, uid, weeks)
    if kind < 0.20:
        return _series(rng, uid, weeks)
    return _timed(rng, uid, weeks)


def _day(rng: random.Random, weeks: int) -> datetime:
    while True:
        day = rng.randrange(weeks * 7)
        if rng.random() * 6 < WEEKDAY_WEIGHTS[day % 7]:
            return RANGE_START + timedelta(days=day)


def _zone(rng: random.Random) -> tuple[str, bool]:
    zone = rng.choices(list(ZONE_WEIGHTS), weights=list(ZONE_WEIGHTS.values()))[0]
    return zone, zone == "UTC" and rng.random() < 0.5


def _wall_time(rng: random.Random, day: datetime) -> datetime:
    # 07:00-19:45: never near a DST switch, so wall-clock and absolute arithmetic agree
    return day.replace(hour=rng.randrange(7, 20), minute=rng.choice((0, 15, 30, 45)))


def _timed(rng: random.Random, uid: str, weeks: int) -> EventSpec:
    zone, as_z = _zone(rng)
    start = _wall_time(rng, _day(rng, weeks))
    if rng.random() < 0.02:  # conferences, trips
        duration = timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 8))
    else:
        duration = timedelta(minutes=rng.choice((15, 30, 30, 45, 60, 60, 60, 90, 120, 180)))
    short = duration < timedelta(hours=4)
    return EventSpec(
        uid,
        zone,
        as_z,
        start,
        duration,
        False,
        short and rng.random() < 0.2,
        None,
        rng.getrandbits(32),
    )


def _all_day(rng: random.Random, uid: str, weeks: int) -> EventSpec:
    days = 1 if rng.random() < 0.7 else rng.randint(2, 4)
    return EventSpec(
        uid,
        "UTC",
        False,
        _day(rng, weeks),
        timedelta(days=days),
        True,
        False,
        None,
        rng.getrandbits(32),
    )


def _series(rng: random.Random, uid: str, weeks: int) -> EventSpec:
    """A series starts inside the range like any event and may run past its end."""
    weekly = rng.random() < 0.65
    count = rng.randint(8, 44) if weekly else rng.randint(5, 40)
    zone, as_z = _zone(rng)
    start = _wall_time(rng, _day(rng, weeks))
    exdates = tuple(sorted(rng.sample(range(1, count - 1), rng.randint(1, 2))))
    if rng.random() >= 0.3:
        exdates = ()
    moved = None
    moved_by = timedelta(0)
    if rng.random() < 0.3:
        moved = rng.choice([n for n in range(1, count) if n not in exdates])
        moved_by = rng.choice((timedelta(hours=2), timedelta(hours=-1), timedelta(days=1)))
    rule = Recurrence(
        "WEEKLY" if weekly else "DAILY", count, rng.random() < 0.4, exdates, moved, moved_by
    )
    duration = timedelta(minutes=rng.choice((15, 30, 30, 45, 60, 60, 90)))
    return EventSpec(uid, zone, as_z, start, duration, False, False, rule, rng.getrandbits(32))


def steady_weeks(years: float) -> range:
    """Weeks whose density is steady: series start inside the range and last up to ten months,
    so the first year (or half of a shorter range) is still filling up."""
    weeks = range_weeks(years)
    return range(min(52, weeks // 2), weeks)


def week_windows(years: float, rng: random.Random, count: int) -> list[Window]:
    weeks = steady_weeks(years)
    starts = [RANGE_START + timedelta(weeks=rng.choice(weeks)) for _ in range(count)]
    return [Window(start, start + timedelta(days=7)) for start in starts]


def month_windows(years: float, rng: random.Random, count: int) -> list[Window]:
    weeks = steady_weeks(years)
    first = RANGE_START + timedelta(weeks=weeks.start)
    last = RANGE_START + timedelta(weeks=weeks.stop) - timedelta(days=31)
    months: list[Window] = []
    year, month = first.year, first.month + (first.day > 1)
    while True:
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        start = datetime(year, month, 1)
        if start > last:
            break
        months.append(Window(start, datetime(year + month // 12, month % 12 + 1, 1)))
        month += 1
    return [rng.choice(months) for _ in range(count)]


def calibration(specs: Sequence[EventSpec], years: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    weeks = week_windows(years, rng, 20)
    months = month_windows(years, rng, 10)
    expanded = [occurrences(spec) for spec in specs]

    def hits(window: Window) -> int:
        start, end = window.start_ts, window.end_ts
        return sum(1 for occ in expanded if any(s < end and e > start for s, e in occ))

    return {
        "events_per_week_window": statistics.mean(hits(w) for w in weeks),
        "events_per_month_window": statistics.mean(hits(m) for m in months),
        "recurring_share": sum(s.recurrence is not None for s in specs) / len(specs),
        "all_day_share": sum(s.all_day for s in specs) / len(specs),
        "mean_resource_bytes": statistics.mean(len(render(s).encode()) for s in specs[:500]),
    }
