"""Shared fixtures: an app on a migrated database, SQLite always, PostgreSQL when configured.

Tests that take `app` or `session` run once per backend. PostgreSQL runs when
TEST_DATABASE_URL is set; under CI=true a missing or unreachable server fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from models import Base, db
from services.clock import FixedClock

# Seal keys and other instance files of test apps go to a throwaway folder, not the checkout.
os.environ.setdefault("KUELIK_INSTANCE_PATH", tempfile.mkdtemp(prefix="kuelik-test-instance-"))

# Noon in Almaty on 25 May 2022: inside the issue window of the 2022 referendum.
DEFAULT_NOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL suite must run")
        return None
    return url


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _migrate(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "migrate"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (DELETE would trip the audit triggers)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    template = folder / "template.sqlite"
    _migrate(f"sqlite:///{template}")
    return template


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this test session's own, migrated once, dropped at the end.

    It is created beside TEST_DATABASE_URL's database (same server, its name plus the process
    id), so that two test sessions on one server never empty each other's tables.
    """
    url = _postgres_url()
    if url is None:
        pytest.skip("PostgreSQL suite: set TEST_DATABASE_URL to run it")
    server = make_url(_sqlalchemy_url(url))
    name = f"{server.database}_s{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    sa_url = server.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(sa_url)
        yield sa_url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate_all(url: str) -> None:
    """Empty every table (TRUNCATE fires no row triggers, so the audit trail can be reset)."""
    engine = create_engine(url)
    names = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated, empty database of each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        copy = tmp_path / "test.sqlite"
        shutil.copyfile(template, copy)
        return f"sqlite:///{copy}"
    url: str = request.getfixturevalue("postgres_database")
    truncate_all(url)
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEFAULT_NOW)


@pytest.fixture
def app(database_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "KUELIK_CLOCK_START": clock,
        }
    )
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Session:
    """The app's scoped session (services receive it; tests commit like a view would)."""
    return db.session()
