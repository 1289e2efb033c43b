"""The migration to per-election networks on the old databases that are not the plain 2022 demo:
several elections sharing the one network, places imported before any election existed, and two
elections that both issued certificates (which it refuses, changing nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import MetaData, Table, create_engine, select, text

from app import create_app
from models import db

OLD = "0005_api"
NOW = datetime(2022, 5, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def old_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty SQLite file of its own, brought up to the old schema."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite'}",
            "TESTING": True,
            "SECRET_KEY": "old",
        }
    )
    with app.app_context():
        upgrade(revision=OLD)
        yield app
        db.session.remove()
        db.engine.dispose()


def _tables() -> dict[str, Table]:
    metadata = MetaData()
    metadata.reflect(db.engine)
    return dict(metadata.tables)


def _insert(table: Table, **values: Any) -> int:
    with db.engine.begin() as connection:
        result = connection.execute(table.insert().values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def _old_network() -> dict[str, int]:
    """One region, locality, commission and precinct, a clerk there: the old shared network."""
    t = _tables()
    region = _insert(
        t["region"],
        kato="270000000",
        name_kk="БҚО",
        name_ru="ЗКО",
        name_en="West Kazakhstan",
        time_zone="Asia/Oral",
    )
    locality = _insert(
        t["locality"],
        kato="271010000",
        region_id=region,
        name_kk="Орал",
        name_ru="Уральск",
        kind="city",
    )
    commission = _insert(t["territorial_commission"], region_id=region, name_kk="ТК", name_ru="ТК")
    precinct = _insert(
        t["precinct"],
        number=1,
        region_id=region,
        locality_id=locality,
        territorial_commission_id=commission,
        address_kk="мекенжай",
        address_ru="адрес",
    )
    clerk = _insert(
        t["app_user"],
        username="clerk",
        full_name="Clerk",
        password_hash="x",
        role="clerk",
        precinct_id=precinct,
        active=True,
        session_token="t",
        created_at=NOW,
    )
    return {
        "region": region,
        "locality": locality,
        "commission": commission,
        "precinct": precinct,
        "clerk": clerk,
    }


def _old_election(code: str) -> int:
    return _insert(
        _tables()["election"],
        code=code,
        name_kk=code,
        name_ru=code,
        name_en=code,
        voting_day=date(2022, 6, 5),
        issue_opens_on=date(2022, 5, 20),
        issue_opens_at=time(0, 0),
        issue_deadline_on=date(2022, 6, 4),
        issue_deadline_at=time(18, 0),
        voting_opens_at=time(7, 0),
        voting_closes_at=time(20, 0),
        allow_surrender=True,
        allow_return_home=True,
        proxy_warning_threshold=3,
        refuse_inclusion_in_home_locality=True,
    )


def _old_voter(election: int, precinct: int, iin: str) -> int:
    return _insert(
        _tables()["voter_entry"],
        election_id=election,
        precinct_id=precinct,
        iin=iin,
        surname="Ахметов",
        given_name="Ерлан",
        birth_date=date(1990, 1, 1),
        address="адрес",
        search_key="ахметов ерлан",
    )


def _old_certificate(election: int, network: dict[str, int], voter: int, serial: int) -> None:
    t = _tables()
    case = _insert(
        t["certificate_case"],
        election_id=election,
        precinct_id=network["precinct"],
        voter_id=voter,
        voter_iin="900101300017",
        applicant_kind="voter",
        applicant_document="ID",
        stay_locality_id=network["locality"],
        state="issued",
        created_at=NOW,
        updated_at=NOW,
        version=1,
    )
    _insert(
        t["certificate"],
        election_id=election,
        case_id=case,
        voter_id=voter,
        precinct_id=network["precinct"],
        serial=serial,
        verification_code="ACDEFHJK",
        state="issued",
        handed_to="voter",
        issued_at=NOW,
    )


def _rows(sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def test_a_second_election_gets_a_copy_of_the_shared_network(old_app: Flask) -> None:
    network = _old_network()
    first, second = _old_election("ref2022"), _old_election("by2022")
    _old_voter(first, network["precinct"], "900101300017")
    moved = _old_voter(second, network["precinct"], "900101300017")
    upgrade()

    precincts = _rows("SELECT id, election_id FROM precinct ORDER BY id")
    assert precincts[0] == (network["precinct"], first)  # the original stays, with its id
    assert [election for _id, election in precincts] == [first, second]
    copy = precincts[1][0]
    assert _rows("SELECT precinct_id FROM voter_entry WHERE id = :v", v=moved) == [(copy,)]
    localities = _rows("SELECT election_id, name_ru FROM locality ORDER BY id")
    assert localities == [(first, "Уральск"), (second, "Уральск")]
    placements = _rows(
        "SELECT user_id, election_id, precinct_id FROM placement ORDER BY election_id"
    )
    assert placements == [
        (network["clerk"], first, network["precinct"]),
        (network["clerk"], second, copy),
    ]


def test_the_election_that_issued_certificates_keeps_the_original_network(
    old_app: Flask,
) -> None:
    """Its certificates' seals name the precinct's id: the id must not move."""
    network = _old_network()
    quiet, busy = _old_election("quiet"), _old_election("busy")
    voter = _old_voter(busy, network["precinct"], "900101300017")
    _old_certificate(busy, network, voter, 1)
    upgrade()
    assert _rows("SELECT election_id FROM precinct WHERE id = :p", p=network["precinct"]) == [
        (busy,)
    ]
    assert _rows("SELECT count(*) FROM precinct WHERE election_id = :e", e=quiet) == [(1,)]


def test_places_imported_before_any_election_go_to_a_draft_election(old_app: Flask) -> None:
    network = _old_network()
    upgrade()
    elections = _rows("SELECT id, code, issue_opens_on FROM election")
    assert len(elections) == 1
    draft, code, window = elections[0]
    assert code == "network-before-elections"
    assert window is None  # nothing can be issued until the administrator sets a calendar
    assert _rows("SELECT election_id FROM precinct") == [(draft,)]
    assert _rows("SELECT election_id, precinct_id FROM placement") == [(draft, network["precinct"])]


def test_two_elections_that_both_issued_certificates_stop_the_upgrade_unchanged(
    old_app: Flask,
) -> None:
    network = _old_network()
    first, second = _old_election("one"), _old_election("two")
    _old_certificate(first, network, _old_voter(first, network["precinct"], "900101300017"), 1)
    _old_certificate(second, network, _old_voter(second, network["precinct"], "740315450128"), 1)
    with pytest.raises(SystemExit):  # flask_migrate logs the refusal and exits
        upgrade()
    assert _rows("SELECT version_num FROM alembic_version") == [(OLD,)]
    columns = {column["name"] for column in db.inspect(db.engine).get_columns("precinct")}
    assert "election_id" not in columns
    assert _rows("SELECT precinct_id FROM app_user") == [(network["precinct"],)]


def test_an_empty_old_database_upgrades_to_an_empty_new_one(old_app: Flask) -> None:
    upgrade()
    assert _rows("SELECT count(*) FROM election") == [(0,)]
    engine = create_engine(db.engine.url)
    with engine.connect() as connection:
        assert connection.execute(select(text("1"))).scalar() == 1
    engine.dispose()
