"""The database itself refuses what the services would never write: raw SQL, bypassing them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Enum, String, Table, bindparam, delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    Certificate,
    CertificateCase,
    Inclusion,
    StockRange,
    User,
    VoterEntry,
)
from services.audit import SYSTEM, record_event
from tests.factories import World, make_voter, make_world
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


@pytest.mark.parametrize("role", ["clerk", "checkin"])
def test_precinct_user_without_a_precinct_is_refused(session: Session, role: str) -> None:
    def insert() -> int:
        return raw_insert(
            session,
            USERS,
            username=f"{role}-nowhere",
            full_name="Nobody",
            password_hash="x",
            role=role,
            precinct_id=None,
            active=True,
            session_token="t",
            created_at=NOW,
        )

    _refused(session, insert)


def test_territorial_user_without_a_commission_is_refused(session: Session) -> None:
    _refused(
        session,
        lambda: raw_insert(
            session,
            USERS,
            username="territorial-nowhere",
            full_name="Nobody",
            password_hash="x",
            role="territorial",
            active=True,
            session_token="t",
            created_at=NOW,
        ),
    )


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
