"""The organizer and attendees: Graph recipients <-> ORGANIZER / ATTENDEE lines.

Only people with an e-mail address map to Graph; any other ORGANIZER / ATTENDEE line is
carried as it is (``person_of`` returns None for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kalends.bridges.icaltext import param, param_map, split_line

__all__ = [
    "attendee_line",
    "organizer_line",
    "person_of",
]

_PARTSTAT = {
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentativelyAccepted": "TENTATIVE",
    "notResponded": "NEEDS-ACTION",
}
_RESPONSE = {status: response for response, status in _PARTSTAT.items()}


def _address(person: object) -> tuple[str, str | None] | None:
    """(address, name) of a Graph recipient / attendee."""
    if not isinstance(person, Mapping):
        return None
    email = person.get("emailAddress")
    if not isinstance(email, Mapping) or not email.get("address"):
        return None
    name = email.get("name")
    return str(email["address"]), str(name) if isinstance(name, str) else None


def organizer_line(organizer: object) -> list[str]:
    found = _address(organizer)
    if found is None:
        return []
    address, name = found
    cn = param("CN", name) if name is not None else ""
    return [f"ORGANIZER{cn}:mailto:{address}"]


def attendee_line(attendee: object) -> str | None:
    found = _address(attendee)
    if found is None:
        return None
    assert isinstance(attendee, Mapping)
    address, name = found
    params = param("CN", name) if name is not None else ""
    kind = str(attendee.get("type") or "required")
    status = attendee.get("status")
    response = str(status.get("response")) if isinstance(status, Mapping) else "none"
    if kind == "resource":
        params += ";CUTYPE=RESOURCE"
    if response == "organizer":
        params += ";ROLE=CHAIR;PARTSTAT=ACCEPTED"
    else:
        params += ";ROLE=OPT-PARTICIPANT" if kind == "optional" else ""
        params += f";PARTSTAT={_PARTSTAT[response]}" if response in _PARTSTAT else ""
    return f"ATTENDEE{params}:mailto:{address}"


def _mailto(value: str) -> str | None:
    scheme, _, address = value.strip().partition(":")
    return address if scheme.casefold() == "mailto" and address else None


def person_of(line: str) -> dict[str, Any] | None:
    """The Graph organizer / attendee of an ORGANIZER / ATTENDEE line; None when it names no
    e-mail address (it is carried as it is)."""
    name, params, value = split_line(line)
    address = _mailto(value)
    if address is None:
        return None
    found = param_map(params)
    email: dict[str, str] = {"address": address}
    if "CN" in found:
        email["name"] = found["CN"]
    if name == "ORGANIZER":
        return {"emailAddress": email}
    role = found.get("ROLE", "").upper()
    kind = "required"
    if found.get("CUTYPE", "").upper() in ("RESOURCE", "ROOM"):
        kind = "resource"
    elif role in ("OPT-PARTICIPANT", "NON-PARTICIPANT"):
        kind = "optional"
    person: dict[str, Any] = {"type": kind, "emailAddress": email}
    response = "organizer" if role == "CHAIR" else _RESPONSE.get(found.get("PARTSTAT", "").upper())
    if response is not None:
        person["status"] = {"response": response}
    return person
