"""The access log: one line per request, written for the price of one log call.

aiohttp's default logger parses its format string into a dozen small formatters and writes the
request's time with ``strftime`` for every request, a time the log record already carries (and
the log format prints): about 5% of the server's work on a small PUT.
"""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class AccessLog(AbstractAccessLogger):
    """``<client> "<method> <path> HTTP/<version>" <status> <bytes> <ms>ms "<user agent>"``."""

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        version = request.version
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d %.1fms "%s"',
            request.remote or "-",
            request.method,
            request.path_qs,
            version.major,
            version.minor,
            response.status,
            response.body_length,
            time * 1000,
            request.headers.get("User-Agent", "-"),
        )
