"""YAML values as Obsidian reads them and as Full Calendar writes them.

Obsidian parses frontmatter as YAML 1.2, where ``9:30`` is a string and ``no`` is not a boolean;
PyYAML speaks YAML 1.1, so the loader here drops the 1.1-only number and boolean forms. Values are
written one key per line, arrays inline (``[a,b]``), strings plain unless they need quotes.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from datetime import date
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode

__all__ = ["YamlError", "load_mapping", "render"]

_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
# YAML 1.1 integers minus the base-60 form that turns an unquoted 9:30 into 570.
_INT = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class YamlError(ValueError):
    """Not a YAML mapping; the message quotes no content, only where the problem is."""


class _UniqueKeys(SafeConstructor):
    """Refuses a key given twice, as Obsidian does (PyYAML would keep the last one)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                line = key_node.start_mark.line + 2  # + the opening fence, 1-based
                raise YamlError(f"repeats a key (line {line})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _lenient_timestamp(loader: yaml.SafeLoader | yaml.CSafeLoader, node: ScalarNode) -> object:
    """A date that does not exist (2026-02-30) stays text, as YAML 1.2 reads it."""
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


def _yaml12_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {
        first: [(tag, regexp) for tag, regexp in rules if tag not in (_INT_TAG, _BOOL_TAG)]
        for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for first in "-+0123456789":
        table.setdefault(first, []).append((_INT_TAG, _INT))
    for first in "tTfF":
        table.setdefault(first, []).append((_BOOL_TAG, _BOOL))
    return table


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _PyLoader(_UniqueKeys, yaml.SafeLoader):
    yaml_implicit_resolvers = _yaml12_resolvers()


_PyLoader.add_constructor(_TIMESTAMP_TAG, _lenient_timestamp)


_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = _PyLoader
if yaml.__with_libyaml__:  # the C parser reads frontmatter several times faster

    class _CLoader(_UniqueKeys, yaml.CSafeLoader):
        yaml_implicit_resolvers = _yaml12_resolvers()

    _CLoader.add_constructor(_TIMESTAMP_TAG, _lenient_timestamp)
    _Loader = _CLoader


def load_mapping(text: str) -> dict[str, object]:
    """The mapping in ``text`` ({} when empty); YamlError otherwise."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader
    except YamlError:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise YamlError(f"is not valid YAML{where}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        raise YamlError("is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise YamlError("is not a list of 'key: value' lines")
    return {str(key): value for key, value in data.items()}


def _loads_back(text: str, value: object) -> bool:
    try:
        loaded = load_mapping(f"k: {text}")
    except YamlError:
        return False
    return loaded.get("k") == value and type(loaded.get("k")) is type(value)


def _unusual(char: str) -> bool:
    """Characters written as escapes: those YAML does not allow as they are (controls,
    surrogates, U+FFFE...), line separators and the byte order mark."""
    code = ord(char)
    printable = (
        code == 0x09
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or code >= 0x10000
    )
    return not printable or char in "\u2028\u2029\ufeff"


def _quoted(value: str) -> str:
    parts = []
    for char in value:
        if char in _ESCAPES:
            parts.append(_ESCAPES[char])
        elif 0xD800 <= ord(char) < 0xE000:
            parts.append("\ufffd")  # a lone surrogate has no UTF-8 form
        elif _unusual(char):
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(char)
    return '"' + "".join(parts) + '"'


def _atom(value: object, *, quote: bool, in_list: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | int):
        return value.isoformat() if isinstance(value, date) else str(value)
    text = str(value)
    plain_ok = not quote and text == text.strip() and not any(_unusual(c) for c in text)
    if in_list:
        plain_ok = plain_ok and not any(char in text for char in ",[]{}")
    if plain_ok and _loads_back(text, text):
        return text
    return _quoted(text)


def render(value: object, *, quote: bool = False) -> str:
    """``value`` as the text after ``key: `` (``quote`` forces quotes, as for times)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ",".join(_atom(item, quote=quote, in_list=True) for item in value) + "]"
    return _atom(value, quote=quote, in_list=False)
