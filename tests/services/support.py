"""Helpers shared by the service tests: instants of 2022, one-line service calls, DB snapshots."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Base, Certificate, CertificateCase, Precinct, VoterEntry
from services.cases import (
    ApplicationInput,
    CaseOutcome,
    apply_for_certificate,
    issue_certificate,
)
from services.voting_day import PresentationOutcome, present_certificate
from tests.factories import World, make_iin
from workflow.numbers import format_certificate_number
from workflow.rules import Representative

# 12:00 in Almaty, 11:00 in Oral on 25 May 2022: inside the issue window everywhere.
IN_WINDOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
# 11:00 in Almaty, 10:00 in Oral on 4 June 2022: before the deadline everywhere.
DEADLINE_DAY_MORNING = datetime(2022, 6, 4, 5, 0, tzinfo=UTC)
# 12:00 in Almaty, 11:00 in Oral on voting day, 5 June 2022: voting hours everywhere.
VOTING = datetime(2022, 6, 5, 6, 0, tzinfo=UTC)

# Every precinct's desk user in make_world: who acts at the desk, who checks in on voting day.
CLERK_OF = {
    "almaty_almaly": "clerk_almaly",
    "almaty_bostandyk": "clerk_bostandyk",
    "oral_precinct": "clerk_oral",
}


def representative_for(**changes: Any) -> Representative:
    """A valid proxy for the voter, with a power of attorney dated before the window."""
    values: dict[str, Any] = {
        "iin": make_iin(date(1985, 3, 3), male=False),
        "full_name": "Сәуле Қайратқызы Омарова",
        "identity_document": "ID 045678901",
        "power_of_attorney_number": "POA-2022/117",
        "power_of_attorney_date": date(2022, 5, 18),
    }
    values.update(changes)
    return Representative(**values)


def application_for(
    world: World,
    voter: VoterEntry,
    *,
    precinct: Precinct | None = None,
    stay_locality_id: int | None = None,
    representative: Representative | None = None,
    voter_iin: str | None = None,
) -> ApplicationInput:
    """An application at the voter's home precinct to stay in Oral (or Almaty for Oral voters)."""
    home = precinct or voter.precinct
    if stay_locality_id is None:
        stay_locality_id = world.almaty.id if home.locality_id != world.almaty.id else world.oral.id
    return ApplicationInput(
        election_id=world.election.id,
        precinct_id=home.id,
        voter_iin=voter.iin if voter_iin is None else voter_iin,
        applicant_document="ID 012345678",
        stay_locality_id=stay_locality_id,
        representative=representative,
    )


def home_clerk(world: World, voter: VoterEntry) -> str:
    """The name of the clerk user at the voter's home precinct."""
    for attribute, user in CLERK_OF.items():
        if getattr(world, attribute).id == voter.precinct_id:
            return user
    raise LookupError("make_world has no clerk at this precinct: use 'admin'")


def apply(
    session: Session,
    world: World,
    voter: VoterEntry,
    now: datetime = IN_WINDOW,
    *,
    actor: str | None = None,
    **application: Any,
) -> CaseOutcome:
    """Apply at the voter's home precinct and commit, like a view would."""
    outcome = apply_for_certificate(
        session,
        world.actor(actor or home_clerk(world, voter)),
        application_for(world, voter, **application),
        now,
    )
    session.commit()
    return outcome


def issue(
    session: Session, world: World, case_id: int, now: datetime = IN_WINDOW, actor: str = "admin"
) -> CaseOutcome:
    outcome = issue_certificate(session, world.actor(actor), case_id, now)
    session.commit()
    return outcome


def issued(
    session: Session, world: World, voter: VoterEntry, now: datetime = IN_WINDOW, **application: Any
) -> tuple[int, int, str]:
    """Apply and issue; returns (case id, serial, verification code)."""
    applied = apply(session, world, voter, now, **application)
    assert applied.accepted, applied.refusal
    outcome = issue(session, world, applied.case.id, now)
    assert outcome.accepted, outcome.refusal
    assert outcome.certificate is not None
    return applied.case.id, outcome.certificate.serial, outcome.certificate.verification_code


def present(
    session: Session,
    world: World,
    serial: int | str,
    code: str | None,
    precinct: Precinct,
    now: datetime = VOTING,
    actor: str = "admin",
) -> PresentationOutcome:
    """Present a certificate (by serial, or by the text typed at the desk) and commit."""
    number = format_certificate_number(serial) if isinstance(serial, int) else serial
    outcome = present_certificate(
        session,
        world.actor(actor),
        election_id=world.election.id,
        receiving_precinct_id=precinct.id,
        number_text=number,
        verification_code=code,
        now=now,
    )
    session.commit()
    return outcome


def audit_events(session: Session, **where: Any) -> list[AuditEvent]:
    """Audit events filtered by column values, oldest first."""
    statement = select(AuditEvent).order_by(AuditEvent.id)
    for column, value in where.items():
        statement = statement.where(getattr(AuditEvent, column) == value)
    return list(session.scalars(statement))


# Outcomes of a decision on a request; other events (alerts, stock received) are not decisions.
DECISIONS = ("accepted", "refused")


def decision_count(session: Session) -> int:
    """Audit events that record an accepted or refused request."""
    return int(
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.outcome.in_(DECISIONS))
        )
        or 0
    )


def last_decision(session: Session) -> AuditEvent:
    event = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.outcome.in_(DECISIONS))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    assert event is not None
    return event


def tables_snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit trail, read straight from the database."""
    session.expire_all()
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name == "audit_event":
            continue
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
        snapshot[table.name] = [tuple(row) for row in rows]
    return snapshot


def payload_texts(session: Session) -> list[str]:
    """Each audit payload as JSON text, the way a log shipper or an export would see it."""
    return [json.dumps(payload, ensure_ascii=False) for payload in _payloads(session)]


def _payloads(session: Session) -> list[dict[str, Any]]:
    return list(session.scalars(select(AuditEvent.payload).order_by(AuditEvent.id)))


def certificate_by_serial(session: Session, world: World, serial: int) -> Certificate:
    certificate = session.scalar(
        select(Certificate).where(
            Certificate.election_id == world.election.id, Certificate.serial == serial
        )
    )
    assert certificate is not None
    return certificate


def case_by_id(session: Session, case_id: int) -> CertificateCase:
    return session.get_one(CertificateCase, case_id)
