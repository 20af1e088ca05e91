"""Pytest plugin: run Radicale's own test suite against another storage type.

Load it with ``-p radicale_suite_plugin`` (this directory on ``PYTHONPATH``) and pass
``--radicale-src=<Radicale source checkout>``. Before collection it

- binds the package ``radicale.tests`` to the checkout's ``radicale/tests`` while ``radicale``
  itself stays the installed package (its wheel ships only ``radicale/tests/custom``, whose
  plugins match the installed API and are preferred over the checkout's);
- wraps ``radicale.config.load`` so that every configuration the tests build starts with
  ``[storage] type = <--radicale-storage>`` (default ``kalends.storage``); a test that sets
  ``storage.type`` itself still wins, as it would over Radicale's built-in default;
- deselects the tests in ``EXCLUDED``, which check multifilesystem's files rather than behaviour,
  and those in ``VERSION_SKEW``, which the installed Radicale fails on its own storage;
- with ``--radicale-app=kalends``, drives Kalends' application instead of Radicale's (and
  deselects ``EXCLUDED_WITH_KALENDS_APP`` too, where Kalends answers differently on purpose).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import radicale
from radicale import config as radicale_config

_TESTS_DIR = pytest.StashKey[Path]()
_STORAGE_CLASS = "TestStorageUnderTest"  # defined in radicale_suite_storage.py

# Node-id patterns (fnmatch, matched against the end of the node id) and why each is left out.
EXCLUDED: dict[str, str] = {
    "test_rights.py::TestBaseRightsRequests::test_from_file": (
        "creates collection-root/domain.test on disk to make a collection exist"
    ),
    "test_sharing.py::TestSharingApiSanity::test_sharing_api_map_properies_overlay_unicode": (
        "reads the collection's .Radicale.props file on disk"
    ),
    f"::{_STORAGE_CLASS}::test_item_cache_rebuild*": "deletes and checks .Radicale.cache on disk",
    f"::{_STORAGE_CLASS}::test_put_*_multiple": "compares inode numbers of collection folders",
    f"::{_STORAGE_CLASS}::test_collection_sharing_by_softlink": "symlinks collection folders",
    "test_base.py::TestBaseRequests::test_get_vcard_exceed_size": (
        "multifilesystem hides stored items larger than a later-lowered max_resource_size; "
        "Kalends keeps serving what it stored (the limit applies when writing)"
    ),
    f"::{_STORAGE_CLASS}::test_hook*": (
        "[storage] hook is run by multifilesystem's lock inside collection-root; "
        "these tests create folders with it or read its output"
    ),
}

# Radicale's public repository has no tag of the installed release (3.9.0): its newest source
# (3.8.0.dev) is run instead, and these of its tests fail against the installed package on
# Radicale's own storage and application just the same (``--radicale-storage=multifilesystem``;
# ``--keep-version-skew`` runs them): they test what that checkout expects of Radicale itself.
VERSION_SKEW: dict[str, str] = {
    "test_base.py::TestBaseRequests::test_report_free_busy": (
        "expects one VFREEBUSY per event; Radicale 3.9.0 answers one VFREEBUSY with every period"
    ),
    "TestSharingApiSanity::test_sharing_api_base_with_auth": (
        "expects the list of share fields of the checkout; 3.9.0 lists the shared properties"
    ),
    "TestSharingApiSanity::test_sharing_api_update": "3.9.0 answers an update with 409, not 200",
    "TestSharingApiSanity::test_sharing_api_create_conflict": (
        "3.9.0 creates the second share (201) where the checkout expects a conflict (409)"
    ),
    "TestSharingApiSanity::test_sharing_api_permissions_rights": (
        "3.9.0 allows (200) what the checkout expects refused (403)"
    ),
    "TestSharingApiSanity::test_sharing_api_map_vcf_*bday*template": (
        "birthday templates of the checkout: 3.9.0 finds no such shared calendar (404)"
    ),
}

# Left out as well when the tests drive Kalends' application, and why.
EXCLUDED_WITH_KALENDS_APP: dict[str, str] = {
    "test_base.py::TestBaseRequests::test_add_event*_exceed_size": (
        "Radicale answers an object over max_resource_size with 412; Kalends with 413 Content "
        "Too Large and the limit (RFC 9110 15.5.14), as the hostile-input tests require"
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("radicale-suite")
    group.addoption(
        "--radicale-src", required=True, help="Radicale source checkout whose tests are run"
    )
    group.addoption(
        "--radicale-storage",
        default="kalends.storage",
        help="[storage] type of every test configuration (default: kalends.storage)",
    )
    group.addoption(
        "--keep-version-skew",
        action="store_true",
        help="also run VERSION_SKEW (tests the installed Radicale itself fails)",
    )
    group.addoption(
        "--radicale-app",
        choices=("radicale", "kalends"),
        default="radicale",
        help="the WSGI application the tests drive: Radicale's own (default), or Kalends' "
        "(KalendsApplication: Radicale's with Kalends' own answers to the hot requests)",
    )


def _bind_tests_package(checkout: Path) -> Path:
    tests_dir = checkout / "radicale" / "tests"
    init = tests_dir / "__init__.py"
    if not init.is_file():
        raise pytest.UsageError(f"{checkout} is not a Radicale source checkout")
    installed = Path(radicale.__file__).parent / "tests"
    locations = [str(path) for path in (installed, tests_dir) if path.is_dir()]
    spec = importlib.util.spec_from_file_location(
        "radicale.tests", init, submodule_search_locations=locations
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["radicale.tests"] = module
    spec.loader.exec_module(module)
    radicale.tests = module  # type: ignore[attr-defined]
    return tests_dir


def _wrap_load(storage_type: str) -> None:
    original: Callable[..., radicale_config.Configuration] = radicale_config.load

    def load(*args: Any, **kwargs: Any) -> radicale_config.Configuration:
        configuration = original(*args, **kwargs)
        configuration.update({"storage": {"type": storage_type}}, "radicale_suite_plugin")
        return configuration

    radicale_config.load = load


def _use_kalends_application() -> None:
    """The tests build ``radicale.app.Application(configuration)``: make that Kalends'.

    Their harness reads only the first chunk of an answer (Radicale's are one chunk); Kalends
    streams large answers in several, which a WSGI server writes one after the other: the
    chunks are joined here as it would.
    """
    from radicale import app

    from kalends.server.radicale_app import KalendsApplication

    class JoinedAnswers(KalendsApplication):
        def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
            return [b"".join(super().__call__(environ, start_response))]

    app.Application = JoinedAnswers  # type: ignore[misc]


def pytest_configure(config: pytest.Config) -> None:
    checkout = Path(config.getoption("radicale_src")).resolve()
    config.stash[_TESTS_DIR] = _bind_tests_package(checkout)
    _wrap_load(config.getoption("radicale_storage"))
    if config.getoption("radicale_app") == "kalends":
        _use_kalends_application()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    patterns = list(EXCLUDED)
    if not config.getoption("keep_version_skew"):
        patterns += VERSION_SKEW
    if config.getoption("radicale_app") == "kalends":
        patterns += EXCLUDED_WITH_KALENDS_APP
    for item in items:
        excluded = any(fnmatchcase(item.nodeid, "*" + pattern) for pattern in patterns)
        (dropped if excluded else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"radicale {radicale.VERSION} from {Path(radicale.__file__).parent}",
        f"radicale tests from {config.stash[_TESTS_DIR]}",
        f"storage type: {config.getoption('radicale_storage')}",
        f"application: {config.getoption('radicale_app')}",
    ]
