"""The desk's Core write path (services.cases): what the ORM used to guarantee, held here.

Apply inserts the case with `ON CONFLICT DO NOTHING` and no target, and issue writes the case,
the certificate and the audit events as Core statements, then hands the rows to the session as
if just loaded. These tests pin what that relies on and what the callers still see.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import services.cases
from models import AuditEvent, Certificate, CertificateCase, db
from services.cases import apply_for_certificate, issue_certificate, spoil_certificate
from tests.factories import make_voter, make_world
from tests.services.support import IN_WINDOW, application_for, apply, issue
from tests.services.test_statement_counts import counted
from workflow.errors import RefusalCode
from workflow.states import CaseState, CertificateState


def test_the_live_voter_index_is_the_case_tables_only_unique_index(session: Session) -> None:
    """`ON CONFLICT DO NOTHING` with no target takes any unique violation for a lost race: that
    is right only while no other unique index or constraint guards the table."""
    inspector = inspect(session.connection())
    unique_indexes = {
        index["name"]
        for index in inspector.get_indexes("certificate_case")
        if index["unique"] and index["name"] is not None
    }
    unique_constraints = {
        constraint["name"] for constraint in inspector.get_unique_constraints("certificate_case")
    }
    assert unique_indexes == {"uq_certificate_case_live_voter"}
    assert unique_constraints <= {None, "uq_certificate_case_live_voter"}


def test_an_apply_that_meets_a_live_case_it_did_not_see_is_refused_not_an_error(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index decides: the courtesy check said "no live case", the insert met one."""
    world = make_world(session)
    voter = make_voter(session, world, world.almaty_almaly)
    first = apply(session, world, voter)
    assert first.accepted
    read = services.cases._read_application

    def read_missing_the_live_case(*args: Any) -> services.cases.ApplicationReads:
        return replace(read(*args), has_live_case=False)

    monkeypatch.setattr(services.cases, "_read_application", read_missing_the_live_case)

    second = apply(session, world, voter)

    assert second.refusal is not None
    assert second.refusal.code is RefusalCode.ALREADY_ISSUED
    assert second.case.state is CaseState.REFUSED
    states = session.scalars(
        select(CertificateCase._state).where(CertificateCase.voter_iin == voter.iin)
    ).all()
    assert sorted(states) == sorted([CaseState.RECEIVED, CaseState.REFUSED])
    # One event per case: the attempt that met the index left no trace of its own.
    events = session.scalars(select(AuditEvent.outcome).where(AuditEvent.event == "apply")).all()
    assert sorted(events) == ["accepted", "refused"]


def test_an_applied_case_reads_its_columns_and_relations_without_a_query(
    session: Session,
) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.almaty_almaly)
    session.commit()
    clerk = world.actor("clerk_almaly")

    outcome = apply_for_certificate(session, clerk, application_for(world, voter), IN_WINDOW)
    case = outcome.case
    with counted() as sent:
        columns = {attr.key: getattr(case, attr.key) for attr in inspect(case).mapper.column_attrs}
        related = (case.precinct, case.election, case.voter)

    assert sent == []
    assert columns["id"] is not None
    assert columns["version"] == 1
    assert columns["_state"] is CaseState.RECEIVED
    assert columns["created_at"] == IN_WINDOW == columns["updated_at"]
    assert related == (world.almaty_almaly, world.election, voter)
    assert case in session
    assert not session.dirty
    assert not session.new
    session.commit()
    stored = session.execute(
        select(CertificateCase._state, CertificateCase.version, CertificateCase.voter_id).where(
            CertificateCase.id == case.id
        )
    ).one()
    assert tuple(stored) == (CaseState.RECEIVED, 1, voter.id)


def test_an_issued_case_and_certificate_are_as_the_database_holds_them(
    session: Session,
) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.almaty_almaly)
    case_id = apply(session, world, voter).case.id

    outcome = issue_certificate(session, world.actor("clerk_almaly"), case_id, IN_WINDOW)

    certificate = outcome.certificate
    assert certificate is not None
    assert not session.dirty
    assert not session.new
    with counted() as sent:
        seen = (outcome.case.state, outcome.case.version, certificate.state, certificate.serial)
    assert sent == []
    session.commit()
    session.expire_all()
    stored_case = session.get_one(CertificateCase, case_id)
    stored = session.get_one(Certificate, certificate.id)
    assert seen == (stored_case.state, stored_case.version, stored.state, stored.serial)
    assert seen[:3] == (CaseState.ISSUED, 2, CertificateState.ISSUED)
    assert stored_case.voter is not None
    assert stored_case.voter.mark_serial == stored.serial
    issue_event = session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.event == "issue")
    ).one()
    assert issue_event.certificate_id == stored.id
    assert issue_event.payload["serial"] == stored.serial


def test_a_reissue_in_the_same_session_shows_both_forms_on_the_case(session: Session) -> None:
    """A case whose forms are loaded (spoil reads them) gains the new one without a reload."""
    world = make_world(session)
    voter = make_voter(session, world, world.almaty_almaly)
    case_id = apply(session, world, voter).case.id
    first = issue(session, world, case_id).certificate
    assert first is not None
    clerk = world.actor("clerk_almaly")
    spoilt = spoil_certificate(session, clerk, case_id, "torn while printing", IN_WINDOW)
    assert spoilt.accepted

    again = issue_certificate(session, clerk, case_id, IN_WINDOW)

    assert again.certificate is not None
    assert [form.id for form in again.case.certificates] == [first.id, again.certificate.id]
    assert again.case.live_certificate is again.certificate
    session.commit()
    count = session.scalar(select(func.count()).where(Certificate.case_id == case_id))
    assert count == 2


def test_a_refused_issue_changes_no_row_but_leaves_its_event(session: Session) -> None:
    world = make_world(session, stock=1)
    first, voter = (make_voter(session, world, world.almaty_almaly) for _ in range(2))
    assert issue(session, world, apply(session, world, first).case.id).accepted
    case_id = apply(session, world, voter).case.id

    outcome = issue(session, world, case_id)

    assert outcome.refusal is not None
    assert outcome.refusal.code is RefusalCode.NO_STOCK
    session.expire_all()
    case = session.get_one(CertificateCase, case_id)
    assert (case.state, case.version) == (CaseState.RECEIVED, 1)
    refused = session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.case_id == case_id, AuditEvent.event == "issue")
    ).all()
    assert refused == ["refused"]


@pytest.mark.parametrize("lock_voter", [True, False])
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_one_read_of_an_application_locks_the_voters_row(
    session: Session, monkeypatch: pytest.MonkeyPatch, lock_voter: bool
) -> None:
    """The voter's lock sits in a CTE of the application's one SELECT: another transaction
    cannot take the row until the application ends. The unlocked statement (what the race
    tests' negative controls use) is the control: then the row is free."""
    world = make_world(session)
    voter = make_voter(session, world, world.almaty_almaly)
    session.commit()
    monkeypatch.setattr(
        services.cases, "_APPLICATION_READ", services.cases.application_read(lock_voter=lock_voter)
    )
    outcome = apply_for_certificate(
        session, world.actor("clerk_almaly"), application_for(world, voter), IN_WINDOW
    )
    assert outcome.accepted
    with db.engine.connect() as other:
        # What a re-listing's UPDATE of the row takes; the case's foreign key holds only KEY SHARE.
        grab = text("SELECT id FROM voter_entry WHERE id = :id FOR NO KEY UPDATE NOWAIT")
        if lock_voter:
            with pytest.raises(OperationalError) as refused:
                other.execute(grab, {"id": voter.id})
            assert getattr(refused.value.orig, "sqlstate", None) == "55P03"  # lock_not_available
        else:
            assert other.execute(grab, {"id": voter.id}).scalar_one() == voter.id
        other.rollback()
    session.rollback()
