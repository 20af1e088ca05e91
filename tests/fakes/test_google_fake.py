"""The Google Calendar fake, driven over real HTTP as a bridge would drive Google."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web

from tests.fakes.google import GoogleFake, running_google_fake
from tests.fakes.hooks import Handler, HookServer

CLIENT_ID, CLIENT_SECRET = "kalends-test.apps.example", "s3cret"
BERLIN = "Europe/Berlin"
ETAG = re.compile(r'^"\d{16}"$')
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def fake() -> Iterator[GoogleFake]:
    with running_google_fake() as made:
        made.register_client(CLIENT_ID, CLIENT_SECRET)
        made.add_calendar("team@group.calendar.google.com", "Team", time_zone=BERLIN)
        yield made


@pytest.fixture
def api(fake: GoogleFake) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {fake.user_token}"}
    with httpx.Client(base_url=fake.api_url, headers=headers, timeout=10) as client:
        yield client


EVENTS = "calendars/team@group.calendar.google.com/events"
CID = "team@group.calendar.google.com"


def timed(summary: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": start, "timeZone": BERLIN},
        "end": {"dateTime": end, "timeZone": BERLIN},
        **extra,
    }


def series(count: int = 5, **extra: Any) -> dict[str, Any]:
    return timed(
        "Standup", "2026-03-02T09:00:00+01:00", "2026-03-02T09:15:00+01:00",
        recurrence=[f"RRULE:FREQ=DAILY;COUNT={count}"], **extra,
    )  # fmt: skip


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == response.status_code
    assert body["message"] == body["errors"][0]["message"]
    first: dict[str, Any] = body["errors"][0]
    return first


def list_all(api: httpx.Client, **params: Any) -> tuple[list[dict[str, Any]], str, int]:
    """Every item of a listing, its sync token and the number of pages."""
    items: list[dict[str, Any]] = []
    pages = 0
    query = dict(params)
    while True:
        page = api.get(EVENTS, params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        pages += 1
        items.extend(body["items"])
        if "nextPageToken" in body:
            assert "nextSyncToken" not in body, "a sync token only on the last page"
            query["pageToken"] = body["nextPageToken"]
            continue
        return items, body["nextSyncToken"], pages


# -- events: shapes, ids, versions ------------------------------------------------------------


def test_an_inserted_event_is_stored_whole_and_read_back(api: httpx.Client) -> None:
    extra = {
        "colorId": "5",
        "transparency": "transparent",
        "extendedProperties": {"private": {"hubId": "a1b2"}},
        "attendees": [{"email": "bob@example.com", "responseStatus": "needsAction"}],
        "conferenceData": {"conferenceId": "abc-defg-hij"},
        "guestsCanModify": True,
    }
    made = api.post(EVENTS, json=timed("Kickoff", "2026-03-02T08:00:00Z",
                                       "2026-03-02T10:00:00+01:00", **extra))  # fmt: skip
    assert made.status_code == 200, made.text
    event = made.json()
    assert event["kind"] == "calendar#event" and ETAG.match(event["etag"])
    assert event["status"] == "confirmed" and event["sequence"] == 0
    assert STAMP.match(event["created"]) and STAMP.match(event["updated"])
    assert event["iCalUID"] == f"{event['id']}@google.com"
    assert event["organizer"] == {"email": CID, "displayName": "Team", "self": True}
    assert event["reminders"] == {"useDefault": True} and event["eventType"] == "default"
    assert {k: event[k] for k in extra} == extra
    # Times come back in the calendar's zone, the event's zone kept beside them.
    assert event["start"] == {"dateTime": "2026-03-02T09:00:00+01:00", "timeZone": BERLIN}
    fetched = api.get(f"{EVENTS}/{event['id']}")
    assert fetched.json() == event and fetched.headers["ETag"] == event["etag"]
    unchanged = api.get(f"{EVENTS}/{event['id']}", headers={"If-None-Match": event["etag"]})
    assert unchanged.status_code == 304
    in_utc = api.get(f"{EVENTS}/{event['id']}", params={"timeZone": "UTC"}).json()
    assert in_utc["start"]["dateTime"] == "2026-03-02T08:00:00Z"
    assert api.get(f"{EVENTS}/nosuchevent1").status_code == 404


def test_client_chosen_ids_and_their_conflicts(api: httpx.Client, fake: GoogleFake) -> None:
    body = timed("Mine", "2026-03-02T09:00:00", "2026-03-02T10:00:00",
                 id="kalends0abc123", iCalUID="from-caldav@test")  # fmt: skip
    made = api.post(EVENTS, json=body).json()
    assert (made["id"], made["iCalUID"]) == ("kalends0abc123", "from-caldav@test")
    again = api.post(EVENTS, json=body)
    assert again.status_code == 409
    message = "The requested identifier already exists."
    assert again.json() == {"error": {"errors": [{"domain": "global", "reason": "duplicate",
                            "message": message}], "code": 409, "message": message}}  # fmt: skip
    assert api.delete(f"{EVENTS}/kalends0abc123").status_code == 204
    assert api.post(EVENTS, json=body).status_code == 409, "ids of deleted events stay taken"
    fake.compact()
    assert api.post(EVENTS, json=body).status_code == 409, "even after the tombstone is purged"
    for bad in ("abc", "UPPERCASE1", "has_underscore", "wxyz12345"):
        refused = api.post(EVENTS, json={**body, "id": bad})
        assert refused.status_code == 400 and error_of(refused)["reason"] == "invalid", bad


def test_dates_and_ranges_are_checked(api: httpx.Client) -> None:
    floating = {"summary": "x", "start": {"dateTime": "2026-03-02T09:00:00"},
                "end": {"dateTime": "2026-03-02T10:00:00"}}  # fmt: skip
    assert error_of(api.post(EVENTS, json=floating))["reason"] == "missingTimeZone"
    backwards = timed("x", "2026-03-02T10:00:00+01:00", "2026-03-02T09:00:00+01:00")
    refused = api.post(EVENTS, json=backwards)
    assert refused.status_code == 400 and error_of(refused)["reason"] == "timeRangeEmpty"
    all_day = api.post(EVENTS, json={"summary": "Holiday", "start": {"date": "2026-03-09"},
                                     "end": {"date": "2026-03-10"}}).json()  # fmt: skip
    assert (all_day["start"], all_day["end"]) == ({"date": "2026-03-09"}, {"date": "2026-03-10"})
    assert api.post(EVENTS, content=b"{not json").json()["error"]["errors"][0]["reason"] == (
        "parseError"
    )


def test_if_match_etags_and_reminder_only_changes(api: httpx.Client) -> None:
    event = api.post(EVENTS, json=timed("A", "2026-03-02T09:00:00+01:00",
                                        "2026-03-02T10:00:00+01:00")).json()  # fmt: skip
    url = f"{EVENTS}/{event['id']}"
    stale = api.patch(url, json={"summary": "B"}, headers={"If-Match": '"1234"'})
    assert stale.status_code == 412
    failed = "Precondition Failed"
    assert stale.json()["error"] == {
        "errors": [{"domain": "global", "reason": "conditionNotMet", "message": failed,
                    "locationType": "header", "location": "If-Match"}],
        "code": 412, "message": failed,
    }  # fmt: skip
    patched = api.patch(url, json={"summary": "B"}, headers={"If-Match": event["etag"]}).json()
    assert patched["summary"] == "B" and patched["etag"] != event["etag"]
    assert patched["start"]["timeZone"] == BERLIN, "a patch merges"
    assert patched["updated"] > event["updated"]
    reminders = {"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]}
    quiet = api.patch(url, json={"reminders": reminders}).json()
    assert quiet["etag"] != patched["etag"] and quiet["updated"] == patched["updated"]
    replaced = api.put(url, json=timed("C", "2026-03-03T09:00:00+01:00",
                                       "2026-03-03T10:00:00+01:00")).json()  # fmt: skip
    assert replaced["id"] == event["id"] and replaced["created"] == event["created"]
    assert replaced["reminders"] == {"useDefault": True}, "a PUT replaces what it omits"
    assert replaced["sequence"] == 1, "a new time counts as a new sequence"
    assert api.delete(url, headers={"If-Match": event["etag"]}).status_code == 412
    assert api.delete(url, headers={"If-Match": replaced["etag"]}).status_code == 204
    gone = api.delete(url)
    assert gone.status_code == 410 and error_of(gone) == {
        "domain": "global", "reason": "deleted", "message": "Resource has been deleted",
    }  # fmt: skip
    assert api.get(url).json()["status"] == "cancelled", "get returns deleted events"
    assert api.patch(url, json={"summary": "D"}).status_code == 403


# -- listings and sync tokens -----------------------------------------------------------------


def test_pages_carry_the_sync_token_only_at_the_end(api: httpx.Client, fake: GoogleFake) -> None:
    made = {fake.insert(CID, timed(f"E{i}", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))["id"]
            for i in range(23)}  # fmt: skip
    items, token, pages = list_all(api, maxResults=5)
    assert pages == 5 and len(items) == 23 and {i["id"] for i in items} == made
    first = api.get(EVENTS, params={"maxResults": 5}).json()
    assert first["kind"] == "calendar#events" and first["timeZone"] == BERLIN
    assert first["accessRole"] == "owner" and "defaultReminders" in first
    assert STAMP.match(first["updated"]) and first["summary"] == "Team"
    nothing = api.get(EVENTS, params={"syncToken": token, "maxResults": 5}).json()
    assert nothing["items"] == [] and "nextSyncToken" in nothing


def test_incremental_sync_reports_changes_and_cancellations(
    api: httpx.Client, fake: GoogleFake
) -> None:
    keep = fake.insert(CID, timed("Keep", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
    drop = fake.insert(CID, timed("Drop", "2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"))
    master = fake.insert(CID, series())
    _, token, _ = list_all(api)
    fake.patch(CID, keep["id"], {"summary": "Kept"})
    fake.delete(CID, drop["id"])
    third = fake.instances(CID, master["id"])[2]
    fake.delete(CID, third["id"])
    changes, token2, _ = list_all(api, syncToken=token)
    by_id = {c["id"]: c for c in changes}
    assert by_id[keep["id"]]["summary"] == "Kept"
    assert set(by_id[drop["id"]]) == {"kind", "etag", "id", "status"}
    assert by_id[drop["id"]]["status"] == "cancelled"
    cancelled = by_id[f"{master['id']}_20260304T080000Z"]
    assert set(cancelled) == {"kind", "etag", "id", "status", "recurringEventId",
                              "originalStartTime"}  # fmt: skip
    assert cancelled["originalStartTime"] == {"dateTime": "2026-03-04T09:00:00+01:00",
                                              "timeZone": BERLIN}  # fmt: skip
    assert list_all(api, syncToken=token2)[0] == []
    full = {i["id"]: i for i in list_all(api)[0]}
    assert drop["id"] not in full, "a full listing hides deleted events"
    assert full[cancelled["id"]]["status"] == "cancelled", "but lists cancelled occurrences"
    assert drop["id"] in {i["id"] for i in list_all(api, showDeleted="true")[0]}


def test_a_change_made_while_paging_is_not_lost(api: httpx.Client, fake: GoogleFake) -> None:
    ids = [fake.insert(CID, timed(f"E{i}", "2026-03-02T09:00:00Z",
                                  "2026-03-02T10:00:00Z"))["id"] for i in range(6)]  # fmt: skip
    first = api.get(EVENTS, params={"maxResults": 2}).json()
    seen = [i["id"] for i in first["items"]]
    fake.patch(CID, seen[0], {"summary": "changed after it was read"})
    fake.delete(CID, ids[-1])
    items, token, _ = list_all(api, maxResults=2, pageToken=first["nextPageToken"])
    assert ids[-1] not in {i["id"] for i in items}
    changed = {c["id"]: c for c in list_all(api, maxResults=2, syncToken=token)[0]}
    assert changed[seen[0]]["summary"] == "changed after it was read"
    assert changed[ids[-1]]["status"] == "cancelled"


def test_sync_tokens_refuse_other_parameters_and_expire(
    api: httpx.Client, fake: GoogleFake
) -> None:
    fake.insert(CID, timed("A", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
    _, token, _ = list_all(api)
    forbidden = {"timeMin": "2026-01-01T00:00:00Z", "timeMax": "2027-01-01T00:00:00Z",
                 "updatedMin": "2026-01-01T00:00:00Z", "q": "x", "iCalUID": "x@y",
                 "orderBy": "updated", "privateExtendedProperty": "a=b",
                 "sharedExtendedProperty": "a=b"}  # fmt: skip
    for name, value in forbidden.items():
        refused = api.get(EVENTS, params={"syncToken": token, name: value})
        assert refused.status_code == 400 and error_of(refused)["reason"] == "invalid", name
    other = api.get(EVENTS, params={"syncToken": token, "singleEvents": "true"})
    assert other.status_code == 400, "a sync token is bound to its listing's parameters"
    assert api.get(EVENTS, params={"syncToken": "garbage"}).status_code == 400
    fake.expire_sync_tokens()
    expired = api.get(EVENTS, params={"syncToken": token})
    assert expired.status_code == 410
    assert expired.json()["error"]["errors"] == [{
        "domain": "calendar", "reason": "fullSyncRequired",
        "message": "Sync token is no longer valid, a full sync is required.",
        "locationType": "parameter", "location": "syncToken",
    }]  # fmt: skip


def test_compaction_expires_older_tokens_and_updated_min(
    api: httpx.Client, fake: GoogleFake
) -> None:
    doomed = fake.insert(CID, timed("A", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
    _, before, _ = list_all(api)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    fake.delete(CID, doomed["id"])
    _, after, _ = list_all(api)
    with_deleted = list_all(api, updatedMin=since)[0]
    assert with_deleted[0]["status"] == "cancelled", "updatedMin lists deletions"
    fake.compact()
    stale = api.get(EVENTS, params={"syncToken": before})
    assert stale.status_code == 410 and error_of(stale)["reason"] == "fullSyncRequired"
    assert api.get(EVENTS, params={"syncToken": after}).status_code == 200
    too_old = api.get(EVENTS, params={"updatedMin": since})
    assert too_old.status_code == 410 and error_of(too_old)["reason"] == "updatedMinTooLongAgo"


def test_filters_of_a_full_listing(api: httpx.Client, fake: GoogleFake) -> None:
    fake.insert(CID, timed("Lunch with Ann", "2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z",
                           extendedProperties={"private": {"hubId": "h1"}}))  # fmt: skip
    fake.insert(CID, timed("Dinner", "2026-03-05T18:00:00Z", "2026-03-05T19:00:00Z"))
    window = list_all(api, timeMin="2026-03-04T00:00:00Z", timeMax="2026-03-06T00:00:00Z")[0]
    assert [i["summary"] for i in window] == ["Dinner"]
    assert [i["summary"] for i in list_all(api, q="ann")[0]] == ["Lunch with Ann"]
    tagged = list_all(api, privateExtendedProperty="hubId=h1")[0]
    assert [i["summary"] for i in tagged] == ["Lunch with Ann"]
    empty = api.get(EVENTS, params={"timeMin": "2026-03-06T00:00:00Z",
                                    "timeMax": "2026-03-04T00:00:00Z"})  # fmt: skip
    assert empty.status_code == 400 and error_of(empty)["reason"] == "timeRangeEmpty"
    assert api.get(EVENTS, params={"orderBy": "startTime"}).status_code == 400
    ordered = list_all(api, orderBy="startTime", singleEvents="true")[0]
    assert [i["summary"] for i in ordered] == ["Lunch with Ann", "Dinner"]


def test_short_pages_still_deliver_everything(api: httpx.Client, fake: GoogleFake) -> None:
    made = {fake.insert(CID, timed(f"E{i}", "2026-03-02T09:00:00Z",
                                   "2026-03-02T10:00:00Z"))["id"] for i in range(40)}  # fmt: skip
    fake.short_pages = True
    items, _, pages = list_all(api, maxResults=10)
    assert {i["id"] for i in items} == made and len(items) == 40
    assert pages > 4, "pages came short or empty"


# -- recurring events -------------------------------------------------------------------------


def test_a_series_expands_with_a_moved_and_a_cancelled_instance(api: httpx.Client) -> None:
    master = api.post(EVENTS, json=series()).json()
    mid = master["id"]
    assert master["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=5"]
    expanded = list_all(api, singleEvents="true")[0]
    assert [i["id"] for i in expanded] == [f"{mid}_202603{d:02d}T080000Z" for d in range(2, 7)]
    second = expanded[1]
    assert second["recurringEventId"] == mid and "recurrence" not in second
    assert second["originalStartTime"] == {"dateTime": "2026-03-03T09:00:00+01:00",
                                           "timeZone": BERLIN}  # fmt: skip
    assert api.get(f"{EVENTS}/{second['id']}").json()["start"] == second["start"]
    moved = api.patch(f"{EVENTS}/{second['id']}", json={
        "start": {"dateTime": "2026-03-03T10:00:00+01:00"},
        "end": {"dateTime": "2026-03-03T10:15:00+01:00"},
        "originalStartTime": {"dateTime": "2026-03-03T11:00:00+01:00"},
    }).json()  # fmt: skip
    assert moved["id"] == second["id"] and moved["recurringEventId"] == mid
    assert moved["originalStartTime"] == second["originalStartTime"], "immutable"
    assert api.delete(f"{EVENTS}/{mid}_20260304T080000Z").status_code == 204
    assert api.delete(f"{EVENTS}/{mid}_20260304T080000Z").status_code == 410
    single = list_all(api, singleEvents="true")[0]
    starts = sorted(i["start"]["dateTime"] for i in single)
    assert starts == ["2026-03-02T09:00:00+01:00", "2026-03-03T10:00:00+01:00",
                      "2026-03-05T09:00:00+01:00", "2026-03-06T09:00:00+01:00"]  # fmt: skip
    stored = list_all(api)[0]
    assert sorted((i["id"], i["status"]) for i in stored) == [
        (mid, "confirmed"), (f"{mid}_20260303T080000Z", "confirmed"),
        (f"{mid}_20260304T080000Z", "cancelled"),
    ]  # fmt: skip
    by_uid = list_all(api, iCalUID=master["iCalUID"], showDeleted="true")[0]
    assert len(by_uid) == 3
    one = api.get(f"{EVENTS}/{mid}/instances",
                  params={"originalStart": "2026-03-03T09:00:00+01:00"}).json()  # fmt: skip
    assert [i["id"] for i in one["items"]] == [moved["id"]]
    live = api.get(f"{EVENTS}/{mid}/instances").json()["items"]
    assert len(live) == 4
    with_cancelled = api.get(f"{EVENTS}/{mid}/instances", params={"showDeleted": "true"})
    assert len(with_cancelled.json()["items"]) == 5
    assert api.get(f"{EVENTS}/{mid}_20260309T080000Z").status_code == 404, "no such occurrence"


def test_recurrence_is_checked(api: httpx.Client) -> None:
    no_zone = {"summary": "x", "start": {"dateTime": "2026-03-02T09:00:00+01:00"},
               "end": {"dateTime": "2026-03-02T10:00:00+01:00"},
               "recurrence": ["RRULE:FREQ=WEEKLY"]}  # fmt: skip
    refused = api.post(EVENTS, json=no_zone)
    assert refused.status_code == 400
    assert error_of(refused)["message"] == "Missing time zone definition for start time."
    for lines in (["DTSTART:20260302T090000Z", "RRULE:FREQ=DAILY"], ["RRULE:FREQ=SOMETIMES"],
                  ["RRULE:FREQ=MINUTELY"]):  # fmt: skip
        assert api.post(EVENTS, json={**series(), "recurrence": lines}).status_code == 400
    bomb = api.post(EVENTS, json={**series(), "recurrence": ["RRULE:FREQ=DAILY;COUNT=999999"]})
    assert bomb.status_code == 200
    started = time.monotonic()
    expanded = api.get(f"{EVENTS}/{bomb.json()['id']}/instances", params={"maxResults": 2500})
    assert 730 <= len(expanded.json()["items"]) <= 1000, "two years past now, capped"
    never = {**series(), "recurrence": ["RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"]}
    nothing = api.post(EVENTS, json=never).json()
    assert api.get(f"{EVENTS}/{nothing['id']}/instances").json()["items"][:1] != [None]
    assert time.monotonic() - started < 2.0


def test_all_day_series_and_exdates(api: httpx.Client) -> None:
    body = {"summary": "Gym", "start": {"date": "2026-03-02"}, "end": {"date": "2026-03-03"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;VALUE=DATE:20260309"]}  # fmt: skip
    master = api.post(EVENTS, json=body).json()
    items = list_all(api, singleEvents="true")[0]
    assert [i["id"] for i in items] == [f"{master['id']}_{d}" for d in
                                        ("20260302", "20260316", "20260323")]  # fmt: skip
    assert items[1]["originalStartTime"] == {"date": "2026-03-16"}


def test_changing_a_series_drops_exceptions_that_are_no_longer_occurrences(
    api: httpx.Client, fake: GoogleFake
) -> None:
    master = fake.insert(CID, series())
    mid = master["id"]
    late = f"{mid}_20260306T080000Z"
    fake.patch(CID, late, {"summary": "Last one, moved"})
    fake.patch(CID, f"{mid}_20260302T080000Z", {"location": "Room 2"})
    _, token, _ = list_all(api)
    fake.patch(CID, mid, {"recurrence": ["RRULE:FREQ=DAILY;COUNT=3"], "summary": "Daily"})
    changes = {c["id"]: c for c in list_all(api, syncToken=token)[0]}
    assert changes[late]["status"] == "cancelled"
    kept = changes[f"{mid}_20260302T080000Z"]
    assert (kept["summary"], kept["location"]) == ("Daily", "Room 2"), "series values carry over"
    assert len(fake.instances(CID, mid)) == 3
    fake.delete(CID, mid)
    gone = {c["id"]: c["status"] for c in list_all(api, syncToken=token)[0]}
    assert gone[mid] == "cancelled" and gone[f"{mid}_20260302T080000Z"] == "cancelled"


def test_single_events_sync_reports_vanished_and_deleted_occurrences(
    api: httpx.Client, fake: GoogleFake
) -> None:
    master = fake.insert(CID, series(count=4))
    mid = master["id"]
    items, token, _ = list_all(api, singleEvents="true", maxResults=3)
    assert len(items) == 4 and all(i["recurringEventId"] == mid for i in items)
    fake.patch(CID, mid, {"recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]})
    changes, token, _ = list_all(api, singleEvents="true", maxResults=3, syncToken=token)
    states = {c["id"].removeprefix(f"{mid}_202603"): c["status"] for c in changes}
    assert states == {"02T080000Z": "confirmed", "03T080000Z": "confirmed",
                      "04T080000Z": "cancelled", "05T080000Z": "cancelled"}  # fmt: skip
    fake.delete(CID, mid)
    gone, _, _ = list_all(api, singleEvents="true", maxResults=3, syncToken=token)
    assert {g["status"] for g in gone} == {"cancelled"}
    assert f"{mid}_20260302T080000Z" in {g["id"] for g in gone}
    assert api.get(f"{EVENTS}/{mid}/instances").status_code == 410


def test_import_is_keyed_on_the_ical_uid(api: httpx.Client) -> None:
    body = timed("Imported", "2026-03-02T09:00:00+01:00", "2026-03-02T10:00:00+01:00",
                 iCalUID="ext-1@example.com", sequence=2)  # fmt: skip
    made = api.post(f"{EVENTS}/import", json=body).json()
    again = api.post(f"{EVENTS}/import", json={**body, "summary": "Updated"}).json()
    assert again["id"] == made["id"] and again["summary"] == "Updated"
    lower = api.post(f"{EVENTS}/import", json={**body, "sequence": 1})
    assert lower.status_code == 400 and error_of(lower)["message"] == (
        "Invalid sequence value. The specified sequence number is below the current sequence "
        "number of the resource."
    )
    missing = api.post(f"{EVENTS}/import", json={k: v for k, v in body.items() if k != "iCalUID"})
    assert missing.status_code == 400


# -- faults -----------------------------------------------------------------------------------


def test_injected_failures_have_googles_bodies(api: httpx.Client, fake: GoogleFake) -> None:
    fake.fail_next(403, "userRateLimitExceeded", retry_after=7, method="POST")
    body = timed("A", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z")
    limited = api.post(EVENTS, json=body)
    assert limited.status_code == 403 and limited.headers["Retry-After"] == "7"
    assert limited.json() == {"error": {"errors": [{"domain": "usageLimits",
                              "reason": "userRateLimitExceeded",
                              "message": "User Rate Limit Exceeded"}], "code": 403,
                              "message": "User Rate Limit Exceeded"}}  # fmt: skip
    assert fake.events(CID) == [], "a failed request is not applied"
    fake.fail_next(429, count=2, path_contains="/events")
    for _ in range(2):
        answer = api.get(EVENTS)
        assert answer.status_code == 429 and "Retry-After" not in answer.headers
        assert error_of(answer) == {"domain": "usageLimits", "reason": "rateLimitExceeded",
                                    "message": "Rate Limit Exceeded"}  # fmt: skip
    fake.fail_next(500)
    assert error_of(api.get(EVENTS))["reason"] == "backendError"
    assert api.get(EVENTS).status_code == 200
    fake.lose_next_reply(method="POST")
    lost = api.post(EVENTS, json=body)
    assert lost.status_code == 503 and error_of(lost)["reason"] == "backendError"
    assert len(fake.events(CID)) == 1, "a lost reply's request was applied"


def test_rate_limiter(api: httpx.Client, fake: GoogleFake) -> None:
    fake.rate_limit(per_minute=3)
    answers = [api.get(EVENTS).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 403, 403]
    assert error_of(api.get(EVENTS))["reason"] == "userRateLimitExceeded"
    fake.rate_limit(None)
    assert api.get(EVENTS).status_code == 200


# -- sign-in ----------------------------------------------------------------------------------


def test_api_requests_need_a_valid_token(fake: GoogleFake) -> None:
    url = fake.api_url + "users/me/calendarList"
    assert httpx.get(url).status_code == 401
    refused = httpx.get(url, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith(
        'Bearer realm="https://accounts.google.com/"'
    )
    assert refused.json()["error"] == {
        "errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials",
                    "locationType": "header", "location": "Authorization"}],
        "code": 401, "message": "Invalid Credentials",
    }  # fmt: skip
    listed = httpx.get(url, headers={"Authorization": f"Bearer {fake.user_token}"}).json()
    primary = next(i for i in listed["items"] if i.get("primary"))
    assert primary["id"] == primary["summary"] == fake.user_email
    assert {i["id"] for i in listed["items"]} == {fake.user_email, CID}


def _refresh(fake: GoogleFake, refresh: str, **extra: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, **extra}  # fmt: skip
    return httpx.post(fake.token_url, data=form)


def test_refresh_tokens_and_their_failures(fake: GoogleFake) -> None:
    refresh = fake.issue_refresh_token(CLIENT_ID)
    answer = _refresh(fake, refresh).json()
    assert set(answer) == {"access_token", "expires_in", "scope", "token_type"}
    assert answer["expires_in"] == 3599 and answer["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    assert httpx.get(fake.api_url + EVENTS, headers=headers).status_code == 200
    fake.expire_access_tokens()
    assert httpx.get(fake.api_url + EVENTS, headers=headers).status_code == 401
    fresh = _refresh(fake, refresh).json()["access_token"]
    fake.advance_time(3600)
    assert httpx.get(fake.api_url + EVENTS,
                     headers={"Authorization": f"Bearer {fresh}"}).status_code == 401  # fmt: skip
    assert _refresh(fake, refresh, client_secret="wrong").status_code == 401
    narrower = _refresh(fake, refresh, scope="https://www.googleapis.com/auth/calendar.events")
    assert narrower.json()["scope"] == "https://www.googleapis.com/auth/calendar.events"
    fake.invalid_grant = True
    refused = _refresh(fake, refresh)
    assert refused.status_code == 400 and refused.json() == {
        "error": "invalid_grant", "error_description": "Token has been expired or revoked.",
    }  # fmt: skip
    fake.invalid_grant = False
    fake.revoke(refresh)
    assert _refresh(fake, refresh).json()["error"] == "invalid_grant"


def test_google_auth_refreshes_against_the_fake(fake: GoogleFake) -> None:
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    scopes = ["https://www.googleapis.com/auth/calendar.events",
              "https://www.googleapis.com/auth/calendar.calendarlist.readonly"]  # fmt: skip
    credentials = Credentials(  # type: ignore[no-untyped-call]
        token=None, refresh_token=fake.issue_refresh_token(CLIENT_ID), token_uri=fake.token_url,
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=scopes,
    )  # fmt: skip
    credentials.refresh(Request())  # type: ignore[no-untyped-call]
    assert credentials.valid and credentials.token
    listed = httpx.get(fake.api_url + "users/me/calendarList",
                       headers={"Authorization": f"Bearer {credentials.token}"})  # fmt: skip
    assert listed.status_code == 200


def _pkce() -> tuple[str, str]:
    verifier = "v" * 50
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _consent(fake: GoogleFake, redirect: str, challenge: str) -> httpx.Response:
    query = {"client_id": CLIENT_ID, "redirect_uri": redirect, "response_type": "code",
             "scope": "https://www.googleapis.com/auth/calendar.events", "state": "st4te",
             "code_challenge": challenge, "code_challenge_method": "S256",
             "access_type": "offline", "prompt": "consent"}  # fmt: skip
    return httpx.get(fake.auth_url, params=query)


def test_authorization_code_flow_with_pkce(fake: GoogleFake) -> None:
    verifier, challenge = _pkce()
    redirect = "http://127.0.0.1:8765/"
    answer = _consent(fake, redirect, challenge)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["state"] == "st4te" and query["code"]
    form = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": redirect,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}  # fmt: skip
    wrong = httpx.post(fake.token_url, data={**form, "code_verifier": "w" * 50})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    other_uri = {"code_verifier": verifier, "redirect_uri": "http://127.0.0.1:1/"}
    elsewhere = httpx.post(fake.token_url, data={**form, **other_uri})
    assert elsewhere.json()["error"] == "redirect_uri_mismatch"
    tokens = httpx.post(fake.token_url, data={**form, "code_verifier": verifier}).json()
    assert {"access_token", "refresh_token", "expires_in", "scope", "token_type"} <= set(tokens)
    again = httpx.post(fake.token_url, data={**form, "code_verifier": verifier})
    assert again.json()["error"] == "invalid_grant", "a code is used once"
    assert _refresh(fake, tokens["refresh_token"]).status_code == 200
    assert _consent(fake, "https://evil.example/cb", challenge).status_code == 400
    fake.deny_consent = True
    denied = parse_qs(urlsplit(_consent(fake, redirect, challenge).headers["Location"]).query)
    assert denied == {"error": ["access_denied"], "state": ["st4te"]}


# -- push notifications -----------------------------------------------------------------------


class Receiver(HookServer):
    """A webhook on 127.0.0.1 that records the headers of each notification."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[dict[str, str]] = []
        self.bodies: list[bytes] = []

    def routes(self) -> dict[str, Handler]:
        return {"/hook": self._hook}

    async def _hook(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.got.append(dict(request.headers))
        return web.Response()

    def wait_for(self, count: int, timeout: float = 3.0) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.got) >= count, f"{len(self.got)} of {count} notifications arrived"
        return self.got


def test_watch_channels_notify_until_stopped(api: httpx.Client, fake: GoogleFake) -> None:
    with Receiver() as hook:
        body = {"id": "chan-1", "type": "web_hook", "address": hook.url, "token": "secret-1",
                "params": {"ttl": "3600"}}  # fmt: skip
        started = time.time()
        channel = api.post(f"{EVENTS}/watch", json=body).json()
        assert channel["kind"] == "api#channel" and channel["id"] == "chan-1"
        assert channel["token"] == "secret-1" and channel["resourceId"]
        assert channel["resourceUri"].startswith(fake.api_url + "calendars/")
        assert abs(int(channel["expiration"]) / 1000 - (started + 3600)) < 5
        sync = hook.wait_for(1)[0]
        assert (sync["X-Goog-Resource-State"], sync["X-Goog-Message-Number"]) == ("sync", "1")
        assert sync["X-Goog-Channel-ID"] == "chan-1"
        assert sync["X-Goog-Channel-Token"] == "secret-1"
        assert sync["X-Goog-Resource-ID"] == channel["resourceId"]
        assert sync["X-Goog-Channel-Expiration"].endswith(" GMT")
        fake.insert(CID, timed("A", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
        exists = hook.wait_for(2)[1]
        assert exists["X-Goog-Resource-State"] == "exists"
        assert int(exists["X-Goog-Message-Number"]) > 1
        assert hook.bodies == [b"", b""]
        duplicate = api.post(f"{EVENTS}/watch", json=body)
        assert duplicate.status_code == 400
        assert [c.id for c in fake.channels] == ["chan-1"]
        stop = {"id": "chan-1", "resourceId": channel["resourceId"]}
        assert api.post("channels/stop", json=stop).status_code == 204
        assert api.post("channels/stop", json=stop).status_code == 404
        fake.insert(CID, timed("B", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
        time.sleep(0.2)
        assert len(hook.got) == 2 and fake.notifications_sent == 2 and not fake.channels
        short = {**body, "id": "chan-short", "params": {"ttl": "60"}}
        assert api.post(f"{EVENTS}/watch", json=short).status_code == 200
        hook.wait_for(3)
        fake.advance_time(61)
        assert not fake.channels, "the channel expired"
        fake.insert(CID, timed("C", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
        time.sleep(0.2)
        assert len(hook.got) == 3, "an expired channel is not notified"
    assert ("POST", f"/calendar/v3/{EVENTS}/watch", {}) in fake.requests


def test_notification_switches(api: httpx.Client, fake: GoogleFake) -> None:
    fake.duplicate_notifications = True
    fake.late_notification_after_stop = True
    with Receiver() as hook:
        body = {"id": "chan-2", "type": "web_hook", "address": hook.url}
        channel = api.post(f"{EVENTS}/watch", json=body).json()
        assert "X-Goog-Channel-Token" not in hook.wait_for(2)[0]
        api.post("channels/stop", json={"id": "chan-2", "resourceId": channel["resourceId"]})
        states = [h["X-Goog-Resource-State"] for h in hook.wait_for(4)]
        assert states == ["sync", "sync", "exists", "exists"]
    fake.drop_notifications = True
    api.post(f"{EVENTS}/watch", json={**body, "id": "chan-3", "address": "http://127.0.0.1:9/"})
    assert fake.notifications_dropped == 1, "the sync message was never sent"


# -- batch and speed --------------------------------------------------------------------------


def test_batch_requests(fake: GoogleFake) -> None:
    made = fake.insert(CID, timed("A", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
    parts = [
        f"GET /calendar/v3/{EVENTS}/{made['id']}",
        f"PATCH /calendar/v3/{EVENTS}/{made['id']}\r\nContent-Type: application/json\r\n\r\n"
        '{"summary": "B"}',
        f"GET /calendar/v3/{EVENTS}/nosuchevent1",
    ]
    body = (
        "".join(
            f"--xyz\r\nContent-Type: application/http\r\nContent-ID: <item{n}>\r\n\r\n{p}\r\n"
            for n, p in enumerate(parts)
        )
        + "--xyz--\r\n"
    )
    answer = httpx.post(fake.batch_url, content=body.encode(), headers={
        "Content-Type": "multipart/mixed; boundary=xyz",
        "Authorization": f"Bearer {fake.user_token}",
    })  # fmt: skip
    assert answer.status_code == 200
    text = answer.text
    assert text.count("HTTP/1.1 200") == 2 and "HTTP/1.1 404" in text
    assert "Content-ID: <response-item1>" in text
    assert fake.get(CID, made["id"])["summary"] == "B"


def test_listing_ten_thousand_events_is_quick(fake: GoogleFake) -> None:
    fake.add_calendar("big", "Big")
    body = timed("E", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z")
    for _ in range(10_000):
        fake.store.insert("big", body)
    params: dict[str, list[str]] = {"maxResults": ["250"]}
    started, pages, seen = time.perf_counter(), 0, 0
    while True:
        page = fake.store.list_events("big", params)
        pages, seen = pages + 1, seen + len(page["items"])
        if "nextPageToken" not in page:
            break
        params["pageToken"] = [page["nextPageToken"]]
    per_page = (time.perf_counter() - started) / pages
    assert seen == 10_000 and pages == 40
    assert per_page < 0.005, f"{per_page * 1000:.2f} ms per page"


def test_the_calendar_list_pages_and_read_only_calendars_refuse_writes(
    api: httpx.Client, fake: GoogleFake
) -> None:
    holidays = "en.german#holiday@group.v.calendar.google.com"
    fake.add_calendar(holidays, "Holidays", access_role="reader")
    first = api.get("users/me/calendarList", params={"maxResults": 2}).json()
    assert [e["id"] for e in first["items"]] == [fake.user_email, CID]
    assert first["items"][0]["primary"] is True and "nextSyncToken" not in first
    rest = api.get(
        "users/me/calendarList", params={"maxResults": 2, "pageToken": first["nextPageToken"]}
    ).json()
    assert [(e["id"], e["accessRole"]) for e in rest["items"]] == [(holidays, "reader")]
    assert "nextPageToken" not in rest and rest["nextSyncToken"]
    events = f"calendars/{holidays.replace('#', '%23')}/events"
    refused = api.post(events, json=timed("Mine", "2026-03-02T09:00:00+01:00",
                                          "2026-03-02T10:00:00+01:00"))  # fmt: skip
    assert refused.status_code == 403
    assert refused.json()["error"]["errors"][0]["reason"] == "requiredAccessLevel"
    assert api.get(events).status_code == 200, "reading stays allowed"
    fake.rename_calendar(CID, "Team (renamed)")
    fake.remove_calendar(holidays)
    names = [e["summary"] for e in api.get("users/me/calendarList").json()["items"]]
    assert names == [fake.user_email, "Team (renamed)"]
    assert api.get(events).status_code == 404
