"""Hostile iCalendar sent by PUT (catalogue section A, and C9), against one live server.

Each test names its catalogue row. A rejected object gets the status written in the test, a body
naming the reason, nothing internal, in time, and leaves the calendar exactly as it was.
The server runs on SQLite (PostgreSQL is covered by the storage suites).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import LiveServer
from tests.server.hostile import (
    BOMB,
    CALENDAR,
    MAX_BODY_BYTES,
    Client,
    event,
    hostile_server,
    refused,
    unchanged,
    vcalendar,
    vevent,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Iterator[LiveServer]:
    with hostile_server(tmp_path_factory.mktemp("hostile-ical"), password_hash) as running:
        yield running


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> Client:
    client = Client(server)
    assert client.put(CALENDAR + "existing.ics", event("existing")).status == 201
    return client


def rejected(
    alice: Client, href: str, body: str | bytes, status: int, reason: str, limit: float = 2.0
) -> None:
    with unchanged(alice):
        refused(alice.put(CALENDAR + href, body), status, reason, limit)
    assert alice.send("GET", CALENDAR + href).status == 404


# -- A1-A3: time spans ---------------------------------------------------------------------------


def test_a1_vevent_without_dtstart_is_400(alice: Client) -> None:
    body = event("a1", times="DTEND:20240105T110000Z\r\n")
    rejected(alice, "a1.ics", body, 400, "Bad Request: invalid calendar object: missing DTSTART")


@pytest.mark.parametrize(
    ("times", "reason"),
    [
        ("DTSTART:20240105T100000Z\r\nDTEND:20240105T090000Z\r\n", "VEVENT ends (2024-01-05 09"),
        ("DTSTART:20240105T100000Z\r\nDURATION:-PT1H\r\n", "VEVENT has a negative DURATION"),
    ],
    ids=["dtend-before-dtstart", "negative-duration"],
)
def test_a2_inverted_span_is_400(alice: Client, times: str, reason: str) -> None:
    rejected(alice, "a2.ics", event("a2", times=times), 400, reason)


def test_a3_dtend_and_duration_is_400(alice: Client) -> None:
    times = "DTSTART:20240105T100000Z\r\nDTEND:20240105T110000Z\r\nDURATION:PT1H\r\n"
    rejected(alice, "a3.ics", event("a3", times=times), 400, "VEVENT has both DTEND and DURATION")


# -- A4-A9: recurrence and list bombs ---------------------------------------------------------


def test_a4_unbounded_secondly_rule_is_400(alice: Client) -> None:
    body = event("a4", "RRULE:FREQ=SECONDLY\r\n")
    rejected(alice, "a4.ics", body, 400, "RRULE FREQ=SECONDLY is not supported", BOMB)


def test_a5_count_of_a_billion_is_400(alice: Client) -> None:
    body = event("a5", "RRULE:FREQ=DAILY;COUNT=1000000000\r\n")
    rejected(alice, "a5.ics", body, 400, "Too many recurrence rule entries", BOMB)


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=MONTHLY;BYDAY=0TH", "invalid 'BYDAY': 0TH"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "RRULE never occurs: no month of BYMONTH=2"),
        ("FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=-31", "has a day BYMONTHDAY=-31"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "no month of BYMONTH=2"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", "RRULE never produces an occurrence"),
        ("FREQ=HOURLY;BYSETPOS=2", "BYSETPOS=2 but each hour holds 1 instant(s)"),
    ],
    ids=["0th-weekday", "february-30", "april-minus-31", "daily-feb-30", "sixth-monday", "hourly"],
)
def test_a7_rule_without_instances_is_400(alice: Client, rule: str, reason: str) -> None:
    """Refused before Radicale walks the rule towards the year 9999 (seconds to minutes)."""
    rejected(alice, "a7.ics", event("a7", f"RRULE:{rule}\r\n"), 400, reason, BOMB)


def test_a7_rule_without_instances_in_a_whole_calendar_upload_is_400(alice: Client) -> None:
    """The same rules guard Radicale's own PUT (a whole calendar sent to the collection)."""
    body = event("a7-all", "RRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6\r\n")
    with unchanged(alice):
        answer = alice.put(CALENDAR, body)
        refused(answer, 400, "RRULE never produces an occurrence", BOMB)


QUERY = (
    '<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter>'
    '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range '
    'start="20240101T000000Z" end="20240201T000000Z"/></C:comp-filter></C:comp-filter>'
    "</C:filter></C:calendar-query>"
)


def test_a7_sparse_rule_is_stored(alice: Client) -> None:
    """BYYEARDAY=360 occurs every year: accepted (201) and found by a time-range query."""
    body = event("a7-360", "RRULE:FREQ=YEARLY;BYYEARDAY=360\r\n")
    answer = alice.put(CALENDAR + "a7-360.ics", body)
    assert (answer.status, answer.seconds < 2.0) == (201, True)
    query = QUERY.replace("20240101T000000Z", "20241225T000000Z").replace(
        "20240201T000000Z", "20241226T000000Z"
    )  # day 360 of the leap year 2024
    assert "a7-360.ics" in alice.send("REPORT", CALENDAR, query, Depth="1").text


def test_a9_exdates_over_the_cap_are_400(alice: Client) -> None:
    dates = ",".join(f"2024{1 + i // 28 % 12:02d}{1 + i % 28:02d}T100000Z" for i in range(10_001))
    body = event("a9", f"RRULE:FREQ=DAILY;COUNT=5\r\nEXDATE:{dates}\r\n")
    assert len(body) < MAX_BODY_BYTES * 8 // 10  # under every size limit: the cap decides
    rejected(alice, "a9.ics", body, 400, "VEVENT has 10001 EXDATE values (at most 10000)")


# -- A10-A14: sizes, parser bombs, encodings --------------------------------------------------


def test_a10_body_over_the_limit_is_413(alice: Client) -> None:
    body = event("a10", "DESCRIPTION:" + "x" * MAX_BODY_BYTES + "\r\n")
    rejected(alice, "a10.ics", body, 413, f"the limit is {MAX_BODY_BYTES} bytes")


def test_a10_object_over_the_resource_limit_is_413(alice: Client) -> None:
    """Between max_resource_size (80% of the body limit) and the body limit."""
    body = event("a10b", "DESCRIPTION:" + "x" * (MAX_BODY_BYTES * 9 // 10) + "\r\n")
    assert len(body) < MAX_BODY_BYTES
    rejected(alice, "a10b.ics", body, 413, "too large")


def test_a11_forty_kilobytes_of_blank_lines_parse_fast(alice: Client) -> None:
    answer = alice.put(CALENDAR + "a11.ics", event("a11", "\r\n" * 20_000))
    assert (answer.status, answer.seconds < BOMB) == (201, True)
    assert "\r\n\r\n" not in alice.send("GET", CALENDAR + "a11.ics").text


def test_a11_spaces_around_separators_are_400(alice: Client) -> None:
    padding = " " * 32_000
    body = event("a11b", f"X-PAD;{padding}={padding}:v\r\n")
    rejected(alice, "a11b.ics", body, 400, "Bad Request: cannot parse iCalendar", BOMB)


@pytest.mark.parametrize("name", ["VEVENT", "VALARM"])
def test_a13_thousand_nested_components_are_400(alice: Client, name: str) -> None:
    nested = f"BEGIN:{name}\r\n" * 1000 + f"END:{name}\r\n" * 1000
    body = vcalendar(vevent("a13", extra=nested))
    rejected(alice, "a13.ics", body, 400, "components are nested more than 10 levels deep", BOMB)


@pytest.mark.parametrize(
    ("summary", "reason"),
    [
        (b"\xff\xfe", "the body is not valid UTF-8 (byte "),
        (b"\xc0\xae", "the body is not valid UTF-8 (byte "),  # overlong "."
        (b"\xed\xa0\x80", "the body is not valid UTF-8 (byte "),  # lone surrogate
        (b"a\x00b", "the body contains a NUL byte (byte "),
    ],
    ids=["invalid", "overlong", "surrogate", "nul"],
)
def test_a14_undecodable_bytes_are_400(alice: Client, summary: bytes, reason: str) -> None:
    body = event("a14").encode().replace(b"SUMMARY:a14", b"SUMMARY:" + summary)
    rejected(alice, "a14.ics", body, 400, reason)


def test_a14_bom_inside_a_line_is_kept_as_data(alice: Client) -> None:
    body = event("a14-bom").replace("SUMMARY:a14-bom", "SUMMARY:a\ufeffb")
    assert alice.put(CALENDAR + "a14-bom.ics", body).status == 201
    assert "SUMMARY:a\ufeffb\r\n" in alice.send("GET", CALENDAR + "a14-bom.ics").text


# -- A15-A17: injection and duplicates --------------------------------------------------------


def test_a15_escaped_newline_never_becomes_a_property(alice: Client) -> None:
    injected = "x\\nATTENDEE:mailto:victim@example.com\\r\\nX-INJECTED:1"
    body = event("a15").replace("SUMMARY:a15", f"SUMMARY:{injected}")
    assert alice.put(CALENDAR + "a15.ics", body).status == 201
    lines = alice.send("GET", CALENDAR + "a15.ics").text.split("\r\n")
    assert not [line for line in lines if line.startswith(("ATTENDEE", "X-INJECTED"))]
    assert [line for line in lines if line.startswith("SUMMARY:x\\nATTENDEE:mailto:victim")]


def test_a15_newline_in_a_calendar_name_never_reaches_a_header(alice: Client) -> None:
    name = "x&#13;&#10;X-Injected: 1&#13;&#10;"
    body = (
        '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        f"<D:displayname>{name}</D:displayname></D:prop></D:set></D:propertyupdate>"
    )
    assert alice.send("MKCALENDAR", "/alice/named/").status == 201
    assert alice.send("PROPPATCH", "/alice/named/", body).status == 207
    export = alice.send("GET", "/alice/named/").response
    assert "X-Injected" not in export.headers
    assert "\r" not in export.headers["Content-Disposition"]
    assert "X-WR-CALNAME;VALUE=TEXT:x\\nX-Injected: 1\\n\r\n" in export.text


@pytest.mark.parametrize(
    ("components", "reason"),
    [
        ((vevent("a16"), vevent("a16")), "two VEVENTs with UID 'a16' without RECURRENCE-ID"),
        ((vevent("a16-1"), vevent("a16-2")), "Multiple VEVENT components with different UIDs"),
    ],
    ids=["same-uid-twice", "two-uids"],
)
def test_a16_one_resource_with_two_masters_is_400(
    alice: Client, components: tuple[str, str], reason: str
) -> None:
    rejected(alice, "a16.ics", vcalendar(*components), 400, reason)


def test_a16_whole_calendar_import_groups_overrides(alice: Client) -> None:
    assert alice.send("MKCALENDAR", "/alice/import/").status == 201
    override = "RECURRENCE-ID:20240106T100000Z\r\n"
    body = vcalendar(
        vevent("series", extra="RRULE:FREQ=DAILY;COUNT=3\r\n"),
        vevent("series", "DTSTART:20240106T120000Z\r\nDTEND:20240106T130000Z\r\n", override),
        vevent("single"),
    )
    assert alice.put("/alice/import/", body).status == 201
    listing = alice.send("PROPFIND", "/alice/import/", Depth="1").text
    assert sorted(listing.count(f"/alice/import/{name}.ics") for name in ("series", "single")) == [
        1,
        1,
    ]
    assert alice.send("GET", "/alice/import/series.ics").text.count("BEGIN:VEVENT") == 2


def test_a17_uid_of_another_resource_is_409(alice: Client) -> None:
    rejected(alice, "a17.ics", event("existing"), 409, "no-uid-conflict")


def test_c9_concurrent_puts_of_one_uid_give_one_resource(alice: Client) -> None:
    hrefs = [f"{CALENDAR}c9-{n}.ics" for n in range(8)]
    with ThreadPoolExecutor(len(hrefs)) as pool:
        answers = list(pool.map(lambda href: alice.put(href, event("c9")), hrefs))
    assert sorted(answer.status for answer in answers) == [201] + [409] * 7
    assert all(answer.seconds < 2.0 for answer in answers)
    assert alice.send("GET", CALENDAR).text.count("UID:c9\r\n") == 1


# -- A19-A23: kept as data --------------------------------------------------------------------

ALARM = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:soon\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"


def test_a19_unknown_properties_and_alarms_survive(alice: Client) -> None:
    extra = "X-FOO;X-PARAM=1:bar\r\nCOLOR:turquoise\r\n" + ALARM
    assert alice.put(CALENDAR + "a19.ics", event("a19", extra)).status == 201
    text = alice.send("GET", CALENDAR + "a19.ics").text
    for line in ("X-FOO;X-PARAM=1:bar", "COLOR:turquoise", "TRIGGER:-PT15M", "BEGIN:VALARM"):
        assert line + "\r\n" in text


def test_a20_method_in_a_stored_resource_is_400(alice: Client) -> None:
    body = vcalendar(vevent("a20"), head="METHOD:REQUEST\r\n")
    rejected(alice, "a20.ics", body, 400, "METHOD is not allowed in a stored calendar object")


def test_a20_event_and_todo_mixed_is_400(alice: Client) -> None:
    todo = "BEGIN:VTODO\r\nUID:a20\r\nDTSTAMP:20240101T000000Z\r\nEND:VTODO\r\n"
    body = vcalendar(todo, vevent("a20"))
    rejected(alice, "a20.ics", body, 400, "Multiple component types in object")


def timezone(tzid: str, blocks: str) -> str:
    return f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n{blocks}END:VTIMEZONE\r\n"


def standard(offset_to: str, extra: str = "", offset_from: str = "+0100") -> str:
    return (
        f"BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n{extra}TZOFFSETFROM:{offset_from}\r\n"
        f"TZOFFSETTO:{offset_to}\r\nEND:STANDARD\r\n"
    )


SECONDLY = "RRULE:FREQ=SECONDLY\r\n"


@pytest.mark.parametrize(
    "blocks",
    [
        standard("+0100", SECONDLY, offset_from="+9999"),
        standard("+005328"),
        standard("+0100") * 1500,
    ],
    ids=["secondly-rule-absurd-offset-from", "offset-with-seconds", "1500-blocks"],
)
def test_a21_odd_timezones_are_stored_and_stay_cheap(alice: Client, blocks: str) -> None:
    """Accepted (201): the zone is data; storing and querying the event stays bounded."""
    tzid = f"Odd-{len(blocks)}"  # vobject registers zones process-wide: one name per case
    times = f"DTSTART;TZID={tzid}:20240105T100000\r\nDTEND;TZID={tzid}:20240105T110000\r\n"
    body = vcalendar(timezone(tzid, blocks), vevent(f"a21-{len(blocks)}", times))
    answer = alice.put(CALENDAR + f"a21-{len(blocks)}.ics", body)
    assert (answer.status, answer.seconds < 2.0) == (201, True)
    query = alice.send("REPORT", CALENDAR, QUERY, Depth="1")
    assert (query.status, query.seconds < 2.0) == (207, True)


def test_a21_offset_beyond_a_day_is_400(alice: Client) -> None:
    times = "DTSTART;TZID=Odd-far:20240105T100000\r\nDTEND;TZID=Odd-far:20240105T110000\r\n"
    body = vcalendar(timezone("Odd-far", standard("+9999", SECONDLY)), vevent("a21-far", times))
    rejected(alice, "a21-far.ics", body, 400, "offset must be a timedelta strictly between")


@pytest.mark.parametrize("tzid", ["W. Europe Standard Time", "Customized Time Zone"])
def test_a22_unknown_tzid_is_kept_verbatim(alice: Client, tzid: str) -> None:
    times = f"DTSTART;TZID={tzid}:20240105T100000\r\nDTEND;TZID={tzid}:20240105T110000\r\n"
    assert alice.put(CALENDAR + "a22.ics", event("a22", times=times)).status in (201, 204)
    stored = alice.send("GET", CALENDAR + "a22.ics").text
    assert f"DTSTART;TZID={tzid}:20240105T100000\r\n" in stored


def busy_lines(client: Client, path: str) -> list[str]:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><C:free-busy-query '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20240104T000000Z" '
        'end="20240106T000000Z"/></C:free-busy-query>'
    )
    text = client.send("REPORT", path, body, Depth="1").text
    return [line for line in text.split("\r\n") if line.startswith("FREEBUSY")]


def test_a22_one_users_vtimezone_never_shifts_anothers_times(
    server: LiveServer, alice: Client
) -> None:
    """Alice defines Asia/Kathmandu as +12:00; Bob names the zone without defining it."""
    fake = timezone("Asia/Kathmandu", standard("+1200", offset_from="+1200"))
    times = (
        "DTSTART;TZID=Asia/Kathmandu:20240105T100000\r\n"
        "DTEND;TZID=Asia/Kathmandu:20240105T110000\r\n"
    )
    defined = vcalendar(fake, vevent("a22-fake", times))
    assert alice.put(CALENDAR + "a22-fake.ics", defined).status == 201
    bob = Client(server, "bob")
    assert bob.put("/bob/calendar/a22.ics", event("a22", times=times)).status == 201
    # The IANA zone is +05:45: 10:00 there is 04:15 UTC.
    assert busy_lines(bob, "/bob/calendar/") == [
        "FREEBUSY;FBTYPE=BUSY:20240105T041500Z/20240105T051500Z"
    ]


def test_a23_urls_are_stored_as_data(alice: Client) -> None:
    lines = (
        "ATTACH;VALUE=URI:http://169.254.169.254/latest/meta-data/",
        "URL:file:///etc/passwd",
        "TZURL:gopher://127.0.0.1:25/",
        "X-IMAGE:http://169.254.169.254/",
    )
    answer = alice.put(CALENDAR + "a23.ics", event("a23", "".join(f"{x}\r\n" for x in lines)))
    assert (answer.status, answer.seconds < 2.0) == (201, True)
    text = alice.send("GET", CALENDAR + "a23.ics").text
    assert all(line + "\r\n" in text for line in lines)


# -- A26: not a calendar object at all --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ("", "text/calendar", "Bad Request: the body is empty"),
        ("BEGIN:VCALENDAR\r\n", "text/calendar", "Component VCALENDAR was never closed"),
        (event("a26")[:120], "text/calendar", "Component VEVENT was never closed"),
        (
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:v\r\nFN:x\r\nN:x;;;;\r\nEND:VCARD\r\n",
            "text/vcard",
            "Item type 'VCARD' not supported in 'VCALENDAR' collection",
        ),
    ],
    ids=["empty", "only-begin", "truncated", "vcard"],
)
def test_a26_not_a_calendar_object_is_400(
    alice: Client, body: str, content_type: str, reason: str
) -> None:
    with unchanged(alice):
        refused(alice.put(CALENDAR + "a26.ics", body, content_type), 400, reason)
