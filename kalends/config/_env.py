"""``${VAR}`` references in string values, replaced from the environment."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

__all__ = ["Report", "expand_tree"]

# "$${" is a literal "${"; "${NAME}" a reference; any other "${" is malformed.
_TOKEN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")

Report = Callable[[tuple[str, ...], str], None]


def expand_tree(
    tree: Mapping[str, object], environ: Mapping[str, str], report: Report
) -> dict[str, object]:
    """Return a copy of ``tree`` with every string expanded; report what cannot be."""
    return {key: _expand(value, (key,), environ, report) for key, value in tree.items()}


def _expand(
    value: object, path: tuple[str, ...], environ: Mapping[str, str], report: Report
) -> object:
    if isinstance(value, str):
        return _expand_string(value, path, environ, report)
    if isinstance(value, list):
        return [_expand(item, path, environ, report) for item in value]
    if isinstance(value, dict):
        return {key: _expand(item, (*path, key), environ, report) for key, item in value.items()}
    return value


def _expand_string(
    text: str, path: tuple[str, ...], environ: Mapping[str, str], report: Report
) -> str:
    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if token == "$${":
            return "${"
        if name is None:
            report(path, "malformed ${...} reference (write $${ for a literal ${)")
            return token
        if name not in environ:
            report(path, f"environment variable {name} is not set")
            return token
        return environ[name]

    return _TOKEN.sub(replace, text)
