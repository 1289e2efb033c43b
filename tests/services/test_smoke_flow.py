"""A first end-to-end walk through the services, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.voting_day import present_certificate
from tests.factories import make_voter, make_world
from workflow.numbers import format_certificate_number
from workflow.states import CaseState, CertificateState


def test_apply_issue_and_include_elsewhere(session: Session) -> None:
    world = make_world(session)
    voter = make_voter(session, world, world.almaty_almaly)
    session.commit()
    clerk = world.actor("clerk_almaly")
    now = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
    outcome = apply_for_certificate(
        session,
        clerk,
        ApplicationInput(
            election_id=world.election.id,
            precinct_id=world.almaty_almaly.id,
            voter_iin=voter.iin,
            applicant_document="ID 012345678",
            stay_locality_id=world.oral.id,
        ),
        now,
    )
    session.commit()
    assert outcome.accepted, outcome.refusal
    assert outcome.case.state is CaseState.RECEIVED
    # The case's times are the server clock's (here 2022), not the machine's wall clock.
    assert outcome.case.created_at == now
    assert outcome.case.updated_at == now
    later = now + timedelta(minutes=5)
    issued = issue_certificate(session, clerk, outcome.case.id, later)
    session.commit()
    assert issued.accepted
    assert issued.case.updated_at == later
    assert issued.certificate is not None
    session.refresh(voter)
    assert voter.mark_serial == issued.certificate.serial
    voting = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)  # 09:00 in Oral
    presented = present_certificate(
        session,
        world.actor("checkin_oral"),
        election_id=world.election.id,
        receiving_precinct_id=world.oral_precinct.id,
        number_text=format_certificate_number(issued.certificate.serial),
        verification_code=issued.certificate.verification_code,
        now=voting,
    )
    session.commit()
    assert presented.accepted, presented.refusal
    assert presented.inclusion is not None
    assert presented.inclusion.line_number == 1
    assert presented.certificate is not None
    assert presented.certificate.state is CertificateState.USED
    again = present_certificate(
        session,
        world.actor("checkin_oral"),
        election_id=world.election.id,
        receiving_precinct_id=world.oral_precinct.id,
        number_text=format_certificate_number(issued.certificate.serial),
        verification_code=issued.certificate.verification_code,
        now=voting,
    )
    session.commit()
    assert again.refusal is not None
    assert again.refusal.code == "already_used"
