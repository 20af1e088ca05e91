"""Frontmatter split and line-by-line rewrite: everything not rewritten stays byte for byte."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalends.bridges.obsidian.frontmatter import BOM, FrontmatterError, rewrite, split
from kalends.bridges.obsidian.yamltext import YamlError, load_mapping, render

NOTE = (
    "---\n"
    "title: Old title\n"
    "# a comment the user wrote\n"
    "tags:\n"
    "  - work\n"
    "  - planning\n"
    'cssclasses: [wide, "no-title"]\n'
    "'quoted key': kept\n"
    "\n"
    "date: 2026-01-05\n"
    "---\n"
    "# Body\n"
    "\n"
    "Text with --- inside, and a [[link]].\n"
)


NOTES = st.one_of(
    st.text(),
    st.builds(
        lambda bom, newline, head, body: f"{bom}---{newline}{head}{newline}---{newline}{body}",
        st.sampled_from(["", BOM]),
        st.sampled_from(["\n", "\r\n"]),
        st.text(),
        st.text(),
    ),
)


@given(NOTES)
def test_any_text_splits_into_parts_that_join_back_exactly(text: str) -> None:
    try:
        note = split(text)
    except FrontmatterError:
        return
    assert note.text() == text


def test_rewrite_changes_only_the_named_keys() -> None:
    note = split(NOTE)
    assert note.mapping()["quoted key"] == "kept"
    text = rewrite(note, {"title": "New title", "date": None, "location": "Room 1"})
    assert text == NOTE.replace("title: Old title\n", "title: New title\n").replace(
        "date: 2026-01-05\n", "location: Room 1\n"
    )


def test_rewrite_keeps_crlf_and_bom() -> None:
    original = BOM + NOTE.replace("\n", "\r\n")
    text = rewrite(split(original), {"title": "New", "endDate": "2026-01-06"})
    assert text.startswith(BOM + "---\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert text.endswith(NOTE.split("---\n")[2].replace("\n", "\r\n"))  # the body, untouched
    assert "title: New\r\n" in text and "endDate: 2026-01-06\r\n---\r\n" in text
    assert "tags:\r\n  - work\r\n  - planning\r\n" in text


def test_a_block_list_value_is_replaced_as_a_whole() -> None:
    original = "---\ntitle: x\nskipDates:\n  - 2026-01-12\n  - 2026-01-19\nother: 1\n---\n"
    text = rewrite(split(original), {"skipDates": "[2026-01-26]"})
    assert text == "---\ntitle: x\nskipDates: [2026-01-26]\nother: 1\n---\n"


def test_a_note_without_frontmatter_gets_one_above_its_body() -> None:
    text = rewrite(split("Just text\r\n"), {"title": "x"})
    assert text == "---\r\ntitle: x\r\n---\r\nJust text\r\n"


def test_layouts_that_cannot_be_rewritten_line_by_line_are_refused() -> None:
    note = split("---\n{title: x, date: 2026-01-05}\n---\n")
    assert note.mapping() == {"title": "x", "date": date(2026, 1, 5)}
    with pytest.raises(FrontmatterError):
        rewrite(note, {"title": "y"})


def test_duplicate_keys_and_broken_yaml_are_errors() -> None:
    with pytest.raises(FrontmatterError, match="repeats a key"):
        split("---\ntitle: a\ntitle: b\n---\n").mapping()
    with pytest.raises(FrontmatterError, match="not valid YAML"):
        split("---\ntitle: [a\n---\n").mapping()
    with pytest.raises(FrontmatterError, match="never closed"):
        split("---\ntitle: a\n")


def test_values_load_as_obsidian_reads_them() -> None:
    """YAML 1.2: unquoted 9:30 is text (not 570), "no" is text (not False)."""
    loaded = load_mapping("a: 9:30\nb: no\nc: true\nd: 2026-01-05\ne: 2026-02-30\nf: 010\n")
    assert loaded == {"a": "9:30", "b": "no", "c": True, "d": date(2026, 1, 5)} | {
        "e": "2026-02-30",
        "f": 8,
    }
    with pytest.raises(YamlError):
        load_mapping("- a\n- b\n")


@pytest.mark.parametrize(
    ("value", "quote", "written"),
    [
        ("09:00", True, '"09:00"'),
        ("Standup", False, "Standup"),
        ("Q1: review", False, '"Q1: review"'),
        ("2026", False, '"2026"'),
        ("true", False, '"true"'),
        ("a #tag", False, '"a #tag"'),
        ("line\nbreak", False, '"line\\nbreak"'),
        ("Café 🎉", False, "Café 🎉"),
        (True, False, "true"),
        (date(2026, 1, 5), False, "2026-01-05"),
        ([date(2026, 1, 12), date(2026, 1, 19)], False, "[2026-01-12,2026-01-19]"),
        (["M", "W"], False, "[M,W]"),
        (["a, b"], False, '["a, b"]'),
    ],
)
def test_values_are_written_as_full_calendar_writes_them(
    value: object, quote: bool, written: str
) -> None:
    assert render(value, quote=quote) == written
    assert load_mapping(f"k: {written}")["k"] == value


@given(st.text())
def test_any_string_is_written_on_one_line_and_reads_back(value: str) -> None:
    written = render(value)
    assert "\n" not in written and "\r" not in written
    expected = "".join("\ufffd" if 0xD800 <= ord(char) < 0xE000 else char for char in value)
    assert load_mapping(f"k: {written}")["k"] == expected
