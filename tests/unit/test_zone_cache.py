"""Skipping VTIMEZONE blocks read before changes no event's times, even when two blocks with
the same TZID disagree."""

from __future__ import annotations

from datetime import UTC, datetime

from kalends.server.timezones import install_per_thread_zones
from kalends.sync.sqlwrites import ZoneCache, prepare_item

BERLIN = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
    "END:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)


def custom(offset: str) -> str:
    """Outlook's way: a zone named "Customized Time Zone", defined by the object itself."""
    return (
        "BEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\nBEGIN:STANDARD\r\n"
        f"DTSTART:19700101T000000\r\nTZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\n"
        "END:STANDARD\r\nEND:VTIMEZONE\r\n"
    )


def event(uid: str, zone: str, tzid: str = "Europe/Berlin") -> str:
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{zone}BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID={tzid}:20260105T090000\r\n"
        f"DTEND;TZID={tzid}:20260105T100000\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_known_blocks_are_reused_and_a_different_block_is_read_anew() -> None:
    install_per_thread_zones().reset()
    cache = ZoneCache()
    odd = "Customized Time Zone"
    texts = [
        event("a", BERLIN), event("b", BERLIN), event("c", custom("+0100"), odd),
        event("d", custom("+1200"), odd), event("e", custom("+0100"), odd), event("f", BERLIN),
    ]  # fmt: skip
    cached = [prepare_item("u/c", f"{n}.ics", text, cache) for n, text in enumerate(texts)]
    plain = [prepare_item("u/c", f"{n}.ics", text) for n, text in enumerate(texts)]
    assert [i.time_range for i in cached] == [i.time_range for i in plain]
    starts = [i.time_range[0] for i in cached]
    assert starts[0] == starts[1] == starts[2] == starts[4] == starts[5]
    assert starts[2] - starts[3] == 11 * 3600  # 09:00 at +01:00 vs 09:00 at +12:00
    assert cached[1].serialize() == texts[1], "the stored text keeps its VTIMEZONE"


def test_each_thread_builds_a_definition_once_and_a_different_one_anew() -> None:
    import io
    import threading

    from kalends.server.timezones import BuiltZones

    built = BuiltZones(limit=3)
    plus_one, plus_five = custom("+0100"), custom("+0500")
    first = built.tzical(io.StringIO(plus_one))
    assert built.tzical(io.StringIO(plus_one)) is first, "the same text: the same zone object"
    other = built.tzical(io.StringIO(plus_five))
    assert other is not first
    moment = datetime(2026, 1, 5, 9)
    assert other.get().utcoffset(moment) != first.get().utcoffset(moment)
    elsewhere: list[object] = []
    worker = threading.Thread(target=lambda: elsewhere.append(built.tzical(io.StringIO(plus_one))))
    worker.start()
    worker.join()
    assert elsewhere[0] is not first, "threads never share dateutil's zone caches"
    for offset in ("+0200", "+0300"):  # over the limit: what was built is forgotten
        built.tzical(io.StringIO(custom(offset)))
    assert built.tzical(io.StringIO(plus_one)) is not first
    assert built.tzutc is not None  # the rest of dateutil.tz is still there


def test_a_zone_built_before_still_gives_each_object_its_own_times() -> None:
    install_per_thread_zones().reset()
    odd = "Customized Time Zone"
    for offset, expected in (("+0100", 8), ("+0500", 4), ("+0100", 8)):
        item = prepare_item("u/c", f"{offset}.ics", event(offset, custom(offset), odd))
        start = item.vobject_item.vevent.dtstart.value
        assert start.astimezone(UTC).hour == expected
