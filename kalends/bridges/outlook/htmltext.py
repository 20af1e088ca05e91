"""HTML event bodies as plain text: what DESCRIPTION says beside an HTML ``X-ALT-DESC``.

Graph keeps a body as HTML or text; iCalendar clients mostly read DESCRIPTION only, so an HTML
body is written with its text as well, and the two are compared to tell whether a client edited
the text (``plain_text``). ``text_hash`` notes a text body as Kalends sent it, since Graph
reads it back as HTML.
"""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser

__all__ = [
    "plain_text",
    "text_hash",
]

_BLOCKS = frozenset(
    {
        "address", "article", "blockquote", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_HIDDEN = frozenset({"head", "script", "style", "title"})
_BREAK_SPACE = re.compile(r"[ \t\r\f\v]*\n\s*")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.line_start = True

    def _add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.line_start = text.endswith("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br" or (tag in _BLOCKS and not self.line_start):
            self._add("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in _BLOCKS and not self.line_start:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        data = data.replace("\xa0", " ")
        text = _BREAK_SPACE.sub(" ", data)
        if self.line_start and _BREAK_SPACE.match(data):
            text = text.lstrip(" ")  # the source's own line break, not the text's
        self._add(text)


def plain_text(markup: str) -> str:
    """The text of an HTML body: block elements and ``<br>`` as line breaks, soft line breaks
    in the source as spaces, no trailing spaces, no blank lines around it."""
    parser = _Text()
    parser.feed(markup.replace("\r\n", "\n").replace("\r", "\n"))
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.parts).split("\n")]
    return "\n".join(lines).strip("\n")


def text_hash(text: str) -> str:
    """A short digest of a text body as Kalends sent it (Graph reads it back as HTML)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
