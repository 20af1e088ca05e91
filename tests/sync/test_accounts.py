"""Entries naming several calendars of an account: the pure expansion into a source per
calendar (kalends.sync.accounts), and its memory in the database."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalends.bridges.accounts import AccountCalendar
from kalends.config import Settings, load_settings
from kalends.config._tables import is_name
from kalends.security.passwords import hash_password
from kalends.storage.engine import create_storage_engine, migrate_database
from kalends.sync.accounts import KnownCalendar, expand
from kalends.sync.discovery import SqlAccountMemory

DEFAULTS = {"google": "primary", "outlook": ""}

WORK = AccountCalendar("work123@group.calendar.google.com", "Work")
HOLIDAYS = AccountCalendar("en.german#holiday@group.v.calendar.google.com", "Holidays", False)
PRIMARY = AccountCalendar("primary", "ann@example.com", primary=True)


@cache
def hashed() -> str:
    return hash_password("correct horse")


def settings_from(tmp_path: Path, sources: str, extra: str = "") -> Settings:
    path = tmp_path / "kalends.toml"
    path.write_text(
        f'[users.ann]\npassword_hash = "{hashed()}"\ncalendars = ["personal"]\n{extra}\n{sources}',
        encoding="utf-8",
    )
    return load_settings(path)


ALL_ENTRY = '[sources.g]\ntype = "google"\nuser = "ann"\ncalendars = "all"\nprivacy = "busy-only"\n'


def test_all_becomes_a_source_per_calendar_with_the_entry_s_settings(tmp_path: Path) -> None:
    base = settings_from(tmp_path, ALL_ENTRY)
    result = expand(base, {"g": [PRIMARY, WORK, HOLIDAYS]}, [], DEFAULTS)
    sources = result.settings.sources
    assert list(sources) == ["g-primary", "g-work", "g-holidays"]
    work = sources["g-work"]
    assert (work.type, work.user, work.entry, work.title) == ("google", "ann", "g", "Work")
    assert dict(work.options) == {
        "calendar": WORK.calendar_id, "account": "g", "privacy": "busy-only",
    }  # fmt: skip
    assert sources["g-primary"].options["calendar"] == "primary"
    assert sources["g-holidays"].direction == "read-only"  # the account may only read it
    assert sources["g-work"].direction == "two-way"
    assert result.problems == ()
    assert {k.source for k in result.known} == set(sources)


def test_a_calendar_keeps_its_name_when_renamed_and_new_ones_get_free_names(
    tmp_path: Path,
) -> None:
    base = settings_from(tmp_path, ALL_ENTRY)
    first = expand(base, {"g": [PRIMARY, WORK]}, [], DEFAULTS)
    renamed = AccountCalendar(WORK.calendar_id, "Office")
    newcomer = AccountCalendar("other@group.calendar.google.com", "Work")  # same title
    second = expand(base, {"g": [PRIMARY, renamed, newcomer]}, first.known, DEFAULTS)
    assert list(second.settings.sources) == ["g-primary", "g-work", "g-work-2"]
    assert second.settings.sources["g-work"].options["calendar"] == WORK.calendar_id


def test_without_an_answer_the_calendars_known_before_stand(tmp_path: Path) -> None:
    base = settings_from(tmp_path, ALL_ENTRY)
    first = expand(base, {"g": [PRIMARY, WORK, HOLIDAYS]}, [], DEFAULTS)
    offline = expand(base, {"g": None}, first.known, DEFAULTS)
    assert offline.settings.sources == first.settings.sources
    never_listed = expand(base, {}, [], DEFAULTS)  # not signed in yet: the own calendar
    assert list(never_listed.settings.sources) == ["g-primary"]
    assert never_listed.settings.sources["g-primary"].options["calendar"] == "primary"
    later = expand(base, {"g": [PRIMARY, WORK]}, never_listed.known, DEFAULTS)
    assert list(later.settings.sources) == ["g-primary", "g-work"]


def test_a_calendar_synced_by_a_source_of_its_own_is_left_to_it(tmp_path: Path) -> None:
    single = (
        f'[sources.office]\ntype = "google"\nuser = "ann"\naccount = "g"\n'
        f'calendar = "{WORK.calendar_id}"\ndirection = "read-only"\n'
    )
    base = settings_from(tmp_path, ALL_ENTRY + single)
    result = expand(base, {"g": [PRIMARY, WORK, HOLIDAYS]}, [], DEFAULTS)
    assert list(result.settings.sources) == ["g-primary", "g-holidays", "office"]


def test_a_list_names_the_calendars_in_its_order(tmp_path: Path) -> None:
    entry = (
        '[sources.g]\ntype = "google"\nuser = "ann"\n'
        f'calendars = ["{WORK.calendar_id}", "primary", "unlisted@example.com"]\n'
    )
    base = settings_from(tmp_path, entry, 'default_target = "g"\n')
    result = expand(base, {"g": [PRIMARY, WORK, HOLIDAYS]}, [], DEFAULTS)
    assert list(result.settings.sources) == ["g-work", "g-primary", "g-unlisted"]
    assert result.settings.users["ann"].default_target == "g-primary"
    offline = expand(base, {}, [], DEFAULTS)  # named from the ids, then remembered
    assert list(offline.settings.sources) == ["g-work123", "g-primary", "g-unlisted"]


def test_views_name_the_calendars_of_an_entry(tmp_path: Path) -> None:
    base = settings_from(
        tmp_path,
        ALL_ENTRY + '\n[views.busy]\nuser = "ann"\nsources = ["g"]\nprivacy = "busy-only"\n',
    )
    result = expand(base, {"g": [PRIMARY, WORK]}, [], DEFAULTS)
    assert result.settings.views["busy"].sources == ("g-primary", "g-work")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ('type = "ics"\nurl = "https://example.org/a.ics"\ncalendars = "all"', "only google"),
        ('type = "google"\ncalendar = "primary"\ncalendars = "all"', "not both"),
        ('type = "google"\ncalendars = "some"', 'expected "all" or a list'),
        ('type = "google"\ncalendars = []', 'expected "all" or a list'),
        ('type = "google"\ncalendars = ["a", "a"]', "distinct"),
    ],
)
def test_a_bad_entry_is_left_out_with_the_reason(tmp_path: Path, entry: str, reason: str) -> None:
    base = settings_from(tmp_path, f'[sources.g]\nuser = "ann"\n{entry}\n')
    result = expand(base, {}, [], DEFAULTS)
    assert dict(result.settings.sources) == {}
    assert len(result.problems) == 1 and reason in result.problems[0]
    assert result.problems[0].startswith("source 'g' is not synced")


def test_write_only_entries_leave_read_only_calendars_out(tmp_path: Path) -> None:
    base = settings_from(
        tmp_path, ALL_ENTRY.replace('privacy = "busy-only"', 'direction = "write-only"')
    )
    result = expand(base, {"g": [PRIMARY, HOLIDAYS]}, [], DEFAULTS)
    assert list(result.settings.sources) == ["g-primary"]
    assert "read-only at the provider" in result.problems[0]


titles = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
calendar_lists = st.lists(
    st.builds(AccountCalendar, st.text(min_size=1, max_size=60), titles, st.booleans()),
    max_size=8,
    unique_by=lambda c: c.calendar_id,
)


@settings(max_examples=60, deadline=None)
@given(first=calendar_lists, second=calendar_lists)
def test_names_are_valid_unique_and_stable(
    tmp_path_factory: pytest.TempPathFactory,
    first: list[AccountCalendar],
    second: list[AccountCalendar],
) -> None:
    base = settings_from(
        tmp_path_factory.mktemp("cfg"),
        ALL_ENTRY
        + '\n[sources.g-work]\ntype = "ics"\nuser = "ann"\nurl = "https://example.org/x.ics"\n',
    )
    one = expand(base, {"g": first}, [], DEFAULTS)
    two = expand(base, {"g": second}, one.known, DEFAULTS)
    for result in (one, two):
        names = list(result.settings.sources)
        assert len(names) == len(set(names))
        assert all(is_name(name) for name in names)
        assert "personal" not in names and "all" not in names
    before = {k.calendar_id: k.source for k in one.known}
    for record in two.known:
        if record.calendar_id in before:
            assert record.source == before[record.calendar_id]


def test_the_memory_round_trips_through_the_database(database_url: str) -> None:
    migrate_database(database_url)
    engine = create_storage_engine(database_url, pool_size=1)
    try:
        memory = SqlAccountMemory(engine)
        rows = [
            KnownCalendar("g", "primary", "g-primary", "ann@example.com", True, True),
            KnownCalendar("g", HOLIDAYS.calendar_id, "g-holidays", "Holidays", False, False),
            KnownCalendar("gone", "x", "gone-x", "X"),
        ]
        memory.save({"g", "gone"}, rows)
        assert sorted(memory.load(), key=lambda k: k.source) == sorted(rows, key=lambda k: k.source)
        memory.save({"g"}, rows)  # an entry that left the file is forgotten
        assert {k.entry for k in memory.load()} == {"g"}
    finally:
        engine.dispose()


def test_expansion_of_a_file_without_entries_is_the_file(tmp_path: Path) -> None:
    base = settings_from(
        tmp_path, '[sources.f]\ntype = "ics"\nuser = "ann"\nurl = "https://e.org/a.ics"\n'
    )
    result = expand(base, {}, [], DEFAULTS)
    assert result.settings is base and result.known == () and result.problems == ()
    assert isinstance(result.settings.sources, MappingProxyType)
