"""Radicale's storage tests (``radicale/tests/test_storage.py``) on the storage under test.

``TestMultiFileSystem`` pins ``[storage] type = multifilesystem`` in its ``setup_method``; this
subclass inherits its tests but keeps the type chosen by ``radicale_suite_plugin``. The tests that
inspect multifilesystem's files on disk are deselected by the plugin.
"""

from __future__ import annotations

from typing import cast

from radicale.tests.test_base import TestBaseRequests as _TestBaseRequests
from radicale.tests.test_storage import TestMultiFileSystem as _TestMultiFileSystem


class TestStorageUnderTest(_TestMultiFileSystem):  # type: ignore[misc]
    def setup_method(self) -> None:
        _TestBaseRequests.setup_method(cast(_TestBaseRequests, self))
