"""Configuration problems, collected and reported together."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration file.

    ``key`` is a dotted path such as ``users.alice.password_hash`` (empty for problems with
    the file as a whole), ``value`` the repr of the offending value when there is one.
    """

    key: str
    value: str | None
    message: str
    file: str
    line: int | None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        got = "" if self.value is None else f", got {self.value}"
        subject = f"{self.key}: " if self.key else ""
        return f"{subject}{self.message}{got} ({where})"


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        count = len(self.problems)
        header = f"invalid configuration: {count} problem{'' if count == 1 else 's'}"
        return "\n".join([header, *(f"  {problem}" for problem in self.problems)])
