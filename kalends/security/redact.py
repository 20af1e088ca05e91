"""Keep secrets out of the log: a filter that masks them in every record it sees.

The filter formats the record's message (``msg % args``), masks the secret values registered
with it and the usual shapes of credentials (``Bearer <token>``, ``access_token=...``,
``password=...``, ``"client_secret": "..."``, ``scheme://user:password@``), and stores the
masked text back as the message. Tracebacks and stack information are masked the same way.
``install_redaction`` puts it on the root logger's handlers, so records from every logger
(including libraries such as httpx, which log request URLs) pass through it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

__all__ = ["MASK", "RedactionFilter", "install_redaction"]

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words

_SECRET_NAMES = (
    r"access_token|refresh_token|id_token|client_secret|password|passwd|api_?key|token|secret"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer eyJ...
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), rf"\g<1>{MASK}"),
    # access_token=...&  password=...  (query strings, form bodies, key=value messages)
    (
        re.compile(rf"(?<![A-Za-z0-9_])((?:{_SECRET_NAMES})=)[^&\s\"',;]+", re.IGNORECASE),
        rf"\g<1>{MASK}",
    ),
    # "client_secret": "..."  (JSON)
    (
        re.compile(rf"(\"(?:{_SECRET_NAMES})\"\s*:\s*\")(?:[^\"\\]|\\.)*(\")", re.IGNORECASE),
        rf"\g<1>{MASK}\g<2>",
    ),
    # https://user:password@host
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):[^\s@/]*@"), rf"\g<1>:{MASK}@"),
)


class RedactionFilter(logging.Filter):
    """Masks registered secret values and well-known credential patterns in log records."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.register(secret)

    def register(self, value: str) -> None:
        """Mask ``value`` wherever it appears from now on (values under 4 characters are not
        masked: they would hide ordinary words)."""
        if len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._secrets:
                return
            self._secrets.add(value)
            ordered = sorted(self._secrets, key=len, reverse=True)  # longest first
            self._pattern = re.compile("|".join(re.escape(secret) for secret in ordered))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        for shape, replacement in _PATTERNS:
            text = shape.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(_message(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _message(record: logging.LogRecord) -> str:
    """The formatted message; when its arguments do not fit, everything as plain text (so that
    logging's own error report cannot print unmasked arguments)."""
    try:
        return record.getMessage()
    except (TypeError, ValueError, KeyError):
        return f"{record.msg} {record.args!r}"


def install_redaction(redaction: RedactionFilter) -> None:
    """Add ``redaction`` to every handler of the root logger (handlers added later need
    ``handler.addFilter`` themselves)."""
    for handler in logging.getLogger().handlers:
        if redaction not in handler.filters:
            handler.addFilter(redaction)
