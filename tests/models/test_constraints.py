"""The database itself refuses what the services would never write: raw SQL, bypassing them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Enum, String, Table, bindparam, delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    Certificate,
    CertificateCase,
    Election,
    Inclusion,
    Locality,
    Placement,
    Precinct,
    Region,
    StockRange,
    User,
    VoterEntry,
)
from services.audit import SYSTEM, record_event
from tests.factories import (
    World,
    make_election_copy,
    make_iin,
    make_voter,
    make_world,
    precinct_in,
)
from workflow.calendar import Moment

NOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
VOTING = datetime(2022, 6, 5, 6, 0, tzinfo=UTC)


def raw_insert(session: Session, table: Table, **values: Any) -> int:
    """INSERT with plain SQL text; enum columns get raw strings, so no Python check runs first."""
    columns = list(values)
    params = [
        bindparam(
            column,
            values[column],
            type_=String() if isinstance(table.c[column].type, Enum) else table.c[column].type,
        )
        for column in columns
    ]
    statement = text(
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + column for column in columns)}) RETURNING id"
    ).bindparams(*params)
    return int(session.execute(statement).scalar_one())


CASES: Table = CertificateCase.__table__  # type: ignore[assignment]
CERTIFICATES: Table = Certificate.__table__  # type: ignore[assignment]
INCLUSIONS: Table = Inclusion.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]
VOTERS: Table = VoterEntry.__table__  # type: ignore[assignment]
STOCK: Table = StockRange.__table__  # type: ignore[assignment]
PLACEMENTS: Table = Placement.__table__  # type: ignore[assignment]
REGIONS: Table = Region.__table__  # type: ignore[assignment]
PRECINCTS: Table = Precinct.__table__  # type: ignore[assignment]


def insert_case(session: Session, world: World, voter: VoterEntry | None, **changes: Any) -> int:
    values: dict[str, Any] = {
        "election_id": world.election.id,
        "precinct_id": world.almaty_almaly.id,
        "voter_id": None if voter is None else voter.id,
        "voter_iin": "900101300017" if voter is None else voter.iin,
        "applicant_kind": "voter",
        "applicant_document": "ID 1",
        "stay_locality_id": world.oral.id,
        "state": "received",
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }
    values.update(changes)
    return raw_insert(session, CASES, **values)


def insert_certificate(
    session: Session, world: World, voter: VoterEntry, case_id: int, serial: int, **changes: Any
) -> int:
    values: dict[str, Any] = {
        "election_id": world.election.id,
        "case_id": case_id,
        "voter_id": voter.id,
        "precinct_id": world.almaty_almaly.id,
        "serial": serial,
        "verification_code": "ACDEFHJK",
        "state": "issued",
        "handed_to": "voter",
        "issued_at": NOW,
    }
    values.update(changes)
    return raw_insert(session, CERTIFICATES, **values)


def insert_inclusion(
    session: Session, world: World, certificate_id: int, line: int, **changes: Any
) -> int:
    values: dict[str, Any] = {
        "election_id": world.election.id,
        "certificate_id": certificate_id,
        "precinct_id": world.oral_precinct.id,
        "line_number": line,
        "included_at": VOTING,
    }
    values.update(changes)
    return raw_insert(session, INCLUSIONS, **values)


@pytest.fixture
def world(session: Session) -> World:
    built = make_world(session)
    session.commit()
    return built


@pytest.fixture
def voter(session: Session, world: World) -> VoterEntry:
    entry = make_voter(session, world, world.almaty_almaly)
    session.commit()
    return entry


def _refused(session: Session, action: Any) -> IntegrityError:
    with pytest.raises(IntegrityError) as refused:
        action()
    session.rollback()
    return refused.value


def _refused_by(session: Session, constraint: str, action: Any) -> None:
    """Refused, and by that constraint: PostgreSQL names every one, SQLite only CHECKs and
    UNIQUEs (by their columns); a foreign key fails there without a name."""
    backend = session.get_bind().dialect.name
    message = str(_refused(session, action).orig)
    if backend == "postgresql":
        assert f'"{constraint}"' in message, message
    elif constraint.startswith("ck_"):
        assert constraint in message, message
    elif constraint.startswith("fk_"):
        assert "FOREIGN KEY constraint failed" in message, message
    else:
        assert "UNIQUE constraint failed" in message, message


# --- one live case, one live certificate, one serial, one inclusion ----------------------------


@pytest.mark.parametrize("live", ["received", "issued", "lost", "included", "returned"])
def test_second_live_case_for_a_voter_is_refused(
    session: Session, world: World, voter: VoterEntry, live: str
) -> None:
    insert_case(session, world, voter, state=live)
    session.commit()

    _refused(session, lambda: insert_case(session, world, voter, state="received"))


def test_ended_cases_beside_a_live_one_are_accepted(
    session: Session, world: World, voter: VoterEntry
) -> None:
    insert_case(session, world, voter, state="received")
    insert_case(session, world, voter, state="withdrawn")
    insert_case(session, world, voter, state="cancelled")
    insert_case(session, world, voter, state="refused", refusal_code="already_issued")
    session.commit()

    states = session.scalars(
        select(CertificateCase._state).where(CertificateCase.voter_id == voter.id)
    ).all()
    assert sorted(states) == ["cancelled", "received", "refused", "withdrawn"]


def test_second_live_certificate_for_a_voter_is_refused(
    session: Session, world: World, voter: VoterEntry
) -> None:
    case_id = insert_case(session, world, voter, state="issued")
    insert_certificate(session, world, voter, case_id, 1, state="lost")
    session.commit()

    _refused(session, lambda: insert_certificate(session, world, voter, case_id, 2))


def test_spoilt_and_cancelled_certificates_beside_a_live_one_are_accepted(
    session: Session, world: World, voter: VoterEntry
) -> None:
    case_id = insert_case(session, world, voter, state="issued")
    insert_certificate(session, world, voter, case_id, 1, state="spoilt")
    insert_certificate(session, world, voter, case_id, 2, state="cancelled")
    insert_certificate(session, world, voter, case_id, 3, state="issued")
    session.commit()

    assert len(session.scalars(select(Certificate)).all()) == 3


@pytest.mark.parametrize("first_state", ["issued", "spoilt", "cancelled"])
def test_duplicate_serial_in_an_election_is_refused(
    session: Session, world: World, voter: VoterEntry, first_state: str
) -> None:
    other = make_voter(session, world, world.almaty_almaly)
    first_case = insert_case(session, world, voter, state="issued")
    second_case = insert_case(session, world, other, state="issued")
    insert_certificate(session, world, voter, first_case, 7, state=first_state)
    session.commit()

    _refused(session, lambda: insert_certificate(session, world, other, second_case, 7))


def test_second_inclusion_of_a_certificate_is_refused(
    session: Session, world: World, voter: VoterEntry
) -> None:
    case_id = insert_case(session, world, voter, state="included")
    certificate_id = insert_certificate(session, world, voter, case_id, 1, state="used")
    insert_inclusion(session, world, certificate_id, 1)
    session.commit()

    _refused(
        session,
        lambda: insert_inclusion(
            session, world, certificate_id, 1, precinct_id=world.derkul_precinct.id
        ),
    )


def test_two_inclusions_on_one_line_of_a_supplementary_list_are_refused(
    session: Session, world: World, voter: VoterEntry
) -> None:
    other = make_voter(session, world, world.almaty_almaly)
    first = insert_certificate(
        session, world, voter, insert_case(session, world, voter, state="included"), 1
    )
    second = insert_certificate(
        session, world, other, insert_case(session, world, other, state="included"), 2
    )
    insert_inclusion(session, world, first, 1)
    session.commit()

    _refused(session, lambda: insert_inclusion(session, world, second, 1))


# --- CHECK constraints -------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["Received", "approved", "", "issued "])
def test_case_state_outside_the_machines_states_is_refused(
    session: Session, world: World, voter: VoterEntry, state: str
) -> None:
    _refused(session, lambda: insert_case(session, world, voter, state=state))


def test_certificate_state_outside_its_states_is_refused(
    session: Session, world: World, voter: VoterEntry
) -> None:
    case_id = insert_case(session, world, voter, state="issued")
    session.commit()

    _refused(session, lambda: insert_certificate(session, world, voter, case_id, 1, state="void"))


def test_refused_case_without_a_refusal_code_is_refused(
    session: Session, world: World, voter: VoterEntry
) -> None:
    _refused(session, lambda: insert_case(session, world, voter, state="refused"))


def test_refusal_code_on_a_case_that_is_not_refused_is_refused(
    session: Session, world: World, voter: VoterEntry
) -> None:
    _refused(
        session,
        lambda: insert_case(session, world, voter, state="received", refusal_code="other"),
    )


def test_live_case_without_a_voter_is_refused(session: Session, world: World) -> None:
    _refused(session, lambda: insert_case(session, world, None, state="received"))


def test_refused_case_without_a_voter_is_accepted(session: Session, world: World) -> None:
    case_id = insert_case(session, world, None, state="refused", refusal_code="not_on_list")
    session.commit()

    assert session.get_one(CertificateCase, case_id).voter_id is None


PROXY = {
    "applicant_kind": "representative",
    "representative_iin": "740315450128",
    "representative_name": "Сәуле Омарова",
    "power_of_attorney_number": "POA-1",
    "power_of_attorney_date": date(2022, 5, 18),
}


@pytest.mark.parametrize(
    "missing", ["representative_iin", "power_of_attorney_number", "power_of_attorney_date"]
)
def test_representative_case_without_power_of_attorney_particulars_is_refused(
    session: Session, world: World, voter: VoterEntry, missing: str
) -> None:
    particulars = {**PROXY, missing: None}

    _refused(session, lambda: insert_case(session, world, voter, **particulars))


def test_representative_case_with_all_particulars_is_accepted(
    session: Session, world: World, voter: VoterEntry
) -> None:
    case_id = insert_case(session, world, voter, **PROXY)
    session.commit()

    assert session.get_one(CertificateCase, case_id).power_of_attorney_number == "POA-1"


# --- placements and one election's network ---------------------------------------------------


@pytest.fixture
def other(session: Session, world: World) -> Election:
    """The 2026 referendum with a copy of the 2022 network (rows of its own), nobody placed."""
    return make_election_copy(session, world)


copy_of = precinct_in


def locality_of(session: Session, election: Election, kato: str) -> Locality:
    return session.scalars(
        select(Locality).where(Locality.election_id == election.id, Locality.kato == kato)
    ).one()


def new_user(session: Session, name: str = "newclerk", role: str = "clerk") -> int:
    return raw_insert(
        session,
        USERS,
        username=name,
        full_name="Жаңа Қызметкер",
        password_hash="x",
        role=role,
        active=True,
        session_token="t",
        created_at=NOW,
    )


def insert_placement(
    session: Session,
    user_id: int,
    election_id: int,
    precinct_id: int | None = None,
    commission_id: int | None = None,
) -> int:
    return raw_insert(
        session,
        PLACEMENTS,
        user_id=user_id,
        election_id=election_id,
        precinct_id=precinct_id,
        territorial_commission_id=commission_id,
        placed_at=NOW,
    )


def test_a_user_without_a_placement_is_accepted_whatever_the_role(session: Session) -> None:
    # Roles are global; where a clerk works is a placement, per election.
    user_id = new_user(session, "clerk-unplaced", "clerk")
    session.commit()

    assert session.get_one(User, user_id).placements == []


@pytest.mark.parametrize("places", ["both", "neither"])
def test_a_placement_at_both_a_precinct_and_a_commission_or_at_neither_is_refused(
    session: Session, world: World, places: str
) -> None:
    user_id = new_user(session)
    session.commit()
    precinct = world.oral_precinct
    both = places == "both"

    _refused_by(
        session,
        "ck_placement_one_place",
        lambda: insert_placement(
            session,
            user_id,
            world.election.id,
            precinct.id if both else None,
            precinct.territorial_commission_id if both else None,
        ),
    )
    assert session.scalars(select(Placement).where(Placement.user_id == user_id)).all() == []


@pytest.mark.parametrize("place", ["precinct", "commission"])
def test_a_placement_at_a_precinct_or_at_a_commission_is_accepted(
    session: Session, world: World, place: str
) -> None:
    user_id = new_user(session)
    precinct = world.oral_precinct
    placement_id = insert_placement(
        session,
        user_id,
        world.election.id,
        precinct.id if place == "precinct" else None,
        precinct.territorial_commission_id if place == "commission" else None,
    )
    session.commit()

    assert session.get_one(Placement, placement_id).user_id == user_id


def test_two_placements_of_one_user_in_one_election_are_refused(
    session: Session, world: World, other: Election
) -> None:
    user_id = new_user(session)
    insert_placement(session, user_id, world.election.id, world.oral_precinct.id)
    session.commit()

    _refused_by(
        session,
        "uq_placement_user_id_election_id",
        lambda: insert_placement(session, user_id, world.election.id, world.derkul_precinct.id),
    )
    # The same user in another election, at that election's precinct: accepted.
    insert_placement(session, user_id, other.id, copy_of(session, other, world.derkul_precinct).id)
    session.commit()
    assert sorted(
        session.scalars(select(Placement.election_id).where(Placement.user_id == user_id))
    ) == sorted([world.election.id, other.id])


@pytest.mark.parametrize("place", ["precinct", "commission"])
def test_a_placement_at_a_place_of_another_election_is_refused(
    session: Session, world: World, other: Election, place: str
) -> None:
    user_id = new_user(session)
    session.commit()
    oral_2026 = copy_of(session, other, world.oral_precinct)
    precinct_id = oral_2026.id if place == "precinct" else None
    commission_id = oral_2026.territorial_commission_id if place == "commission" else None
    column = "precinct_id" if place == "precinct" else "territorial_commission_id"

    _refused_by(
        session,
        f"fk_placement_{column}_same_election",
        lambda: insert_placement(session, user_id, world.election.id, precinct_id, commission_id),
    )
    # In its own election, the same place is accepted.
    insert_placement(session, user_id, other.id, precinct_id, commission_id)
    session.commit()


def _stock_at(session: Session, election_id: int, precinct_id: int) -> int:
    return raw_insert(
        session,
        STOCK,
        election_id=election_id,
        precinct_id=precinct_id,
        first_serial=9000,
        last_serial=9009,
        next_serial=9000,
        received_at=NOW,
    )


def _voter_at(session: Session, election_id: int, precinct_id: int) -> int:
    return raw_insert(
        session,
        VOTERS,
        election_id=election_id,
        precinct_id=precinct_id,
        iin=make_iin(),
        surname="Нұрланов",
        given_name="Асқар",
        birth_date=date(1990, 1, 1),
        address="ул. Абая, 1",
        search_key="нурланов аскар",
    )


@pytest.mark.parametrize(
    ("constraint", "insert"),
    [
        pytest.param(
            "fk_voter_entry_precinct_id_same_election",
            lambda session, world, voter, precinct, locality: _voter_at(
                session, world.election.id, precinct.id
            ),
            id="voter entry",
        ),
        pytest.param(
            "fk_certificate_case_precinct_id_same_election",
            lambda session, world, voter, precinct, locality: insert_case(
                session, world, voter, precinct_id=precinct.id
            ),
            id="case at the precinct",
        ),
        pytest.param(
            "fk_certificate_case_stay_locality_id_same_election",
            lambda session, world, voter, precinct, locality: insert_case(
                session, world, voter, stay_locality_id=locality.id
            ),
            id="case's place of stay",
        ),
        pytest.param(
            "fk_certificate_precinct_id_same_election",
            lambda session, world, voter, precinct, locality: insert_certificate(
                session,
                world,
                voter,
                insert_case(session, world, voter, state="issued"),
                1,
                precinct_id=precinct.id,
            ),
            id="certificate",
        ),
        pytest.param(
            "fk_stock_range_precinct_id_same_election",
            lambda session, world, voter, precinct, locality: _stock_at(
                session, world.election.id, precinct.id
            ),
            id="stock range",
        ),
        pytest.param(
            "fk_inclusion_precinct_id_same_election",
            lambda session, world, voter, precinct, locality: insert_inclusion(
                session,
                world,
                insert_certificate(
                    session, world, voter, insert_case(session, world, voter, state="issued"), 1
                ),
                1,
                precinct_id=precinct.id,
            ),
            id="inclusion",
        ),
        pytest.param(
            "fk_precinct_locality_id_same_election",
            lambda session, world, voter, precinct, locality: raw_insert(
                session,
                PRECINCTS,
                election_id=world.election.id,
                number=999,
                region_id=world.oral_precinct.region_id,
                locality_id=locality.id,
                territorial_commission_id=world.oral_precinct.territorial_commission_id,
                address_kk="999 учаске",
                address_ru="участок 999",
            ),
            id="precinct's locality",
        ),
    ],
)
def test_a_row_naming_a_place_of_another_election_is_refused(
    session: Session,
    world: World,
    voter: VoterEntry,
    other: Election,
    constraint: str,
    insert: Any,
) -> None:
    """Each row is of the 2022 election but names a precinct or locality of the 2026 network."""
    precinct = copy_of(session, other, world.almaty_almaly)
    locality = locality_of(session, other, world.oral.kato)
    assert (precinct.id, locality.id) != (world.almaty_almaly.id, world.oral.id)

    _refused_by(session, constraint, lambda: insert(session, world, voter, precinct, locality))


def test_rows_naming_places_of_their_own_election_are_accepted_in_either(
    session: Session, world: World, other: Election
) -> None:
    """The control for the test above: the same rows, each with its own election's precinct."""
    for election, precinct in [
        (world.election, world.derkul_precinct),
        (other, copy_of(session, other, world.derkul_precinct)),
    ]:
        _voter_at(session, election.id, precinct.id)
        _stock_at(session, election.id, precinct.id)
    session.commit()

    assert sorted(session.scalars(select(VoterEntry.election_id))) == sorted(
        [world.election.id, other.id]
    )


def _region(session: Session, election_id: int, kato: str) -> int:
    return raw_insert(
        session,
        REGIONS,
        election_id=election_id,
        kato=kato,
        name_kk="Абай облысы",
        name_ru="область Абай",
        name_en="Abai Region",
        time_zone="Asia/Almaty",
    )


def test_a_region_kato_is_unique_within_an_election_but_not_across_elections(
    session: Session, world: World, other: Election
) -> None:
    # The copy already holds the 2022 codes again, in its own election.
    assert sorted(
        session.scalars(select(Region.election_id).where(Region.kato == "750000000"))
    ) == sorted([world.election.id, other.id])
    _region(session, world.election.id, "100000000")
    _region(session, other.id, "100000000")
    session.commit()

    _refused_by(
        session,
        "uq_region_election_id_kato",
        lambda: _region(session, world.election.id, "100000000"),
    )
    assert session.scalar(select(func.count()).where(Region.kato == "100000000")) == 2


def test_unknown_role_is_refused(session: Session) -> None:
    _refused(
        session,
        lambda: raw_insert(
            session,
            USERS,
            username="root",
            full_name="Root",
            password_hash="x",
            role="superuser",
            active=True,
            session_token="t",
            created_at=NOW,
        ),
    )


def test_half_a_home_list_mark_is_refused(
    session: Session, world: World, voter: VoterEntry
) -> None:
    statement = update(VOTERS).where(VOTERS.c.id == voter.id).values(mark_serial=5)

    _refused(session, lambda: session.execute(statement))


@pytest.mark.parametrize(
    ("first", "last", "cursor"),
    [(0, 10, 0), (10, 9, 10), (10, 20, 9), (10, 20, 22)],
    ids=["zero", "reversed", "cursor before", "cursor past"],
)
def test_malformed_stock_range_is_refused(
    session: Session, world: World, first: int, last: int, cursor: int
) -> None:
    _refused(
        session,
        lambda: raw_insert(
            session,
            STOCK,
            election_id=world.election.id,
            precinct_id=world.oral_precinct.id,
            first_serial=first,
            last_serial=last,
            next_serial=cursor,
            received_at=NOW,
        ),
    )


# --- the audit trail is append-only ------------------------------------------------------------


def _one_event(session: Session, world: World) -> int:
    event = record_event(
        session,
        actor=SYSTEM,
        moment=Moment(NOW, "Asia/Almaty"),
        event="test",
        outcome="accepted",
        election_id=world.election.id,
        payload={"n": 1},
    )
    session.commit()
    return event.id


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET outcome = 'refused'",
        "UPDATE audit_event SET payload = '{}'",
        "DELETE FROM audit_event",
    ],
)
def test_audit_event_rewrite_by_raw_sql_is_refused_by_the_trigger(
    session: Session, world: World, sql: str
) -> None:
    event_id = _one_event(session, world)

    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(sql))
    session.rollback()

    event = session.get_one(AuditEvent, event_id)
    assert (event.outcome, event.payload) == ("accepted", {"n": 1})


def test_audit_event_rewrite_is_refused_as_an_integrity_error_on_every_backend(
    request: pytest.FixtureRequest, session: Session, world: World
) -> None:
    _one_event(session, world)

    with pytest.raises(IntegrityError):
        session.execute(text("DELETE FROM audit_event"))
    session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(update(AuditEvent).values(outcome="refused"), id="ORM bulk update"),
        pytest.param(delete(AuditEvent), id="ORM bulk delete"),
    ],
)
def test_audit_event_bulk_statements_through_the_orm_are_refused(
    session: Session, world: World, statement: Any
) -> None:
    _one_event(session, world)

    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(statement.execution_options(synchronize_session=False))
    session.rollback()


def test_audit_event_changed_through_the_orm_is_refused_before_flush(
    session: Session, world: World
) -> None:
    event = session.get_one(AuditEvent, _one_event(session, world))

    event.outcome = "refused"
    with pytest.raises(PermissionError):
        session.flush()
    session.rollback()

    assert session.get_one(AuditEvent, event.id).outcome == "accepted"


def test_audit_event_deleted_through_the_orm_is_refused_before_flush(
    session: Session, world: World
) -> None:
    event_id = _one_event(session, world)

    session.delete(session.get_one(AuditEvent, event_id))
    with pytest.raises(PermissionError):
        session.flush()
    session.rollback()

    assert session.get(AuditEvent, event_id) is not None


def test_new_audit_events_are_accepted_after_older_ones(session: Session, world: World) -> None:
    first = _one_event(session, world)
    second = _one_event(session, world)

    assert second > first


# --- instants are aware ------------------------------------------------------------------------


def test_naive_datetime_is_refused_on_insert(session: Session, world: World) -> None:
    naive = datetime(2022, 5, 25, 12, 0)  # noqa: DTZ001 - the value under test

    session.add(
        StockRange(
            election_id=world.election.id,
            precinct_id=world.oral_precinct.id,
            first_serial=9000,
            last_serial=9001,
            next_serial=9000,
            received_at=naive,
        )
    )
    with pytest.raises(StatementError) as refused:
        session.flush()
    session.rollback()

    assert isinstance(refused.value.orig, ValueError)
    assert "naive datetime refused" in str(refused.value.orig)


def test_naive_datetime_is_refused_in_a_query(session: Session, world: World) -> None:
    naive = datetime(2022, 5, 25, 12, 0)  # noqa: DTZ001 - the value under test

    with pytest.raises(StatementError) as refused:
        session.scalars(select(AuditEvent).where(AuditEvent.occurred_at < naive)).all()
    session.rollback()

    assert isinstance(refused.value.orig, ValueError)


def test_aware_datetime_comes_back_in_utc(session: Session, world: World) -> None:
    almaty_noon = datetime.fromisoformat("2022-05-25T12:00:00+06:00")
    stock = StockRange(
        election_id=world.election.id,
        precinct_id=world.oral_precinct.id,
        first_serial=9000,
        last_serial=9001,
        next_serial=9000,
        received_at=almaty_noon,
    )
    session.add(stock)
    session.commit()
    session.expire_all()

    loaded = session.get_one(StockRange, stock.id).received_at

    assert loaded == NOW
    assert loaded.utcoffset() is not None
    assert loaded.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
