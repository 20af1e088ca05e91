"""Shared fixtures: one password hash per run, databases (SQLite and PostgreSQL), live servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from kalends.security.passwords import hash_password
from tests.harness import PASSWORD, fresh_postgres_database, postgres_admin_url

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=1000, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    return postgres_admin_url()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every storage test runs on both databases."""
    if request.param == "sqlite":
        yield "sqlite:///%s" % (tmp_path / "kalends.db")
        return
    admin = request.getfixturevalue("postgres_admin")
    with fresh_postgres_database(admin) as url:
        yield url
