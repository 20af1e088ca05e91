"""The Microsoft Graph fake, driven over real HTTPS as the Outlook bridge would drive Graph:
msal against its identity provider, httpx against Graph."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msal  # type: ignore[import-untyped]
import pytest
from aiohttp import web

from tests.fakes.graph import GraphFake, running_graph_fake
from tests.fakes.hooks import Handler, HookServer

CLIENT_ID = "0f4d1a6e-1c1b-4a44-9d4e-kalends-test"
BERLIN = "W. Europe Standard Time"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")
WINDOW = {"startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2025-03-01T00:00:00Z"}
STRIPPED = {"@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end"}


@pytest.fixture
def fake() -> Iterator[GraphFake]:
    with running_graph_fake() as made:
        yield made


@pytest.fixture
def graph(fake: GraphFake) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {fake.user_token}"}
    with httpx.Client(
        base_url=fake.graph_url, headers=headers, verify=fake.ssl_context, timeout=10
    ) as client:
        yield client


@pytest.fixture
def sign_in(fake: GraphFake, monkeypatch: pytest.MonkeyPatch) -> msal.PublicClientApplication:
    """An msal app on the fake's authority (requests lets these variables beat ``verify=``)."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return app_for(fake, msal.SerializableTokenCache())


def app_for(fake: GraphFake, cache: msal.SerializableTokenCache) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        CLIENT_ID,
        authority=fake.authority,
        instance_discovery=False,
        verify=fake.ca_path,
        token_cache=cache,
    )


def timed(subject: str, start: str, end: str, zone: str = BERLIN, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        **extra,
    }


def weekly(count: int = 4, **extra: Any) -> dict[str, Any]:
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "startDate": "2025-01-13", "numberOfOccurrences": count},
    }
    return timed(
        "Standup", "2025-01-13T09:00:00", "2025-01-13T09:15:00", recurrence=recurrence, **extra
    )


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "innerError"}
    assert response.headers["request-id"] == error["innerError"]["request-id"]
    return error


def delta_round(
    graph: httpx.Client, url: str, params: dict[str, str] | None = None, page_size: int = 10
) -> tuple[list[list[dict[str, Any]]], str]:
    """The pages of one delta round and its delta link."""
    pages: list[list[dict[str, Any]]] = []
    prefer = {"Prefer": f"odata.maxpagesize={page_size}"}
    answer = graph.get(url, params=params, headers=prefer)
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append(body["value"])
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return pages, body["@odata.deltaLink"]
        assert "$skiptoken=" in body["@odata.nextLink"]
        answer = graph.get(body["@odata.nextLink"], headers=prefer)


# -- identity provider -------------------------------------------------------------------------


def test_msal_signs_in_with_the_device_flow_and_its_cache_holds(
    fake: GraphFake, sign_in: msal.PublicClientApplication
) -> None:
    fake.auto_approve = True
    flow = sign_in.initiate_device_flow(scopes=["Calendars.ReadWrite"])
    assert flow["verification_uri"] == fake.base_url + "/devicelogin" and flow["user_code"]
    assert flow["user_code"] in flow["message"] and flow["interval"] == 1
    result = sign_in.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["aud"] == CLIENT_ID and claims["tid"] == fake.tenant_id
    assert claims["iss"] == f"{fake.base_url}/{fake.tenant_id}/v2.0"
    assert claims["oid"] == fake.user_id and claims["preferred_username"] == fake.user_address
    assert "Calendars.ReadWrite" in result["scope"].split() and result["token_type"] == "Bearer"
    account = sign_in.get_accounts()[0]
    assert account["home_account_id"] == f"{fake.user_id}.{fake.tenant_id}"
    assert account["username"] == fake.user_address
    silent = sign_in.acquire_token_silent(["Calendars.ReadWrite"], account=account)
    assert silent is not None and silent["access_token"] == result["access_token"]
    # a new process: the serialized cache signs in without the user
    cache = msal.SerializableTokenCache()
    cache.deserialize(sign_in.token_cache.serialize())
    again = app_for(fake, cache)
    restored = again.acquire_token_silent(["Calendars.ReadWrite"], account=again.get_accounts()[0])
    assert restored is not None and restored["access_token"] == result["access_token"]
    headers = {"Authorization": f"Bearer {restored['access_token']}"}
    calendars = httpx.get(
        fake.graph_url + "/me/calendars", headers=headers, verify=fake.ssl_context
    )
    assert calendars.status_code == 200
    assert [c["isDefaultCalendar"] for c in calendars.json()["value"]] == [True]
    discovery = httpx.get(
        fake.authority + "/v2.0/.well-known/openid-configuration", verify=fake.ssl_context
    ).json()
    assert discovery["issuer"] == fake.base_url + "/{tenantid}/v2.0", "as Entra ID for common"
    assert discovery["device_authorization_endpoint"].startswith(fake.authority)


def test_expired_access_tokens_are_refreshed_and_invalid_grant_is_reported(
    fake: GraphFake, sign_in: msal.PublicClientApplication
) -> None:
    fake.auto_approve = True
    first = sign_in.acquire_token_by_device_flow(
        sign_in.initiate_device_flow(scopes=["Calendars.ReadWrite"])
    )
    old = {"Authorization": f"Bearer {first['access_token']}"}
    fake.expire_access_tokens()
    refused = httpx.get(fake.graph_url + "/me/calendars", headers=old, verify=fake.ssl_context)
    assert refused.status_code == 401 and error_of(refused)["code"] == "InvalidAuthenticationToken"
    account = sign_in.get_accounts()[0]
    fresh = sign_in.acquire_token_silent(
        ["Calendars.ReadWrite"], account=account, force_refresh=True
    )
    assert fresh is not None and fresh["access_token"] != first["access_token"]
    assert fresh["refresh_token"] != first["refresh_token"], "refresh tokens rotate"
    new = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert httpx.get(fake.graph_url + "/me", headers=new, verify=fake.ssl_context).json()["id"] == (
        fake.user_id
    )
    fake.invalid_grant = True
    failed = sign_in.acquire_token_silent_with_error(
        ["Calendars.ReadWrite"], account=account, force_refresh=True
    )
    assert failed is not None and failed["error"] == "invalid_grant"
    assert failed["error_codes"] == [70000] and failed["error_description"].startswith(
        "AADSTS70000"
    )


def test_the_device_flow_waits_for_the_user_and_reports_denial_and_expiry(
    fake: GraphFake, sign_in: msal.PublicClientApplication
) -> None:
    flow = sign_in.initiate_device_flow(scopes=["Calendars.ReadWrite"])
    threading.Timer(0.3, fake.approve_device_code, [flow["user_code"]]).start()
    assert "access_token" in sign_in.acquire_token_by_device_flow(flow)
    assert sum(1 for m, p, _ in fake.requests if p.endswith("/oauth2/v2.0/token")) >= 2
    denied = sign_in.initiate_device_flow(scopes=["Calendars.ReadWrite"])
    fake.deny_device_code(denied["user_code"])
    assert sign_in.acquire_token_by_device_flow(denied)["error"] == "authorization_declined"
    late = sign_in.initiate_device_flow(scopes=["Calendars.ReadWrite"])
    fake.expire_device_codes()
    assert sign_in.acquire_token_by_device_flow(late)["error"] == "expired_token"
    fake.slow_down = True
    slow = sign_in.initiate_device_flow(scopes=["Calendars.ReadWrite"])
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": CLIENT_ID,
        "device_code": slow["device_code"],
    }
    answer = httpx.post(fake.token_url, data=form, verify=fake.ssl_context)
    assert answer.status_code == 400 and answer.json()["error"] == "slow_down"
    fake.slow_down = False
    assert httpx.post(fake.token_url, data=form, verify=fake.ssl_context).json()["error"] == (
        "authorization_pending"
    )


# -- events, change keys, ids -----------------------------------------------------------------


def test_events_are_stored_whole_with_rotating_change_keys(graph: httpx.Client) -> None:
    extra: dict[str, Any] = {
        "categories": ["Blue"],
        "showAs": "tentative",
        "sensitivity": "private",
        "location": {"displayName": "Room 1"},
        "isReminderOn": False,
        "body": {"contentType": "text", "content": "Agenda\nItems"},
        "attendees": [
            {"emailAddress": {"address": "bob@example.com", "name": "Bob"}, "type": "optional"}
        ],
    }
    made = graph.post(
        "/me/events", json=timed("Kickoff", "2025-01-14T10:00:00", "2025-01-14T11:00:00", **extra)
    )
    assert made.status_code == 201, made.text
    event = made.json()
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"' and event["id"].startswith("AAMk")
    assert event["type"] == "singleInstance" and event["seriesMasterId"] is None
    assert STAMP.match(event["createdDateTime"]) and STAMP.match(event["lastModifiedDateTime"])
    assert event["start"] == {"dateTime": "2025-01-14T09:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == BERLIN and event["iCalUId"].startswith("04000000")
    assert event["categories"] == ["Blue"] and event["showAs"] == "tentative"
    assert event["location"]["displayName"] == "Room 1" and event["bodyPreview"] == "Agenda Items"
    assert event["body"]["contentType"] == "html", "Outlook hands bodies back as HTML"
    text = graph.get(
        f"/me/events/{event['id']}", headers={"Prefer": 'outlook.body-content-type="text"'}
    ).json()
    assert text["body"] == {"contentType": "text", "content": "Agenda\nItems"}
    assert event["attendees"][0]["status"] == {"response": "none", "time": "0001-01-01T00:00:00Z"}
    url = f"/me/events/{event['id']}"
    stale = graph.patch(url, json={"subject": "B"}, headers={"If-Match": 'W/"AAAAAAAA"'})
    assert stale.status_code == 412 and error_of(stale)["code"] == "ErrorIrresolvableConflict"
    assert error_of(stale)["message"] == (
        "The change key passed in the request does not match the current change key for the item."
    )
    patched = graph.patch(url, json={"subject": "B"}, headers={"If-Match": event["@odata.etag"]})
    assert patched.status_code == 200 and patched.json()["subject"] == "B"
    assert patched.json()["changeKey"] != event["changeKey"]
    assert patched.json()["categories"] == ["Blue"], "PATCH keeps what it does not name"
    assert graph.delete(url, headers={"If-Match": event["@odata.etag"]}).status_code == 412
    assert graph.delete(url, headers={"If-Match": patched.json()["@odata.etag"]}).status_code == 204
    gone = graph.get(url)
    assert gone.status_code == 404 and error_of(gone)["code"] == "ErrorItemNotFound"
    assert graph.get(url.lower()).status_code in (400, 404), "ids are case-sensitive"
    assert error_of(graph.get("/me/events/not-an-id"))["code"] == "ErrorInvalidIdMalformed"
    unknown = graph.post(
        "/me/events",
        json={**timed("x", "2025-01-14T10:00:00", "2025-01-14T11:00:00"), "colour": "red"},
    )
    assert unknown.status_code == 400 and error_of(unknown)["code"] == "RequestBodyRead"
    wrong = graph.post(
        "/me/events", json=timed("x", "2025-01-14T10:00:00", "2025-01-14T11:00:00", showAs="away")
    )
    assert wrong.status_code == 400 and "freeBusyStatus" in error_of(wrong)["message"]
    backwards = graph.post(
        "/me/events", json=timed("x", "2025-01-14T10:00:00", "2025-01-14T09:00:00")
    )
    assert error_of(backwards)["code"] == "ErrorPropertyValidationFailure"


def test_transaction_ids_make_creation_idempotent_and_ical_uids_are_found(
    graph: httpx.Client, fake: GraphFake
) -> None:
    prop = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name KalendsId"
    body = timed(
        "Once",
        "2025-01-15T10:00:00",
        "2025-01-15T11:00:00",
        transactionId="tx-1",
        iCalUId="client-chosen@kalends",
        singleValueExtendedProperties=[{"id": prop, "value": "hub-42"}],
    )
    first, second = graph.post("/me/events", json=body), graph.post("/me/events", json=body)
    assert first.status_code == second.status_code == 201
    event = first.json()
    assert second.json()["id"] == event["id"] and event["transactionId"] == "tx-1"
    assert len(fake.events(fake.default_calendar_id)) == 1, "the retried POST made no duplicate"
    assert event["iCalUId"] != "client-chosen@kalends", "Graph makes the iCalUId itself"
    assert "singleValueExtendedProperties" not in event
    found = graph.get("/me/events", params={"$filter": f"iCalUId eq '{event['iCalUId']}'"})
    assert [e["id"] for e in found.json()["value"]] == [event["id"]]
    expand = f"singleValueExtendedProperties($filter=id eq '{prop}')"
    read = graph.get(f"/me/events/{event['id']}", params={"$expand": expand}).json()
    assert read["singleValueExtendedProperties"] == [{"id": prop, "value": "hub-42"}]
    by_prop = f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and ep/value eq 'hub-42')"
    listed = graph.get("/me/events", params={"$filter": by_prop, "$select": "subject"}).json()
    assert listed["value"] == [
        {"@odata.etag": event["@odata.etag"], "id": event["id"], "subject": "Once"}
    ]
    refused = graph.get("/me/events", params={"$filter": "startswith(subject,'O')"})
    assert refused.status_code == 400


def test_immutable_ids_survive_a_move_rest_ids_do_not(graph: httpx.Client, fake: GraphFake) -> None:
    other = fake.add_calendar("Work")
    made = fake.create(
        fake.default_calendar_id, timed("Move me", "2025-01-16T10:00:00", "2025-01-16T11:00:00")
    )
    immutable = graph.get(f"/me/events/{made['id']}", headers={"Prefer": 'IdType="ImmutableId"'})
    assert immutable.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    stable = immutable.json()["id"]
    assert stable != made["id"] and stable.startswith("AAkALg")
    moved = fake.move(made["id"], other)
    assert moved["id"] != made["id"] and graph.get(f"/me/events/{made['id']}").status_code == 404
    assert graph.get(f"/me/calendars/{other}/events/{moved['id']}").json()["subject"] == "Move me"
    assert graph.get(f"/me/events/{stable}").json()["subject"] == "Move me"
    assert (
        graph.get(f"/me/calendars/{fake.default_calendar_id}/events/{moved['id']}").status_code
        == 404
    )
    assert graph.get(f"/users/{fake.user_address}/calendars").status_code == 200
    assert error_of(graph.get("/users/someone@else.example/calendars"))["code"] == (
        "ErrorInvalidUser"
    )
    assert (
        error_of(graph.get("/me/tasks"))["message"] == "Resource not found for the segment 'tasks'."
    )


# -- delta -------------------------------------------------------------------------------------


def test_delta_rounds_page_and_report_what_changed(graph: httpx.Client, fake: GraphFake) -> None:
    cid = fake.default_calendar_id
    url = f"/me/calendars/{cid}/calendarView/delta"
    made = [
        fake.create(
            cid, timed(f"E{i}", f"2025-01-{10 + i}T10:00:00", f"2025-01-{10 + i}T11:00:00")
        )["id"]
        for i in range(12)
    ]
    later = fake.create(cid, timed("Later", "2025-06-01T10:00:00", "2025-06-01T11:00:00"))
    pages, link = delta_round(graph, url, WINDOW, page_size=5)
    assert [len(page) for page in pages] == [5, 5, 2]
    ids = [e["id"] for page in pages for e in page]
    assert sorted(ids) == sorted(made) and later["id"] not in ids
    assert all(
        e["@odata.type"] == "#microsoft.graph.event" and "subject" in e
        for page in pages
        for e in page
    )
    assert link.startswith(f"{fake.graph_url}{url}?$deltatoken=")
    quiet, link = delta_round(graph, link)
    assert quiet == [[]]
    fake.update(made[0], {"subject": "Renamed"})
    fake.delete(made[1])
    fake.update(
        made[2],
        {
            "start": {"dateTime": "2025-05-01T10:00:00", "timeZone": BERLIN},
            "end": {"dateTime": "2025-05-01T11:00:00", "timeZone": BERLIN},
        },
    )
    far = fake.create(cid, timed("Far", "2025-07-01T10:00:00", "2025-07-01T11:00:00"))
    new = fake.create(cid, timed("New", "2025-02-01T10:00:00", "2025-02-01T11:00:00"))
    pages, link = delta_round(graph, link)
    items = {e["id"]: e for page in pages for e in page}
    assert set(items) == {made[0], made[1], made[2], new["id"]} and far["id"] not in items
    assert items[made[0]]["subject"] == "Renamed" and items[new["id"]]["subject"] == "New"
    gone = {
        "@odata.type": "#microsoft.graph.event",
        "id": made[1],
        "@removed": {"reason": "deleted"},
    }
    assert items[made[1]] == gone
    assert items[made[2]]["@removed"] == {"reason": "deleted"}, "it left the window"
    fake.removed_noise = True
    noise = fake.create(cid, timed("Elsewhere", "2025-08-01T10:00:00", "2025-08-01T11:00:00"))
    pages, _ = delta_round(graph, link)
    assert [e for page in pages for e in page] == [{**gone, "id": noise["id"]}]


def test_delta_refuses_query_options_and_resets_its_tokens(
    graph: httpx.Client, fake: GraphFake
) -> None:
    url = "/me/calendarView/delta"
    selected = graph.get(url, params={**WINDOW, "$select": "subject"})
    assert selected.status_code == 400 and error_of(selected)["code"] == "ErrorInvalidUrlQuery"
    assert "$select" in error_of(selected)["message"]
    assert error_of(graph.get(url))["code"] == "ErrorInvalidParameter", "the window is required"
    fake.create(
        fake.default_calendar_id, timed("One", "2025-01-20T10:00:00", "2025-01-20T11:00:00")
    )
    _, link = delta_round(graph, url, WINDOW)
    fake.expire_delta_tokens()
    gone = graph.get(link)
    assert gone.status_code == 410 and error_of(gone)["code"] == "SyncStateNotFound"
    location = gone.headers["Location"]
    assert location.startswith(fake.graph_url + url + "?")
    assert parse_qs(urlsplit(location).query) == {k: [v] for k, v in WINDOW.items()}
    pages, link = delta_round(graph, location)
    assert [e["subject"] for page in pages for e in page] == ["One"]
    fake.expire_delta_tokens(mode="not_found")
    lost = graph.get(link)
    assert lost.status_code == 400 and error_of(lost)["code"] == "SyncStateNotFound"
    assert "Location" not in lost.headers
    assert graph.get(url, params={"$deltatoken": "not-a-token"}).status_code == 400


def test_delta_strips_occurrences_and_keeps_quiet_about_deleted_ones(
    graph: httpx.Client, fake: GraphFake
) -> None:
    cid = fake.default_calendar_id
    url = f"/me/calendars/{cid}/calendarView/delta"
    master = fake.create(cid, weekly(4))
    pages, link = delta_round(graph, url, WINDOW, page_size=2)
    assert len(pages) == 1, "a series is not split across pages"
    items = pages[0]
    assert [e["type"] for e in items] == ["seriesMaster"] + ["occurrence"] * 4
    assert (
        items[0]["subject"] == "Standup" and items[0]["recurrence"]["range"]["type"] == "numbered"
    )
    for item in items[1:]:
        assert set(item) == STRIPPED and item["seriesMasterId"] == master["id"]
    first, second = items[1]["id"], items[2]["id"]
    read = graph.get(f"/me/events/{first}").json()
    assert read["subject"] == "Standup" and read["originalStart"] == "2025-01-13T08:00:00Z"
    moved = {
        "subject": "Late standup",
        "start": {"dateTime": "2025-01-13T11:00:00", "timeZone": BERLIN},
        "end": {"dateTime": "2025-01-13T11:15:00", "timeZone": BERLIN},
    }
    assert graph.patch(f"/me/events/{first}", json=moved).json()["type"] == "exception"
    assert graph.delete(f"/me/events/{second}").status_code == 204
    pages, _ = delta_round(graph, link)
    again = [e for page in pages for e in page]
    assert all("@removed" not in e for e in again), "a deleted occurrence leaves no trace"
    assert [e["type"] for e in again] == ["seriesMaster", "exception", "occurrence", "occurrence"]
    assert (
        again[1]["id"] == first and again[1]["start"]["dateTime"] == "2025-01-13T10:00:00.0000000"
    )
    assert second not in {e["id"] for e in again}


def test_delta_empty_pages_and_replays(graph: httpx.Client, fake: GraphFake) -> None:
    cid = fake.default_calendar_id
    made = {
        fake.create(cid, timed(f"E{i}", "2025-01-20T10:00:00", "2025-01-20T11:00:00"))["id"]
        for i in range(6)
    }
    fake.empty_pages = fake.replays = True
    pages, _ = delta_round(graph, "/me/calendarView/delta", WINDOW, page_size=2)
    assert pages[0] == [], "a round may start with an empty page"
    ids = [e["id"] for page in pages for e in page]
    assert set(ids) == made and len(ids) > len(made), "entities come more than once"
    fake.faults.clear()
    pages, _ = delta_round(graph, "/me/calendarView/delta", WINDOW, page_size=2)
    assert [len(page) for page in pages] == [2, 2, 2]


# -- series, all-day, time zones -----------------------------------------------------------------


def test_series_expand_with_exceptions_and_deleted_occurrences(
    graph: httpx.Client, fake: GraphFake
) -> None:
    master = graph.post("/me/events", json=weekly(4)).json()
    assert master["type"] == "seriesMaster" and master["recurrence"] == {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": ["monday"],
            "firstDayOfWeek": "sunday",
            "index": "first",
        },
        "range": {
            "type": "numbered",
            "startDate": "2025-01-13",
            "endDate": "0001-01-01",
            "recurrenceTimeZone": BERLIN,
            "numberOfOccurrences": 4,
        },
    }
    url = f"/me/events/{master['id']}/instances"
    assert error_of(graph.get(url))["code"] == "ErrorInvalidParameter"
    occurrences = graph.get(url, params=WINDOW).json()["value"]
    assert [o["start"]["dateTime"][:16] for o in occurrences] == [
        "2025-01-13T08:00",
        "2025-01-20T08:00",
        "2025-01-27T08:00",
        "2025-02-03T08:00",
    ]
    assert {(o["type"], o["seriesMasterId"], o["iCalUId"]) for o in occurrences} == {
        ("occurrence", master["id"], master["iCalUId"])
    }
    special = graph.patch(f"/me/events/{occurrences[1]['id']}", json={"subject": "Special"}).json()
    assert special["type"] == "exception" and special["id"] == occurrences[1]["id"]
    assert special["originalStart"] == "2025-01-20T08:00:00Z"
    assert graph.delete(f"/me/events/{occurrences[2]['id']}").status_code == 204
    assert graph.get(f"/me/events/{occurrences[2]['id']}").status_code == 404
    graph.patch(f"/me/events/{master['id']}", json={"subject": "Weekly"})
    after = graph.get(url, params=WINDOW).json()["value"]
    assert [(o["type"], o["subject"]) for o in after] == [
        ("occurrence", "Weekly"),
        ("exception", "Special"),
        ("occurrence", "Weekly"),
    ]
    graph.post("/me/events", json=timed("Single", "2025-01-14T10:00:00", "2025-01-14T11:00:00"))
    view = graph.get("/me/calendarView", params={**WINDOW, "$top": "50"}).json()["value"]
    assert [v["type"] for v in view] == ["occurrence", "singleInstance", "exception", "occurrence"]
    listed = graph.get("/me/events").json()["value"]
    assert sorted(e["type"] for e in listed) == ["seriesMaster", "singleInstance"]
    paged = graph.get("/me/calendarView", params={**WINDOW, "$top": "3"}).json()
    assert len(paged["value"]) == 3 and "$skip=3" in paged["@odata.nextLink"]
    assert len(graph.get(paged["@odata.nextLink"]).json()["value"]) == 1


def test_recurrence_patterns_are_checked_and_expanded(graph: httpx.Client, fake: GraphFake) -> None:
    def make(pattern: dict[str, Any]) -> httpx.Response:
        bounds = {"type": "endDate", "startDate": "2025-01-31", "endDate": "2025-05-31"}
        return graph.post(
            "/me/events",
            json=timed(
                "R",
                "2025-01-31T09:00:00",
                "2025-01-31T10:00:00",
                recurrence={"pattern": pattern, "range": bounds},
            ),
        )

    def days(event: httpx.Response) -> list[str]:
        found = fake.instances(event.json()["id"], "2025-01-01T00:00:00Z", "2025-07-01T00:00:00Z")
        return [o["start"]["dateTime"][:10] for o in found]

    monthly = make({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31})
    assert days(monthly) == ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"]
    last_friday = make(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"}
    )
    assert days(last_friday) == [
        "2025-01-31",
        "2025-02-28",
        "2025-03-28",
        "2025-04-25",
        "2025-05-30",
    ]
    every_other = make({"type": "daily", "interval": 30})
    assert days(every_other) == [
        "2025-01-31",
        "2025-03-02",
        "2025-04-01",
        "2025-05-01",
        "2025-05-31",
    ]
    assert error_of(make({"type": "daily", "interval": 1, "daysOfWeek": ["monday"]}))["code"] == (
        "ErrorPropertyValidationFailure"
    ), "a property the pattern type does not use"
    unknown = make({"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "byDay": "MO"})
    assert error_of(unknown)["code"] == "RequestBodyRead"
    assert make({"type": "hourly", "interval": 1}).status_code == 400
    assert make({"type": "weekly", "interval": 1}).status_code == 400, "daysOfWeek is required"
    rrule = graph.post(
        "/me/events",
        json=timed(
            "x", "2025-01-31T09:00:00", "2025-01-31T10:00:00", recurrence=["RRULE:FREQ=DAILY"]
        ),
    )
    assert rrule.status_code == 400


def test_all_day_rules_and_time_zones(graph: httpx.Client, fake: GraphFake) -> None:
    pacific = "Pacific Standard Time"
    holiday = {
        "subject": "Holiday",
        "isAllDay": True,
        "start": {"dateTime": "2025-03-10T00:00:00", "timeZone": pacific},
        "end": {"dateTime": "2025-03-11T00:00:00", "timeZone": pacific},
    }
    tokyo = {"Prefer": 'outlook.timezone="Tokyo Standard Time"'}
    made = graph.post("/me/events", json=holiday, headers=tokyo).json()
    assert made["start"] == {"dateTime": "2025-03-10T00:00:00.0000000", "timeZone": "UTC"}
    assert made["end"] == {"dateTime": "2025-03-11T00:00:00.0000000", "timeZone": "UTC"}
    assert made["originalStartTimeZone"] == pacific and made["isAllDay"] is True
    noon = {**holiday, "start": {"dateTime": "2025-03-10T12:00:00", "timeZone": pacific}}
    assert error_of(graph.post("/me/events", json=noon))["code"] == "ErrorPropertyValidationFailure"
    next_day = {"startDateTime": "2025-03-11T00:00:00", "endDateTime": "2025-03-11T23:59:00"}
    assert [
        e["subject"] for e in graph.get("/me/calendarView", params=next_day).json()["value"]
    ] == ["Holiday"], "all-day events are placed by their own zone, not the window's"
    call = graph.post(
        "/me/events",
        json=timed("Call", "2025-01-20T18:00:00", "2025-01-20T19:00:00", zone="Asia/Tokyo"),
    ).json()
    assert call["originalStartTimeZone"] == "Tokyo Standard Time"
    assert call["start"] == {"dateTime": "2025-01-20T09:00:00.0000000", "timeZone": "UTC"}
    url = f"/me/events/{call['id']}"
    in_pacific = graph.get(url, headers={"Prefer": f'outlook.timezone="{pacific}"'})
    assert in_pacific.json()["start"] == {
        "dateTime": "2025-01-20T01:00:00.0000000",
        "timeZone": pacific,
    }
    assert in_pacific.headers["Preference-Applied"] == f'outlook.timezone="{pacific}"'
    in_new_york = graph.get(url, headers={"Prefer": 'outlook.timezone="America/New_York"'}).json()
    assert in_new_york["end"] == {
        "dateTime": "2025-01-20T05:00:00.0000000",
        "timeZone": "America/New_York",
    }
    boise = graph.post(
        "/me/events",
        json=timed("B", "2025-01-20T10:00:00", "2025-01-20T11:00:00", zone="America/Boise"),
    ).json()
    assert boise["originalStartTimeZone"] == "tzone://Microsoft/Custom"
    legacy = fake.create(
        fake.default_calendar_id,
        timed("L", "2025-01-21T10:00:00", "2025-01-21T11:00:00"),
        custom_zone=True,
    )
    assert legacy["originalEndTimeZone"] == "tzone://Microsoft/Custom"
    fake.custom_time_zones = True
    assert graph.get(url).json()["originalStartTimeZone"] == "tzone://Microsoft/Custom"
    mars = graph.post(
        "/me/events",
        json=timed("M", "2025-01-20T10:00:00", "2025-01-20T11:00:00", zone="Mars/Olympus"),
    )
    assert error_of(mars)["code"] == "TimeZoneNotSupportedException"


# -- throttling and outages --------------------------------------------------------------------


def test_throttling_answers_429_with_and_without_retry_after(
    graph: httpx.Client, fake: GraphFake
) -> None:
    fake.fail_next(429, retry_after=3, method="GET")
    throttled = graph.get("/me/calendars")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert error_of(throttled)["code"] == "TooManyRequests"
    fake.fail_next(429, path_contains="/calendars")
    bare = graph.get("/me/calendars")
    assert bare.status_code == 429 and "Retry-After" not in bare.headers
    assert graph.get("/me/calendars").status_code == 200

    def burst(size: int) -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {fake.user_token}"}

        def one(_: int) -> httpx.Response:
            return httpx.get(
                fake.graph_url + "/me/calendars",
                headers=headers,
                verify=fake.ssl_context,
                timeout=10,
            )

        with ThreadPoolExecutor(size) as pool:
            return list(pool.map(one, range(size)))

    fake.response_delay = 0.5
    answers = burst(6)
    assert sorted(a.status_code for a in answers) == [200] * 4 + [429] * 2, "4 in flight at most"
    refused = [a for a in answers if a.status_code == 429]
    assert {error_of(a)["code"] for a in refused} == {"ApplicationThrottled"}
    assert "MailboxConcurrency" in error_of(refused[0])["message"]
    assert all(a.headers["Retry-After"] == "1" for a in refused)
    fake.omit_retry_after = True
    assert all("Retry-After" not in a.headers for a in burst(5) if a.status_code == 429)
    fake.faults.clear()
    fake.lose_next_reply(method="POST")
    lost = graph.post(
        "/me/events", json=timed("Lost", "2025-01-20T10:00:00", "2025-01-20T11:00:00")
    )
    assert lost.status_code == 504
    assert [e["subject"] for e in fake.events(fake.default_calendar_id)] == ["Lost"], "applied"
    fake.fail_next(503, count=2)
    assert [graph.get("/me").status_code for _ in range(3)] == [503, 503, 200]


# -- subscriptions -----------------------------------------------------------------------------


class Receiver(HookServer):
    """A webhook endpoint on 127.0.0.1 (plain http) that echoes validation tokens and records
    what Graph POSTs; ``statuses`` are the answers to the next notifications (then 202)."""

    def __init__(self, validation_status: int = 200) -> None:
        super().__init__()
        self.validation_status = validation_status
        self.validations: list[str] = []
        self.notes: list[dict[str, Any]] = []
        self.lifecycle: list[dict[str, Any]] = []
        self.statuses: deque[int] = deque()

    def routes(self) -> dict[str, Handler]:
        return {"/hook": self._hook, "/hook/lifecycle": self._hook}

    async def _hook(self, request: web.Request) -> web.Response:
        if "validationToken" in request.query:
            token = request.query["validationToken"]
            self.validations.append(token)
            return web.Response(text=token, status=self.validation_status)
        body = await request.json()
        (self.lifecycle if request.path.endswith("/lifecycle") else self.notes).append(body)
        return web.Response(status=self.statuses.popleft() if self.statuses else 202)


def eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert check()


def wait_for(found: list[Any], count: int, timeout: float = 3.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(found) >= count, f"{len(found)} of {count} arrived"
    return found


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def test_subscriptions_validate_notify_retry_and_end(graph: httpx.Client, fake: GraphFake) -> None:
    with Receiver() as hook:
        asked = {
            "changeType": "created,updated,deleted",
            "notificationUrl": hook.url,
            "lifecycleNotificationUrl": hook.url + "/lifecycle",
            "resource": "me/events",
            "expirationDateTime": in_days(2),
            "clientState": "s3cret",
        }
        made = graph.post("/subscriptions", json=asked)
        assert made.status_code == 201, made.text
        sub = made.json()
        assert (sub["resource"], sub["clientState"], sub["changeType"]) == (
            "me/events",
            "s3cret",
            "created,deleted,updated",
        )
        assert len(hook.validations) == 2, "the notification and lifecycle URLs were both checked"
        assert hook.validations[0].startswith("Validation: Testing client application")
        event = fake.create(
            fake.default_calendar_id, timed("Ping", "2025-01-20T10:00:00", "2025-01-20T11:00:00")
        )
        note = wait_for(hook.notes, 1)[0]["value"][0]
        assert note["subscriptionId"] == sub["id"] and note["clientState"] == "s3cret"
        assert note["changeType"] == "created" and note["tenantId"] == fake.tenant_id
        assert note["resource"].lower() == f"users/{fake.user_id}/events/{event['id']}".lower()
        assert note["resourceData"]["id"] == event["id"]
        assert note["resourceData"]["@odata.etag"] == event["@odata.etag"]
        hook.statuses.append(503)
        fake.update(event["id"], {"subject": "Pong"})
        wait_for(hook.notes, 3)
        eventually(lambda: fake.notifications_sent == 2)
        attempts = [d.attempt for d in fake.deliveries if d.kind == "notification"]
        assert attempts == [1, 1, 2], "a refused notification is sent again"
        too_far = graph.post("/subscriptions", json={**asked, "expirationDateTime": in_days(8)})
        assert error_of(too_far)["code"] == "ExtensionError"
        assert "10080 minutes" in error_of(too_far)["message"]
        renewed = graph.patch(
            f"/subscriptions/{sub['id']}", json={"expirationDateTime": in_days(3)}
        )
        assert renewed.status_code == 200
        assert renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
        assert [s["id"] for s in graph.get("/subscriptions").json()["value"]] == [sub["id"]]
        fake.lifecycle(sub["id"], "reauthorizationRequired")
        life = wait_for(hook.lifecycle, 1)[0]["value"][0]
        assert life["lifecycleEvent"] == "reauthorizationRequired" and life["clientState"] == (
            "s3cret"
        )
        fake.lifecycle(sub["id"], "subscriptionRemoved")
        wait_for(hook.lifecycle, 2)
        assert fake.subscriptions == []
        assert graph.get(f"/subscriptions/{sub['id']}").status_code == 404
    with Receiver(validation_status=500) as broken:
        refused = graph.post(
            "/subscriptions",
            json={**asked, "notificationUrl": broken.url, "lifecycleNotificationUrl": None},
        )
        assert refused.status_code == 400 and error_of(refused)["code"] == "InvalidRequest"
        assert error_of(refused)["message"].startswith("Subscription validation request failed")


def test_subscriptions_on_one_calendar_and_their_switches(
    graph: httpx.Client, fake: GraphFake
) -> None:
    team = fake.add_calendar("Team")
    with Receiver() as hook:
        asked = {
            "changeType": "updated,deleted",
            "notificationUrl": hook.url,
            "resource": f"/me/calendars/{team}/events",
            "expirationDateTime": in_days(1),
        }
        sub = graph.post("/subscriptions", json=asked).json()
        fake.create(
            fake.default_calendar_id, timed("Other", "2025-01-20T10:00:00", "2025-01-20T11:00:00")
        )
        event = fake.create(team, timed("Mine", "2025-01-20T10:00:00", "2025-01-20T11:00:00"))
        fake.notification_burst = 1
        fake.update(event["id"], {"subject": "Busy"})
        fake.faults.clear()
        fake.duplicate_notifications = True
        fake.delete(event["id"])
        notes = [n["value"][0] for n in wait_for(hook.notes, 4)]
        assert (
            sorted((n["changeType"], n["resourceData"]["id"]) for n in notes)
            == [("deleted", event["id"])] * 2 + [("updated", event["id"])] * 2
        ), "only that calendar, only the types asked for"
        assert all(
            "@odata.etag" not in n["resourceData"] for n in notes if n["changeType"] == ("deleted")
        )
        fake.faults.clear()
        quiet = fake.create(team, timed("Quiet", "2025-01-21T10:00:00", "2025-01-21T11:00:00"))
        fake.drop_notifications = True
        fake.update(quiet["id"], {"subject": "Dropped"})
        assert fake.notifications_dropped == 1 and len(hook.notes) == 4
        assert graph.delete(f"/subscriptions/{sub['id']}").status_code == 204
        assert fake.subscriptions == []


# -- batch and the control API -----------------------------------------------------------------


def test_batch_runs_members_in_dependency_order(graph: httpx.Client) -> None:
    event = timed("Batched", "2025-01-20T10:00:00", "2025-01-20T11:00:00")
    asked = {
        "requests": [
            {"id": "3", "method": "GET", "url": "/me/calendars", "dependsOn": ["2"]},
            {
                "id": "1",
                "method": "POST",
                "url": "/me/events",
                "body": event,
                "headers": {"Content-Type": "application/json"},
            },
            {"id": "2", "method": "GET", "url": "/me/events/AAMkADnothere", "dependsOn": ["1"]},
        ]
    }
    answers = {r["id"]: r for r in graph.post("/$batch", json=asked).json()["responses"]}
    assert answers["1"]["status"] == 201 and answers["1"]["body"]["subject"] == "Batched"
    assert answers["2"]["status"] == 404
    assert answers["3"]["status"] == 424, "its dependency failed"
    too_many = {"requests": [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]}
    assert graph.post("/$batch", json=too_many).status_code == 400


def test_the_control_api_acts_as_the_user(graph: httpx.Client, fake: GraphFake) -> None:
    team = fake.add_calendar("Team")
    calendars = graph.get("/me/calendars").json()["value"]
    assert [(c["name"], c["isDefaultCalendar"]) for c in calendars] == [
        ("Calendar", True),
        ("Team", False),
    ]
    master = fake.create(team, weekly(3))
    occurrences = fake.instances(master["id"], "2025-01-01T00:00:00Z", "2025-03-01T00:00:00Z")
    assert len(occurrences) == 3
    first = fake.update(occurrences[0]["id"], {"subject": "First"})
    assert first["type"] == "exception"
    assert [(e["type"], e["subject"]) for e in fake.events(team)] == [
        ("seriesMaster", "Standup"),
        ("exception", "First"),
    ]
    assert fake.get(master["id"])["changeKey"] != master["changeKey"], "the series changed"
    prop = {"id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Hub", "value": "7"}
    fake.update(master["id"], {"singleValueExtendedProperties": [prop]})
    assert fake.get(master["id"])["singleValueExtendedProperties"] == [prop]
    listed = graph.get(f"/me/calendars/{team}/events").json()["value"]
    assert [e["id"] for e in listed] == [master["id"]]
    fake.delete(master["id"])
    assert fake.events(team) == []
    assert ("GET", f"/v1.0/me/calendars/{team}/events", {}) in fake.requests
