"""Random sequences of desk and voting-day calls keep the register's invariants after every step.

Each hypothesis example starts from the same empty, migrated database (SQLite and PostgreSQL):
it runs inside an outer transaction that is rolled back at its end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    Certificate,
    CertificateCase,
    Election,
    Inclusion,
    StockRange,
    SupplementaryList,
    VoterEntry,
)
from services.cases import (
    ApplicationInput,
    apply_for_certificate,
    cancel_certificate,
    issue_certificate,
    refuse_application,
    report_certificate_lost,
    spoil_certificate,
    withdraw_application,
)
from services.stock import reconcile
from services.voting_day import present_certificate
from tests.factories import World, make_voter, make_world
from tests.services.support import representative_for
from workflow.errors import RefusalCode
from workflow.numbers import format_certificate_number
from workflow.states import LIVE_CASE_STATES, LIVE_CERTIFICATE_STATES, CaseState, CertificateState

SessionFactory = Callable[[], AbstractContextManager[Session]]

# Desk instants (UTC) around the 2022 window: Almaty is UTC+6, Oral and Derkul UTC+5.
DESK_TIMES = [
    datetime(2022, 5, 19, 17, 59, 59, tzinfo=UTC),  # 23:59:59 Almaty, 22:59:59 Oral: closed
    datetime(2022, 5, 19, 18, 30, tzinfo=UTC),  # 00:30 Almaty (open), 23:30 Oral (closed)
    datetime(2022, 5, 25, 6, 0, tzinfo=UTC),  # open everywhere
    datetime(2022, 6, 4, 11, 59, 59, tzinfo=UTC),  # 17:59:59 Almaty: last second
    datetime(2022, 6, 4, 12, 30, tzinfo=UTC),  # 18:30 Almaty (closed), 17:30 Oral (open)
    datetime(2022, 6, 4, 13, 0, tzinfo=UTC),  # 18:00 Oral: closed everywhere
    datetime(2022, 6, 5, 6, 0, tzinfo=UTC),  # voting day
]
# Voting-day instants (UTC): 07:00-20:00 local is 01:00-14:00 in Almaty, 02:00-15:00 in Oral.
VOTING_TIMES = [
    datetime(2022, 6, 4, 6, 0, tzinfo=UTC),  # the day before
    datetime(2022, 6, 5, 0, 59, 59, tzinfo=UTC),  # 06:59:59 Almaty
    datetime(2022, 6, 5, 1, 30, tzinfo=UTC),  # 07:30 Almaty, 06:30 Oral
    datetime(2022, 6, 5, 6, 0, tzinfo=UTC),  # open everywhere
    datetime(2022, 6, 5, 14, 30, tzinfo=UTC),  # 20:30 Almaty, 19:30 Oral
    datetime(2022, 6, 5, 15, 0, tzinfo=UTC),  # 20:00 Oral: closed everywhere
]
PRECINCTS = ["almaty_almaly", "almaty_bostandyk", "oral_precinct", "derkul_precinct"]
# Voter i lives at HOMES[i]: Almaty (UTC+6), Oral city and Derkul village (UTC+5).
HOMES = ["almaty_almaly", "oral_precinct", "derkul_precinct"]
# Where each voter says they will stay: AWAY[i] is another locality, HOME_LOCALITY[i] is not.
AWAY = ["oral", "almaty", "almaty"]
HOME_LOCALITY = ["almaty", "oral", "derkul"]
REFUSAL_CODES = [RefusalCode.OTHER, RefusalCode.IDENTITY_NOT_CONFIRMED, RefusalCode.NO_STOCK]
OPEN_DESK = DESK_TIMES[2]
OPEN_VOTING = VOTING_TIMES[3]


def mostly(usual: Any, *others: Any) -> st.SearchStrategy[Any]:
    """The usual value three times in four, so that long legal chains are common."""
    return st.sampled_from([usual, usual, usual, *others] if others else [usual])


voter_index = st.integers(0, len(HOMES) - 1)
pick = st.integers(0, 3)
# "advance" takes the voter's case one legal step further (apply, issue, present), so that long
# chains are common; the other operations are drawn with every kind of wrong argument.
OPERATIONS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "advance": st.tuples(st.just("advance"), voter_index, st.sampled_from(PRECINCTS)),
    "apply": st.tuples(
        st.just("apply"),
        voter_index,
        mostly("away", "home locality"),
        st.sampled_from(DESK_TIMES),
        st.sampled_from(["voter", "proxy", "bad proxy"]),
        mostly("home", "elsewhere"),
    ),
    "issue": st.tuples(st.just("issue"), voter_index, pick, st.sampled_from(DESK_TIMES)),
    "present": st.tuples(
        st.just("present"),
        voter_index,
        pick,
        st.sampled_from(PRECINCTS),
        st.sampled_from(VOTING_TIMES),
        st.sampled_from(["as printed", "wrong code", "mistyped", "unissued"]),
    ),
    "refuse": st.tuples(st.just("refuse"), voter_index, pick, st.sampled_from(REFUSAL_CODES)),
    "withdraw": st.tuples(st.just("withdraw"), voter_index, pick, mostly("changed plans", "")),
    "spoil": st.tuples(st.just("spoil"), voter_index, mostly(0, 1)),
    "lost": st.tuples(st.just("lost"), voter_index, mostly(0, 1)),
    "cancel": st.tuples(st.just("cancel"), voter_index, mostly(0, 1), st.sampled_from(DESK_TIMES)),
}
# One draw in three is "advance"; the rest are spread over the other operations.
operation = st.sampled_from(["advance"] * 4 + sorted(set(OPERATIONS) - {"advance"})).flatmap(
    OPERATIONS.__getitem__
)


@pytest.fixture
def fresh_session(database_url: str) -> Iterator[SessionFactory]:
    """Opens a session on the empty test database; all it wrote is rolled back on closing.

    The session joins an outer transaction and turns its own commits into savepoints, so each
    hypothesis example starts from the same empty, migrated database (on either backend).
    """
    engine = create_engine(database_url)

    @contextmanager
    def open_session() -> Iterator[Session]:
        with engine.connect() as connection:
            outer = connection.begin()
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            try:
                assert session.scalar(select(func.count()).select_from(Election)) == 0
                yield session
            finally:
                session.close()
                outer.rollback()

    yield open_session
    engine.dispose()


@dataclass
class Register:
    """What the test remembers between steps, to check what the database says."""

    world: World
    voters: list[VoterEntry]
    accepted: int = 0
    refused: int = 0
    serial_owner: dict[int, int] = field(default_factory=dict)
    spoilt: set[int] = field(default_factory=set)
    log: list[str] = field(default_factory=list)


# The tables a service call may change besides the audit trail (reference data never changes).
MUTABLE = [
    CertificateCase.__table__,
    Certificate.__table__,
    Inclusion.__table__,
    SupplementaryList.__table__,
    StockRange.__table__,
    VoterEntry.__table__,
]


def _snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table.name: [
            tuple(row)
            for row in session.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in MUTABLE
    }


def _audit_outcomes(session: Session) -> Counter[str]:
    rows = session.execute(
        select(AuditEvent.outcome, func.count())
        .where(AuditEvent.outcome.in_(["accepted", "refused"]))
        .group_by(AuditEvent.outcome)
    )
    return Counter({outcome: int(count) for outcome, count in rows})


def _cases_of(session: Session, register: Register, voter: int) -> list[CertificateCase]:
    iin = register.voters[voter].iin
    return list(
        session.scalars(
            select(CertificateCase)
            .where(CertificateCase.voter_iin == iin)
            .order_by(CertificateCase.id.desc())
        )
    )


def _case_id(session: Session, register: Register, voter: int, index: int) -> int | None:
    """Index 0 is the voter's live case when there is one; the others reach older cases."""
    cases = sorted(
        _cases_of(session, register, voter), key=lambda case: case.state not in LIVE_CASE_STATES
    )
    return cases[index % len(cases)].id if cases else None


def _certificate(
    session: Session, register: Register, voter: int, index: int
) -> Certificate | None:
    certificates = list(
        session.scalars(
            select(Certificate)
            .where(Certificate.voter_id == register.voters[voter].id)
            .order_by(Certificate.id.desc())
        )
    )
    return certificates[index % len(certificates)] if certificates else None


def _next_legal_step(session: Session, register: Register, op: tuple[Any, ...]) -> tuple[Any, ...]:
    """The operation that takes the voter's case one step further along the happy path."""
    _, voter, receiving = op
    live = [c for c in _cases_of(session, register, voter) if c.state in LIVE_CASE_STATES]
    if not live:
        return ("apply", voter, "away", OPEN_DESK, "voter", "home")
    if live[0].state is CaseState.RECEIVED:
        return ("issue", voter, 0, OPEN_DESK)
    return ("present", voter, 0, receiving, OPEN_VOTING, "as printed")


def _run(session: Session, register: Register, op: tuple[Any, ...]) -> tuple[bool, bool] | None:
    """Perform one operation; (accepted, was an apply) or None when there was nothing to act on."""
    if op[0] == "advance":
        op = _next_legal_step(session, register, op)
    register.log.append(repr(op))
    world = register.world
    admin = world.actor("admin")
    kind, voter = op[0], op[1]
    entry = register.voters[voter]
    if kind == "apply":
        _, _, stay_kind, now, applicant, where = op
        stay = AWAY[voter] if stay_kind == "away" else HOME_LOCALITY[voter]
        home = getattr(world, HOMES[voter])
        precinct = home if where == "home" else world.almaty_bostandyk
        proxy = None
        if applicant == "proxy":
            proxy = representative_for()
        elif applicant == "bad proxy":
            proxy = representative_for(power_of_attorney_date=date(2022, 12, 31))
        application = ApplicationInput(
            election_id=world.election.id,
            precinct_id=precinct.id,
            voter_iin=entry.iin,
            applicant_document="ID 1",
            stay_locality_id=getattr(world, stay).id,
            representative=proxy,
        )
        return apply_for_certificate(session, admin, application, now).accepted, True
    if kind == "present":
        _, _, index, where, now, how = op
        certificate = _certificate(session, register, voter, index)
        serial = 3999 if certificate is None or how == "unissued" else certificate.serial
        number = format_certificate_number(serial)
        if how == "mistyped":
            number = number[:-1] + str((int(number[-1]) + 1) % 10)
        code = "" if certificate is None else certificate.verification_code
        if how == "wrong code":
            code = "AAAAAAAA"
        outcome = present_certificate(
            session,
            admin,
            election_id=world.election.id,
            receiving_precinct_id=getattr(world, where).id,
            number_text=number,
            verification_code=code,
            now=now,
        )
        return outcome.accepted, False
    case_id = _case_id(session, register, voter, op[2])
    if case_id is None:
        return None
    if kind == "refuse":
        result = refuse_application(session, admin, case_id, op[3], "noted", OPEN_DESK)
    elif kind == "withdraw":
        result = withdraw_application(session, admin, case_id, op[3], OPEN_DESK)
    elif kind == "issue":
        result = issue_certificate(session, admin, case_id, op[3])
    elif kind == "spoil":
        result = spoil_certificate(session, admin, case_id, "torn", OPEN_DESK)
    elif kind == "lost":
        result = report_certificate_lost(session, admin, case_id, "lost", OPEN_DESK)
    else:
        result = cancel_certificate(session, admin, case_id, "back", op[3])
    return result.accepted, False


def _check_invariants(session: Session, register: Register) -> None:
    session.expire_all()
    world = register.world
    certificates = list(session.scalars(select(Certificate)))
    cases = list(session.scalars(select(CertificateCase)))

    # At most one live certificate and one live case per voter.
    live_certificates = Counter(
        c.voter_id for c in certificates if c.state in LIVE_CERTIFICATE_STATES
    )
    assert max(live_certificates.values(), default=0) <= 1, live_certificates
    live_cases = Counter(c.voter_id for c in cases if c.state in LIVE_CASE_STATES)
    assert max(live_cases.values(), default=0) <= 1, live_cases

    # No serial used twice; a serial, once on a form, stays on that form; spoilt stays spoilt.
    serials = [c.serial for c in certificates]
    assert len(serials) == len(set(serials))
    for certificate in certificates:
        owner = register.serial_owner.setdefault(certificate.serial, certificate.id)
        assert owner == certificate.id, f"serial {certificate.serial} reused"
        if certificate.state is CertificateState.SPOILT:
            register.spoilt.add(certificate.serial)
    assert register.spoilt <= set(register.serial_owner)
    by_serial = {c.serial: c for c in certificates}
    assert all(by_serial[s].state is CertificateState.SPOILT for s in register.spoilt)
    assert set(register.serial_owner) == set(serials), "a certificate disappeared"

    # Each number came from the issuing precinct's stock, below its cursor.
    ranges = list(session.scalars(select(StockRange)))
    for certificate in certificates:
        assert any(
            r.precinct_id == certificate.precinct_id
            and r.first_serial <= certificate.serial < r.next_serial
            for r in ranges
        ), certificate.serial

    # The home mark is the number of the certificate that keeps the voter from voting at home.
    for voter in register.voters:
        entry = session.get_one(VoterEntry, voter.id)
        marking = [
            c.serial
            for c in certificates
            if c.voter_id == voter.id
            and c.state in (CertificateState.ISSUED, CertificateState.LOST, CertificateState.USED)
        ]
        assert entry.mark_serial == (marking[0] if marking else None), (entry.mark_serial, marking)

    # A case and its certificate in hand agree.
    expected_certificate = {
        CaseState.ISSUED: CertificateState.ISSUED,
        CaseState.LOST: CertificateState.LOST,
        CaseState.CANCELLED: CertificateState.CANCELLED,
        CaseState.INCLUDED: CertificateState.USED,
        CaseState.RETURNED: CertificateState.RETURNED,
    }
    for case in cases:
        in_hand = [c.state for c in certificates if c.case_id == case.id]
        unspoilt = [s for s in in_hand if s is not CertificateState.SPOILT]
        if case.state in expected_certificate:
            assert unspoilt == [expected_certificate[case.state]], (case.state, in_hand)
        else:
            assert unspoilt == [], (case.state, in_hand)
        assert (case.refusal_code is not None) == (case.state is CaseState.REFUSED)

    # One inclusion per used certificate; lines run 1..n at each receiving precinct.
    inclusions = list(session.scalars(select(Inclusion)))
    used = {c.id for c in certificates if c.state is CertificateState.USED}
    assert {i.certificate_id for i in inclusions} == used
    assert len(inclusions) == len(used)
    lines: dict[int, list[int]] = {}
    for inclusion in inclusions:
        lines.setdefault(inclusion.precinct_id, []).append(inclusion.line_number)
    for numbers in lines.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))

    # Every accepted transition left one accepted event; every refusal one refused event.
    outcomes = _audit_outcomes(session)
    assert outcomes["accepted"] == register.accepted
    assert outcomes["refused"] == register.refused

    # received = issued + spoilt + unused, per precinct and for the election.
    precinct_ids = [getattr(world, name).id for name in PRECINCTS]
    for precinct_id in precinct_ids:
        assert reconcile(session, world.election.id, [precinct_id]).balanced
    total = reconcile(session, world.election.id)
    assert total.balanced
    assert total.issued + total.spoilt == len(certificates)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=4, max_size=30))
def test_random_desk_and_voting_day_sequences_keep_the_invariants(
    fresh_session: SessionFactory, operations: list[tuple[Any, ...]]
) -> None:
    with fresh_session() as session:
        world = make_world(session, stock=3)
        voters = [make_voter(session, world, getattr(world, home)) for home in HOMES]
        session.commit()
        register = Register(world, voters)
        _check_invariants(session, register)
        for op in operations:
            before = _snapshot(session)
            events_before = _audit_outcomes(session)
            result = _run(session, register, op)
            session.commit()
            if result is None:
                continue
            accepted, applied = result
            register.log.append("accepted" if accepted else "refused")
            if accepted:
                register.accepted += 1
            else:
                register.refused += 1
            delta = _audit_outcomes(session) - events_before
            assert delta == Counter({"accepted" if accepted else "refused": 1}), register.log
            if not accepted:
                after = _snapshot(session)
                if applied:
                    # A refused application is recorded: one new refused case, nothing else.
                    cases = before["certificate_case"]
                    new = [row for row in after["certificate_case"] if row not in cases]
                    assert len(new) == 1
                    after["certificate_case"] = before["certificate_case"]
                assert after == before, register.log
            _check_invariants(session, register)


def test_invariant_checker_notices_a_home_mark_lifted_behind_its_back(
    fresh_session: SessionFactory,
) -> None:
    """Negative control: the checker fails when a voter's home mark and certificate disagree."""
    with fresh_session() as session:
        world = make_world(session, stock=3)
        voters = [make_voter(session, world, getattr(world, home)) for home in HOMES]
        session.commit()
        register = Register(world, voters)
        admin = world.actor("admin")
        application = ApplicationInput(
            election_id=world.election.id,
            precinct_id=world.almaty_almaly.id,
            voter_iin=voters[0].iin,
            applicant_document="ID 1",
            stay_locality_id=world.oral.id,
        )
        case = apply_for_certificate(session, admin, application, OPEN_DESK).case
        issue_certificate(session, admin, case.id, OPEN_DESK)
        session.commit()
        register.accepted = 2
        _check_invariants(session, register)
        # Lift the mark behind the services' back: the voter could now vote twice.
        session.execute(
            VoterEntry.__table__.update()
            .where(VoterEntry.id == voters[0].id)
            .values(mark_serial=None, marked_at=None)
        )
        session.commit()

        with pytest.raises(AssertionError):
            _check_invariants(session, register)
