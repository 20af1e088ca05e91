"""Reading a new password for ``kalends hash-password``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

__all__ = ["PasswordInputError", "read_new_password"]


class PasswordInputError(Exception):
    """The password could not be read or was refused."""


def read_new_password(stream: TextIO, ask: Callable[[str], str]) -> str:
    """Read one line from ``stream`` when it is piped, else ask twice on the terminal.

    ``ask`` is normally :func:`getpass.getpass`.
    """
    if stream.isatty():
        password = _ask_twice(ask)
    else:
        password = stream.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise PasswordInputError("empty password refused")
    return password


def _ask_twice(ask: Callable[[str], str]) -> str:
    try:
        first = ask("Password: ")
        if not first:
            return first
        second = ask("Repeat password: ")
    except EOFError:
        raise PasswordInputError("no password given") from None
    if first != second:
        raise PasswordInputError("the two passwords do not match")
    return first
