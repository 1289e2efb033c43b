"""The migration to per-election data keeps every 2022 record and document as it was.

`legacy_2022/fixture.json` holds a database filled under the old schema (revision 0005: the 2022
demo after a day of cases) and every document it printed then, as the input handed to the PDF
renderer and the SHA-256 of the bytes. Here the rows go into a database at 0005, it is migrated to
the head, and the same documents are printed again by today's code: same inputs, same bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

import services.documents as documents
from app import create_app
from models import (
    Certificate,
    CertificateCase,
    Election,
    Placement,
    Precinct,
    User,
    db,
)
from services.audit import SYSTEM
from services.sealing import election_seal
from tests.conftest import IN_CI

FIXTURE = json.loads((Path(__file__).parent / "legacy_2022" / "fixture.json").read_text())
OLD_HEAD = FIXTURE["made_at_revision"]
AS_OF = datetime.fromisoformat(FIXTURE["as_of"])


def typed(value: Any) -> Any:
    """Undo the fixture's type tags."""
    if isinstance(value, dict):
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$time" in value:
            return time.fromisoformat(value["$time"])
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return value


def stored(value: Any) -> Any:
    """A stored column's value as the fixture has it: instants in UTC, however the database
    hands them back (SQLite naive, PostgreSQL in its session's zone)."""
    if isinstance(value, datetime):
        instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return {"$datetime": instant.isoformat()}
    return plain(value)


def plain(value: Any) -> Any:
    """The fixture's JSON form of a value (as `make_fixture.py` wrote it); a document's local
    times keep the offset they were printed with."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (never the shared test database: it starts at 0005)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'legacy.sqlite'}"
        return
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL suite: set TEST_DATABASE_URL to run it")
    url = make_url(server.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"kuelik_legacy_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _app(url: str, instance: Path) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "SECRET_KEY": FIXTURE["secret_key"],
            "KUELIK_AUDIT_KEY": FIXTURE["audit_key"],
        }
    )


def _load_old_rows(url: str) -> None:
    """The fixture's rows, into the tables of revision 0005 as the database reflects them."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            rows = FIXTURE["rows"].get(table.name, [])
            if rows:
                connection.execute(table.insert(), [typed(row) for row in rows])
        if connection.dialect.name == "postgresql":
            for table in metadata.sorted_tables:
                if "id" in table.columns and FIXTURE["rows"].get(table.name):
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
    engine.dispose()


@pytest.fixture
def migrated(legacy_url: str, tmp_path: Path) -> Iterator[Flask]:
    instance = tmp_path / "instance"
    instance.mkdir()
    for name, content in FIXTURE["seal_files"].items():
        path = instance / name
        path.write_bytes(base64.b64decode(content))
        path.chmod(0o600)
    app = _app(legacy_url, instance)
    app.config["LEGACY_INSTANCE"] = instance
    with app.app_context():
        upgrade(revision=OLD_HEAD)
        _load_old_rows(legacy_url)
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_every_old_row_keeps_its_values(migrated: Flask) -> None:
    metadata = MetaData()
    metadata.reflect(db.engine)
    with db.engine.connect() as connection:
        for name, rows in FIXTURE["rows"].items():
            table = metadata.tables[name]
            key = list(table.primary_key.columns)
            now = [
                {column: stored(value) for column, value in row._mapping.items()}
                for row in connection.execute(select(table).order_by(*key))
            ]
            assert len(now) == len(rows), name
            for before, after in zip(rows, now, strict=True):
                kept = {column: after[column] for column in before if column in after}
                dropped = set(before) - set(after)
                assert kept == {c: v for c, v in before.items() if c not in dropped}, name
                # Only the users' placement moved out of their row (into placements).
                assert dropped <= {"precinct_id", "territorial_commission_id"}, name
                assert not dropped or name == "app_user"


def test_the_network_belongs_to_the_2022_election_and_staff_keep_their_places(
    migrated: Flask,
) -> None:
    election = db.session.scalars(select(Election)).one()
    assert election.code == "ref2022"
    assert election.kind == "referendum"
    assert election.number_series is None
    assert {p.election_id for p in db.session.scalars(select(Precinct))} == {election.id}
    places = {
        user["username"]: (user["precinct_id"], user["territorial_commission_id"])
        for user in FIXTURE["rows"]["app_user"]
    }
    found = {
        placement.user.username: (placement.precinct_id, placement.territorial_commission_id)
        for placement in db.session.scalars(select(Placement))
    }
    assert found == {name: place for name, place in places.items() if place != (None, None)}
    assert all(p.election_id == election.id for p in db.session.scalars(select(Placement)))


def _capture() -> tuple[list[Any], Callable[[], None]]:
    captured: list[Any] = []
    originals = {}
    for name in (
        "render_certificate",
        "render_refusal_notice",
        "render_register",
        "render_supplementary_list",
        "render_reconciliation_act",
    ):
        original = getattr(documents, name)
        originals[name] = original

        def wrapper(*args: Any, original: Any = original) -> bytes:
            materialised = [list(arg) if hasattr(arg, "__next__") else arg for arg in args]
            captured.append(materialised)
            return bytes(original(*materialised))

        setattr(documents, name, wrapper)

    def restore() -> None:
        for name, original in originals.items():
            setattr(documents, name, original)

    return captured, restore


def test_every_document_prints_as_it_did_before_the_migration(migrated: Flask) -> None:
    session = db.session()
    election = session.scalars(select(Election)).one()
    seal = election_seal(migrated.config["LEGACY_INSTANCE"], election.code)
    expected = FIXTURE["documents"]
    captured, restore = _capture()
    try:

        def check(label: str, want: dict[str, Any], produce: Callable[[], bytes]) -> None:
            captured.clear()
            body = produce()
            assert plain(captured[-1]) == want["input"], label
            assert hashlib.sha256(body).hexdigest() == want["sha256"], label

        for certificate_id, want in expected["certificates"].items():
            certificate = session.get_one(Certificate, int(certificate_id))
            check(
                f"certificate {certificate_id}",
                want,
                lambda c=certificate: documents.print_certificate(
                    session, SYSTEM, c.case, c, seal, AS_OF
                ),
            )
        reasons = ("Бас тарту себебі", "Причина отказа")
        for case_id, want in expected["refusals"].items():
            case = session.get_one(CertificateCase, int(case_id))
            check(
                f"refusal {case_id}",
                want,
                lambda c=case: documents.print_refusal(session, SYSTEM, c, reasons, AS_OF),
            )
        precincts = list(session.scalars(select(Precinct).order_by(Precinct.id)))
        for precinct in precincts:
            check(
                f"register {precinct.id}",
                expected["registers"][str(precinct.id)],
                lambda p=precinct: documents.print_register(session, election, p),
            )
            check(
                f"supplementary list {precinct.id}",
                expected["supplementary"][str(precinct.id)],
                lambda p=precinct: documents.print_supplementary_list(session, election, p),
            )
        check(
            "reconciliation",
            expected["reconciliation"],
            lambda: documents.print_reconciliation(session, election, precincts, AS_OF),
        )
    finally:
        restore()
    session.rollback()


def test_the_2022_names_are_those_of_2022(migrated: Flask) -> None:
    """The capital was Nur-Sultan then: the migrated network still says so."""
    names = {p.locality.name_ru for p in db.session.scalars(select(Precinct))}
    assert "Нур-Султан" in names
    assert "Астана" not in names
    assert db.session.scalar(select(User).where(User.username == "clerk")) is not None
