"""Voting day: a certificate presented at a precinct is included there, or returned at home."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from models import (
    AuditEvent,
    Certificate,
    CertificateCase,
    Election,
    Inclusion,
    Precinct,
    SupplementaryList,
)
from models.base import table_of
from seal import CertificatePayload
from services.audit import Actor, TransitionAuditor, record_event
from services.cases import close_certificate, lift_home_mark
from services.errors import NotFound
from services.scope import VOTING_DAY_ROLES, acting_precinct
from services.sealing import ElectionSeal, payload_matches
from workflow.calendar import Moment
from workflow.errors import RefusalCode, RuleViolation
from workflow.machine import CaseMachine, PresentationContext, Transition
from workflow.numbers import (
    CertificateNumber,
    format_certificate_number,
    parse_certificate_number,
)
from workflow.rules import PrecinctRef, check_certificate_authentic
from workflow.states import CERTIFICATE_TARGETS, CaseState, Event


@dataclass(frozen=True, slots=True)
class PresentationOutcome:
    """The answer at the check-in desk: included (with a line), returned home, or refused."""

    refusal: RuleViolation | None
    certificate: Certificate | None = None
    case: CertificateCase | None = None
    transition: Transition | None = None
    inclusion: Inclusion | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


def present_certificate(
    session: Session,
    actor: Actor,
    *,
    election_id: int,
    receiving_precinct_id: int,
    number_text: str,
    verification_code: str | None,
    now: datetime,
    sealed: tuple[ElectionSeal, CertificatePayload] | None = None,
    confirm: bool = True,
) -> PresentationOutcome:
    """Check a certificate in at the receiving precinct, exactly once in the whole country.

    The number and code (or a verified QR seal, `sealed`) establish the certificate; the machine
    decides; then one conditional UPDATE takes the certificate and the unique inclusion row is
    written in the same transaction. With `confirm=False` it only looks: staff see who the
    holder is before they confirm; a refusal is recorded all the same, an acceptance changes
    nothing.
    """
    receiving = acting_precinct(session, actor, receiving_precinct_id, VOTING_DAY_ROLES)
    election = session.get(Election, election_id)
    if election is None or receiving.election_id != election.id:
        raise NotFound("election")
    moment = Moment(now, receiving.time_zone)

    def refuse(
        violation: RuleViolation, certificate: Certificate | None = None
    ) -> PresentationOutcome:
        record_event(
            session,
            actor=actor,
            moment=moment,
            event=str(Event.INCLUDE),
            outcome="refused",
            precinct_id=receiving.id,
            election_id=election_id,
            case=None if certificate is None else certificate.case,
            certificate_id=None if certificate is None else certificate.id,
            code=str(violation.code),
            payload=_presented_payload(number_text),
        )
        session.flush()
        return PresentationOutcome(violation, certificate)

    try:
        if sealed is not None:
            serial = sealed[1].serial
        else:
            serial = number_of_election(session, election, parse_certificate_number(number_text))
    except RuleViolation as violation:
        return refuse(violation)
    by_number = (Certificate.election_id == election_id, Certificate.serial == serial)
    # With its holder and home precinct, which every answer shows.
    shown = (joinedload(Certificate.voter), joinedload(Certificate.precinct))
    if confirm:
        # To take it in, lock the case first: a second desk presenting the same certificate
        # waits here, then reads the certificate as that desk left it (no read to refresh
        # after the lock). One joined, locking read would not do: after the wait PostgreSQL
        # re-reads only the locked row, and the certificate's state would be the old one.
        case = session.scalar(
            select(CertificateCase)
            .where(
                CertificateCase.id
                == select(Certificate.case_id).where(*by_number).scalar_subquery()
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        certificate = session.scalar(
            select(Certificate)
            .where(*by_number)
            .options(*shown)
            .execution_options(populate_existing=True)
        )
    else:
        # A look takes no lock (it changes nothing, and a row lock would make its commit wait
        # for a WAL flush on PostgreSQL), so the case comes in the certificate's statement.
        certificate = session.scalar(
            select(Certificate)
            .where(*by_number)
            .options(*shown, joinedload(Certificate.case))
            .execution_options(populate_existing=True)
        )
        case = None if certificate is None else certificate.case
    if certificate is None:
        return refuse(RuleViolation(RefusalCode.NOT_FOUND, "No certificate has this number."))
    if sealed is not None:
        if not payload_matches(sealed[0], sealed[1], certificate):
            return refuse(
                RuleViolation(RefusalCode.FORGED, "The QR code disagrees with the record."),
                certificate,
            )
    else:
        try:
            check_certificate_authentic(certificate.verification_code, verification_code or "")
        except RuleViolation as violation:
            return refuse(violation, certificate)
    if case is None:
        raise NotFound("case")
    home: Precinct = case.precinct
    auditor = TransitionAuditor(
        session, actor, case, election_id, receiving.id, {"serial": serial}, certificate.id
    )
    ctx = PresentationContext(
        moment=moment,
        rules=election.rules(),
        certificate_state=certificate.state,
        home=PrecinctRef(home.id, home.locality.kato, str(home.number)),
        receiving=PrecinctRef(receiving.id, receiving.locality.kato, str(receiving.number)),
    )
    if not confirm:
        probe = _StateProbe(case.state)
        transition = CaseMachine(probe, [_refusals_only(auditor)]).present(ctx)
        session.flush()
        _alert_if_repeated(
            session, actor, moment, receiving.id, election_id, certificate, transition
        )
        return PresentationOutcome(transition.refusal, certificate, case, transition)
    transition = CaseMachine(case, [auditor]).present(ctx)
    if transition.refusal is not None:
        session.flush()
        _alert_if_repeated(
            session, actor, moment, receiving.id, election_id, certificate, transition
        )
        return PresentationOutcome(transition.refusal, certificate, case, transition)
    session.flush()
    close_certificate(session, certificate, CERTIFICATE_TARGETS[transition.event], now)
    inclusion = None
    if transition.event is Event.INCLUDE:
        inclusion = Inclusion(
            election_id=election_id,
            certificate_id=certificate.id,
            precinct_id=receiving.id,
            line_number=_next_line(session, election_id, receiving.id),
            included_at=now,
            included_by_id=actor.user_id,
        )
        session.add(inclusion)
    else:
        # Back home: the certificate is surrendered and the voter votes on the original entry.
        lift_home_mark(session, certificate.voter_id, certificate.serial)
    session.flush()
    return PresentationOutcome(None, certificate, case, transition, inclusion)


def number_of_election(session: Session, election: Election, number: CertificateNumber) -> int:
    """The serial of a number typed at a desk of `election`; RuleViolation when the number is
    another election's (`wrong_election`, naming it), or lacks this election's series."""
    if number.series == election.number_series:
        return number.serial
    other = session.scalar(
        select(Election)
        .where(
            Election.number_series.is_(None)
            if number.series is None
            else Election.number_series == number.series
        )
        .order_by(Election.id)
        .limit(1)
    )
    if other is None:
        if number.series is None:
            raise RuleViolation(
                RefusalCode.MISTYPED_NUMBER,
                "This election's numbers begin with their series: type the whole number.",
                {"series": election.number_series or ""},
            )
        raise RuleViolation(RefusalCode.NOT_FOUND, "No election has this number's series.")
    raise RuleViolation(
        RefusalCode.WRONG_ELECTION,
        "This certificate is for another election.",
        {"election_code": other.code, "election_id": str(other.id)},
    )


def record_unreadable_seal(
    session: Session,
    actor: Actor,
    *,
    election_id: int,
    precinct: Precinct,
    violation: RuleViolation,
    now: datetime,
) -> None:
    """A QR text that is forged or unreadable: refused at this desk like any other presentation."""
    record_event(
        session,
        actor=actor,
        moment=Moment(now, precinct.time_zone),
        event=str(Event.INCLUDE),
        outcome="refused",
        precinct_id=precinct.id,
        election_id=election_id,
        code=str(violation.code),
        payload={"input": "seal"},
    )
    session.flush()


def _presented_payload(number_text: str) -> dict[str, object]:
    """What was typed, safely: a number as the canonical form, anything else only by length
    (staff sometimes type an IIN into the number field, and an IIN never goes into the trail).
    """
    try:
        number = parse_certificate_number(number_text)
        return {"number": format_certificate_number(number.serial, number.series)}
    except (RuleViolation, ValueError):
        return {"typed_length": len(number_text.strip())}


def _alert_if_repeated(
    session: Session,
    actor: Actor,
    moment: Moment,
    precinct_id: int,
    election_id: int,
    certificate: Certificate,
    transition: Transition,
) -> None:
    """A used or void certificate presented more than once: alert the territorial commission.

    Runs after the refusal's own audit event is flushed, so the count includes it.
    """
    refusal = transition.refusal
    if refusal is None or refusal.code not in (RefusalCode.ALREADY_USED, RefusalCode.VOID):
        return
    attempts = session.scalar(
        select(func.count()).where(
            AuditEvent.certificate_id == certificate.id,
            AuditEvent.event == str(Event.INCLUDE),
            AuditEvent.outcome == "refused",
            AuditEvent.code.in_([str(RefusalCode.ALREADY_USED), str(RefusalCode.VOID)]),
        )
    )
    if attempts and attempts >= 2:
        record_event(
            session,
            actor=actor,
            moment=moment,
            event="alert_repeated_use",
            outcome="alert",
            precinct_id=precinct_id,
            election_id=election_id,
            certificate_id=certificate.id,
            payload={"refused_attempts": int(attempts), "serial": certificate.serial},
        )
        session.flush()


class _StateProbe:
    """A stand-in case for looking before acting: the machine moves it, not the row."""

    def __init__(self, state: CaseState) -> None:
        self._state: CaseState | None = state


def _refusals_only(auditor: TransitionAuditor) -> Callable[[Transition], None]:
    def listener(transition: Transition) -> None:
        if transition.refusal is not None:
            auditor(transition)

    return listener


def _next_line(session: Session, election_id: int, precinct_id: int) -> int:
    """Next line of the precinct's supplementary list: one atomic upsert, no gaps or repeats."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(SupplementaryList)
    statement = (
        upsert(table)
        .values(election_id=election_id, precinct_id=precinct_id, last_line=1)
        .on_conflict_do_update(
            index_elements=["election_id", "precinct_id"],
            set_={"last_line": table.c.last_line + 1},
        )
        .returning(table.c.last_line)
    )
    # Core on the session's connection: no ORM bulk-insert machinery for one counter.
    return int(session.connection().execute(statement).scalar_one())
