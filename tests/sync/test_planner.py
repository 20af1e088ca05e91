"""The planner and the merge on hand-picked cases the state machine reaches only rarely."""

from __future__ import annotations

from kalends.bridges.base import RemoteDeletion, RemoteEvent
from kalends.ical import parse
from kalends.sync.merge import merge
from kalends.sync.model import Kind, Listing, LocalItem, Policy, Snapshot, Status
from kalends.sync.planner import plan
from kalends.sync.vectors import Order, VersionVector
from tests.sync.test_state_machine import event_text

BASE = event_text("e@test", {"SUMMARY": "Base", "LOCATION": "Hall"}, 1)


def status(remote_id: str = "r1", href: str = "e.ics") -> Status:
    return Status(remote_id, href, "e@test", "v1", '"l1"', BASE, VersionVector(1, 1))


def snapshot(*local: LocalItem, statuses: tuple[Status, ...] = ()) -> Snapshot:
    linked = statuses or (status(),)
    texts = {s.href: LocalItem(s.href, s.local_etag, BASE, s.uid) for s in linked}
    changes = {item.href: item for item in local}
    return Snapshot({s.remote_id: s for s in linked}, changes, texts)


def test_version_vectors_order_the_two_replicas() -> None:
    base = VersionVector(2, 3)
    assert base.bump(local=True).compare(base) is Order.AFTER
    assert base.compare(base.bump(remote=True)) is Order.BEFORE
    assert base.bump(local=True).compare(base.bump(remote=True)) is Order.CONCURRENT
    assert base.bump(local=True).join(base.bump(remote=True)) == VersionVector(3, 4)


def test_a_renamed_note_is_relinked_not_deleted_and_recreated() -> None:
    moved = RemoteEvent("new/path.md", "v2", BASE, "e@test")
    result = plan(snapshot(), Listing([RemoteDeletion("r1"), moved], False, "c"), Policy())
    assert [a.kind for a in result.actions] == [Kind.LINK]
    assert result.actions[0].remote_id == "new/path.md"


def test_read_only_sources_restore_a_local_edit_instead_of_pushing_it() -> None:
    edited = event_text("e@test", {"SUMMARY": "Mine"}, 2)
    local = LocalItem("e.ics", '"l2"', edited, "e@test")
    result = plan(snapshot(local), Listing([], False, "c"), Policy(push=False))
    (action,) = result.actions
    assert action.kind is Kind.REFUSED and action.local_text == BASE
    assert action.before_local == edited, "the refused edit is journaled"


def test_no_delete_sources_refuse_a_local_delete() -> None:
    local = LocalItem("e.ics", None, None, None)
    result = plan(snapshot(local), Listing([], False, "c"), Policy(can_delete=False))
    assert [a.kind for a in result.actions] == [Kind.REFUSED]


def test_write_only_sources_ignore_remote_changes() -> None:
    changed = RemoteEvent("r1", "v2", event_text("e@test", {"SUMMARY": "Theirs"}, 5), "e@test")
    assert plan(snapshot(), Listing([changed], False, "c"), Policy(pull=False)).actions == ()


def test_unreadable_events_are_left_alone_in_a_full_listing() -> None:
    listing = Listing([], True, "c", frozenset({"r1"}))
    assert plan(snapshot(), listing, Policy()).actions == ()


def test_a_new_version_with_the_same_content_only_refreshes_the_status() -> None:
    same = RemoteEvent("r1", "v9", BASE.replace("DTSTAMP:20260101", "DTSTAMP:20270101"), "e@test")
    result = plan(snapshot(), Listing([same], False, "c"), Policy())
    assert result.actions == () and result.remote_versions == {"r1": "v9"}


def test_pushed_deletions_count_for_the_rails_too() -> None:
    statuses = tuple(status(f"r{n}", f"e{n}.ics") for n in range(10))
    gone = [LocalItem(f"e{n}.ics", None, None, None) for n in range(6)]
    result = plan(snapshot(*gone, statuses=statuses), Listing([], False, "c"), Policy())
    assert result.quarantine == "this round would delete 6 of 10 events"
    assert result.actions == () and result.cursor is None


def test_merge_keeps_an_edited_override_that_the_other_side_removed() -> None:
    override = (
        "BEGIN:VEVENT\r\nUID:e@test\r\nRECURRENCE-ID:20260308T090000Z\r\n"
        "DTSTART:20260308T110000Z\r\nDTEND:20260308T120000Z\r\nSUMMARY:{}\r\nEND:VEVENT\r\n"
    )
    with_rule = BASE.replace("END:VEVENT", "RRULE:FREQ=WEEKLY\r\nEND:VEVENT", 1)
    base = with_rule.replace("END:VCALENDAR", override.format("Moved") + "END:VCALENDAR")
    local = with_rule.replace("END:VCALENDAR", override.format("Moved again") + "END:VCALENDAR")
    result = merge(base, local, with_rule)
    events = parse(result.text).sub("VEVENT")
    assert [e.first("SUMMARY") for e in events] == ["Base", "Moved again"]
    assert result.clashes == ()


def test_merge_takes_each_side_s_property_and_keeps_unknown_lines_verbatim() -> None:
    local = BASE.replace("LOCATION:Hall", "LOCATION:Room 4\r\nX-APPLE-TRAVEL:30;X=1\\,2")
    remote = BASE.replace("SUMMARY:Base", "SUMMARY:Renamed")
    result = merge(BASE, local, remote)
    assert "SUMMARY:Renamed" in result.text and "LOCATION:Room 4" in result.text
    assert "X-APPLE-TRAVEL:30;X=1\\,2" in result.text and result.clashes == ()
