"""The test certificate authority: msal insists on https, so the fake serves TLS.

One trustme CA per process issues a server certificate valid for ``127.0.0.1`` and
``localhost``; its PEM is written once to a temporary file (``ca_path``) that clients pass as
``verify=``. Generating keys takes a moment, so every fake of the process shares them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass

import trustme

__all__ = ["LocalAuthority", "shared_authority"]


@dataclass(frozen=True)
class LocalAuthority:
    ca_path: str  # PEM of the CA certificate, for clients' ``verify=``
    _ca: trustme.CA
    _leaf: trustme.LeafCert

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._leaf.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting the fake (used by ``$batch`` to call the fake itself)."""
        return ssl.create_default_context(cafile=self.ca_path)


_lock = threading.Lock()
_made: list[LocalAuthority] = []


def shared_authority() -> LocalAuthority:
    with _lock:
        if not _made:
            ca = trustme.CA(organization_name="Kalends test CA")
            leaf = ca.issue_cert("127.0.0.1", "localhost")
            handle, path = tempfile.mkstemp(prefix="kalends-graph-ca-", suffix=".pem")
            with os.fdopen(handle, "wb") as out:
                out.write(ca.cert_pem.bytes())
            atexit.register(_remove, path)
            _made.append(LocalAuthority(path, ca, leaf))
        return _made[0]


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
