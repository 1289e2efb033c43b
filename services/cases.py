"""The certificate desk: apply, refuse, withdraw, issue, spoil, report lost, cancel.

Each function is one user intention and one transaction: it loads what it needs, runs the case
machine, writes the dependent rows and the audit event, and flushes. The caller commits, also
after a refusal, because a refusal is an outcome with its own audit record.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import Select, bindparam, exists, func, insert, select, true, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import (
    Session,
    defaultload,
    joinedload,
    lazyload,
    make_transient_to_detached,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from models import (
    AuditEvent,
    Certificate,
    CertificateCase,
    Election,
    Locality,
    Precinct,
    VoterEntry,
)
from models.base import Base, table_of
from services.audit import Actor, PendingAudit, TransitionAuditor, safe_iin
from services.errors import InvalidInput, NotFound
from services.scope import DESK_ROLES, acting_precinct, can_act_at
from services.stock import allocate_serial, free_stock_exists
from workflow.calendar import Moment
from workflow.errors import RefusalCode, RuleViolation
from workflow.machine import (
    ApplyContext,
    CaseMachine,
    IssueContext,
    ReasonContext,
    RefuseContext,
    SurrenderContext,
    Transition,
)
from workflow.rules import Representative
from workflow.states import (
    CERTIFICATE_TARGETS,
    LIVE_CASE_STATES,
    ApplicantKind,
    CaseState,
    CertificateState,
    Event,
)

# Unambiguous when read aloud or typed from paper: no 0/O, 1/I, 2/Z, 5/S, 8/B.
VERIFICATION_ALPHABET = "ACDEFHJKLMNPRTUVWXY34679"
VERIFICATION_LENGTH = 8


class ConcurrentChange(RuntimeError):
    """Another transaction changed the same rows first; roll back and let the user retry."""


@dataclass(frozen=True, slots=True)
class ApplicationInput:
    """An application as taken at the desk (forms and the API build this)."""

    election_id: int
    precinct_id: int
    voter_iin: str
    applicant_document: str
    stay_locality_id: int
    representative: Representative | None = None


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """What an intention did: the case, the transition (maybe refused), the certificate if any."""

    case: CertificateCase
    transition: Transition
    certificate: Certificate | None = None

    @property
    def refusal(self) -> RuleViolation | None:
        return self.transition.refusal

    @property
    def accepted(self) -> bool:
        return self.transition.refusal is None


def new_verification_code() -> str:
    """The code printed beside the number; a forger who knows a number still lacks it."""
    return "".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(VERIFICATION_LENGTH))


def apply_for_certificate(
    session: Session, actor: Actor, application: ApplicationInput, now: datetime
) -> CaseOutcome:
    """Receive an application in person or by representative; a refusal is recorded as a case."""
    reads = _read_application(session, actor, application)
    precinct, election, stay, voter = reads.precinct, reads.election, reads.stay, reads.voter
    on_this_list = voter is not None and voter.precinct_id == precinct.id
    representative = application.representative
    ctx = ApplyContext(
        moment=Moment(now, precinct.time_zone),
        rules=election.rules(),
        voter_iin=application.voter_iin,
        on_this_list=on_this_list,
        has_live_case=on_this_list and reads.has_live_case,
        home_locality_kato=precinct.locality.kato,
        stay_locality_kato=stay.kato,
        representative=representative,
        representative_prior_count=(
            0
            if representative is None
            else _representative_count(session, election.id, representative.iin)
        ),
    )
    # Check-then-insert is only a courtesy: the partial unique index decides under a race, and
    # the loser is recorded as refused (already_issued) rather than failing.
    for _attempt in range(2):
        case = _new_case(application, precinct, election, stay, voter, on_this_list, actor)
        audit = PendingAudit(actor, election.id, precinct.id, _case_payload(application))
        transition = CaseMachine(case, [audit]).apply(ctx)
        if transition.refusal is not None:
            case.refusal_code = str(transition.refusal.code)
            case.refusal_note = transition.refusal.message
        case.created_at = case.updated_at = transition.moment.now
        case_id = _insert_case(session, case)
        if case_id is not None:
            audit.write(session, case_id)
            _adopt(session, case, case_id)
            return CaseOutcome(case, transition)
        # Another clerk's live case for this voter was inserted first: this one is refused.
        ctx = replace(ctx, has_live_case=True)
    raise AssertionError("a refused application cannot meet the live-voter index")


def _insert_case(session: Session, case: CertificateCase) -> int | None:
    """Insert the new case's row; None when the live-voter index turned it away.

    ON CONFLICT DO NOTHING, with no target: the only unique index of the table besides its key
    is the live-voter one (tests/services/test_apply_insert.py holds the schema to that), and
    with no target a schema without the index (the race tests' negative control) still inserts.
    """
    statement = _INSERT_CASE[session.get_bind().dialect.name == "sqlite"]
    values = _column_values(case)
    return session.connection().execute(statement, values).scalar_one_or_none()


def _column_values(instance: Base) -> dict[str, Any]:
    """A new row's columns as Core takes them, read from the mapped attributes (`_state` is
    the `state` column); the key is left to the database."""
    mapper = sa_inspect(type(instance))
    return {
        prop.columns[0].name: getattr(instance, prop.key)
        for prop in mapper.column_attrs
        if not prop.columns[0].primary_key
    }


def _adopt(session: Session, instance: Base, row_id: int) -> None:
    """Make a row inserted through Core the session's persistent object, as if just loaded: no
    flush will write it again, and its columns are read without a query."""
    instance.id = row_id  # type: ignore[attr-defined]
    make_transient_to_detached(instance)
    session.add(instance)


@dataclass(frozen=True, slots=True)
class ListedVoter:
    """What an application needs of the voter's list entry: which it is, and where."""

    id: int
    precinct_id: int


@dataclass(frozen=True, slots=True)
class ApplicationReads:
    """Everything an application is decided on, read in one statement."""

    precinct: Precinct
    election: Election
    stay: Locality
    voter: ListedVoter | None
    has_live_case: bool


def _read_application(
    session: Session, actor: Actor, application: ApplicationInput
) -> ApplicationReads:
    """The acting precinct, the election, the place of stay, the voter's list entry (locked) and
    whether the voter has a live case: one round trip when all is well.

    The lock makes a re-listing of this voter (services.voters) wait for the application, or the
    application see where the voter was moved to. Applications for one voter queue on it too;
    the live-case answer is read on the statement's snapshot, so one that waited may not see the
    case of the one it waited for: then the live-voter index turns its insert away (above).
    """
    if can_act_at(actor, application.precinct_id, DESK_ROLES):
        row = session.execute(
            _APPLICATION_READ,
            {
                "precinct_id": application.precinct_id,
                "election_id": application.election_id,
                "stay_locality_id": application.stay_locality_id,
                "iin": application.voter_iin,
            },
        ).one_or_none()
        if row is not None:
            voter = None if row.voter_id is None else ListedVoter(row.voter_id, row.voter_home)
            return ApplicationReads(row[0], row[1], row[2], voter, bool(row.has_live_case))
    _explain_unreadable(session, actor, application)


def _explain_unreadable(session: Session, actor: Actor, application: ApplicationInput) -> NoReturn:
    """Something is absent, out of scope or of another election: say what, as the right error."""
    precinct = acting_precinct(session, actor, application.precinct_id, DESK_ROLES)
    election = session.get(Election, application.election_id)
    if election is None or precinct.election_id != election.id:
        raise NotFound("election")
    stay = session.get(Locality, application.stay_locality_id)
    if stay is None or stay.election_id != election.id:
        raise InvalidInput("stay_locality_id", "Choose the place of stay from the list.")
    raise NotFound("precinct")  # the read above found all three: not reached


def refuse_application(
    session: Session, actor: Actor, case_id: int, code: RefusalCode, note: str, now: datetime
) -> CaseOutcome:
    """The commission refuses a received application, on a stated ground."""
    case, auditor = _load_for_action(session, actor, case_id, {"note_given": bool(note.strip())})
    transition = CaseMachine(case, [auditor]).refuse(RefuseContext(_moment(case, now), code, note))
    if transition.accepted:
        case.refusal_code = str(code)
        case.refusal_note = note.strip() or None
    session.flush()
    return CaseOutcome(case, transition)


def withdraw_application(
    session: Session, actor: Actor, case_id: int, reason: str, now: datetime
) -> CaseOutcome:
    """The applicant takes the application back before issue."""
    case, auditor = _load_for_action(session, actor, case_id, {"reason": reason.strip()})
    transition = CaseMachine(case, [auditor]).withdraw(ReasonContext(_moment(case, now), reason))
    session.flush()
    return CaseOutcome(case, transition)


def issue_certificate(
    session: Session,
    actor: Actor,
    case_id: int,
    now: datetime,
    handed_to: ApplicantKind | None = None,
) -> CaseOutcome:
    """Issue: take the next number of the precinct's stock and mark the home list, all at once."""
    # One round trip for the case, its precinct and election, and the stock peek.
    case, stock_available = _lock_case(session, actor, case_id, stock_peek=True)
    if handed_to is ApplicantKind.REPRESENTATIVE and case.applicant_kind is ApplicantKind.VOTER:
        raise InvalidInput("handed_to", "The voter applied in person: hand it to the voter.")
    ctx = IssueContext(
        moment=_moment(case, now),
        rules=case.election.rules(),
        stock_available=stock_available,
    )
    audit = PendingAudit(actor, case.election_id, case.precinct_id, {})
    # The machine moves a stand-in; the row is moved below by one conditional UPDATE, and the
    # loaded case only then, so no flush of the session writes the case a second time.
    state = _StateOf(case._state)
    transition = CaseMachine(state, [audit]).issue(ctx)
    if not transition.accepted:
        audit.write(session, case.id)
        return CaseOutcome(case, transition)
    if case.voter_id is None:  # the table's CHECK: only refused cases lack a voter
        raise ConcurrentChange("an issued case must have its voter")
    serial = allocate_serial(session, case.election_id, case.precinct_id)
    if serial is None:
        raise ConcurrentChange("the last number was taken by another issue")
    # The voter's row before the case's: an application for this voter holds the voter's row
    # and may then wait on this case's new index entry (its ON CONFLICT check). Taken the other
    # way round, the two would deadlock (tests/races/test_issue_races.py saw it).
    marked = session.connection().execute(
        _MARK_HOME_ENTRY, {"voter_id": case.voter_id, "serial": serial, "now": now}
    )
    if marked.rowcount != 1:
        raise ConcurrentChange("the voter's home-list entry is already marked")
    _expire_mark(session, case.voter_id)
    _move_case(session, case, state._state, transition.moment.now)
    certificate = _new_certificate(session, actor, case, case.voter_id, serial, handed_to, now)
    audit.name_certificate(certificate.id, serial)
    audit.write(session, case.id)
    return CaseOutcome(case, transition, certificate)


@dataclass(slots=True)
class _StateOf:
    """What the machine binds to when the case row is written by Core, not by the ORM."""

    _state: CaseState | None


def _move_case(
    session: Session, case: CertificateCase, target: CaseState | None, now: datetime
) -> None:
    """Write the machine's new state to the case row, if nobody moved it since it was read;
    then the loaded case says so too, with no change pending."""
    moved = session.connection().execute(
        _MOVE_CASE,
        {"case_id": case.id, "version": case.version, "state": target, "now": now},
    )
    if moved.rowcount != 1:
        raise ConcurrentChange("the case was changed by another transaction")
    set_committed_value(case, "_state", target)
    set_committed_value(case, "updated_at", now)
    set_committed_value(case, "version", case.version + 1)


def _expire_mark(session: Session, voter_id: int) -> None:
    """A voter entry this session holds re-reads its mark when next used (not loaded for this)."""
    voter = session.identity_map.get(identity_key(VoterEntry, voter_id))
    if voter is not None:
        session.expire(voter, ["mark_serial", "marked_at"])


def _new_certificate(
    session: Session,
    actor: Actor,
    case: CertificateCase,
    voter_id: int,
    serial: int,
    handed_to: ApplicantKind | None,
    now: datetime,
) -> Certificate:
    """Put the serial taken from the precinct's stock on a new form for this case."""
    certificate = Certificate(
        election_id=case.election_id,
        case_id=case.id,
        voter_id=voter_id,
        precinct_id=case.precinct_id,
        serial=serial,
        verification_code=new_verification_code(),
        _state=CERTIFICATE_TARGETS[Event.ISSUE],
        handed_to=handed_to or case.applicant_kind,
        issued_at=now,
        issued_by_id=actor.user_id,
        closed_at=None,
    )
    row_id = session.connection().execute(_INSERT_CERTIFICATE, _column_values(certificate))
    _adopt(session, certificate, row_id.scalar_one())
    if "certificates" in case.__dict__:  # a list already loaded (a reissue) gains the new form
        set_committed_value(case, "certificates", [*case.certificates, certificate])
    return certificate


def spoil_certificate(
    session: Session, actor: Actor, case_id: int, reason: str, now: datetime
) -> CaseOutcome:
    """A form damaged before handing over: its number is void for ever; the case may be reissued."""
    case, auditor = _load_for_action(session, actor, case_id, {"reason": reason.strip()})
    certificate = _track_certificate(case, auditor)
    transition = CaseMachine(case, [auditor]).spoil(ReasonContext(_moment(case, now), reason))
    return _close_certificate(session, case, transition, certificate, auditor, now, unmark=True)


def report_certificate_lost(
    session: Session, actor: Actor, case_id: int, reason: str, now: datetime
) -> CaseOutcome:
    """Lost: the number is void and no duplicate is issued; the home mark stays."""
    case, auditor = _load_for_action(session, actor, case_id, {"reason": reason.strip()})
    certificate = _track_certificate(case, auditor)
    transition = CaseMachine(case, [auditor]).report_lost(ReasonContext(_moment(case, now), reason))
    return _close_certificate(session, case, transition, certificate, auditor, now, unmark=False)


def cancel_certificate(
    session: Session, actor: Actor, case_id: int, reason: str, now: datetime
) -> CaseOutcome:
    """The certificate is handed back before the deadline: void, and the home mark lifted."""
    case, auditor = _load_for_action(session, actor, case_id, {"reason": reason.strip()})
    certificate = _track_certificate(case, auditor)
    ctx = SurrenderContext(_moment(case, now), case.election.rules(), reason)
    transition = CaseMachine(case, [auditor]).surrender(ctx)
    return _close_certificate(session, case, transition, certificate, auditor, now, unmark=True)


def close_certificate(
    session: Session, certificate: Certificate, target: CertificateState, now: datetime
) -> None:
    """Move an issued certificate to its end state with one conditional UPDATE (single use)."""
    # On the session's connection, as Core: the ORM's bulk-update path costs more Python than
    # the round trip, and nothing in the session needs synchronising (the row is expired below).
    table = table_of(Certificate)
    moved = session.connection().execute(
        update(table)
        .where(table.c.id == certificate.id, table.c.state == CertificateState.ISSUED)
        .values(state=target, closed_at=now)
    )
    if moved.rowcount != 1:
        raise ConcurrentChange("the certificate is no longer issued")
    session.expire(certificate, ["_state", "closed_at"])


def lift_home_mark(session: Session, voter_id: int, serial: int) -> None:
    """Clear the home-list mark, but only the mark of this very certificate."""
    table = table_of(VoterEntry)
    session.connection().execute(
        update(table)
        .where(table.c.id == voter_id, table.c.mark_serial == serial)
        .values(mark_serial=None, marked_at=None)
    )


def _close_certificate(
    session: Session,
    case: CertificateCase,
    transition: Transition,
    certificate: Certificate | None,
    auditor: TransitionAuditor,
    now: datetime,
    *,
    unmark: bool,
) -> CaseOutcome:
    if transition.accepted:
        if certificate is None:
            raise ConcurrentChange("an issued case has no live certificate")
        session.flush()
        close_certificate(session, certificate, CERTIFICATE_TARGETS[transition.event], now)
        if unmark:
            lift_home_mark(session, certificate.voter_id, certificate.serial)
            if case.voter is not None:
                session.expire(case.voter, ["mark_serial", "marked_at"])
    session.flush()
    return CaseOutcome(case, transition, certificate)


def _track_certificate(case: CertificateCase, auditor: TransitionAuditor) -> Certificate | None:
    """The case's certificate in hand, named in the audit event the machine is about to write."""
    certificate = case.live_certificate
    if certificate is not None:
        auditor.certificate_id = certificate.id
        auditor.payload["serial"] = certificate.serial
    return certificate


def _moment(case: CertificateCase, now: datetime) -> Moment:
    """Deadlines of the desk are read on the issuing precinct's clock."""
    return Moment(now, case.precinct.time_zone)


def _load_for_action(
    session: Session, actor: Actor, case_id: int, payload: dict[str, object]
) -> tuple[CertificateCase, TransitionAuditor]:
    """The case, locked, and the listener that audits what the machine does to it."""
    case, _no_peek = _lock_case(session, actor, case_id)
    auditor = TransitionAuditor(
        session, actor, case, case.election_id, case.precinct_id, dict(payload)
    )
    return case, auditor


def _lock_case(
    session: Session, actor: Actor, case_id: int, *, stock_peek: bool = False
) -> tuple[CertificateCase, bool]:
    """Lock the case row (PostgreSQL) so concurrent clerks act one after the other.

    The precinct (for its clock) and the election (for its rules) come in the same query, and
    with `stock_peek` whether the precinct has a free number (else False): one round trip.
    Only the case's row is locked.
    """
    statement = _CASE_FOR_ISSUE if stock_peek else _CASE_FOR_ACTION
    row = session.execute(statement, {"case_id": case_id}).unique().one_or_none()
    if row is None or not can_act_at(actor, row[0].precinct_id, DESK_ROLES):
        raise NotFound("case")
    return row[0], stock_peek and bool(row[1])


# The desk's hot statements are built once: constructing an ORM statement costs about as much
# Python as the round trip that runs it (the compiled form is cached either way).
# The precinct comes with its region (for its clock) and nothing else: its models join their
# locality and the locality's region by default, rows the desk's hot paths never read.
_CASE_FOR_ACTION = (
    select(CertificateCase)
    .options(
        joinedload(CertificateCase.precinct, innerjoin=True).lazyload(Precinct.locality),
        joinedload(CertificateCase.election, innerjoin=True),
    )
    .where(CertificateCase.id == bindparam("case_id"))
    .with_for_update(of=CertificateCase)
)
_CASE_FOR_ISSUE = _CASE_FOR_ACTION.add_columns(
    free_stock_exists(CertificateCase.election_id, CertificateCase.precinct_id)
)
_VOTERS = table_of(VoterEntry)
_CASES = table_of(CertificateCase)


def application_read(*, lock_voter: bool = True) -> Select[Any]:
    """The statement behind `_read_application`; the race tests' negative controls build it
    without the voter's lock."""
    listed = select(_VOTERS.c.id, _VOTERS.c.precinct_id).where(
        _VOTERS.c.election_id == bindparam("election_id"), _VOTERS.c.iin == bindparam("iin")
    )
    if lock_voter:
        listed = listed.with_for_update()
    voter = listed.cte("listed_voter")
    live_case = exists().where(
        _CASES.c.election_id == bindparam("election_id"),
        _CASES.c.voter_id == voter.c.id,
        _CASES.c.state.in_(sorted(str(state) for state in LIVE_CASE_STATES)),
    )
    return (
        select(
            Precinct,
            Election,
            Locality,
            voter.c.id.label("voter_id"),
            voter.c.precinct_id.label("voter_home"),
            live_case.label("has_live_case"),
        )
        .join(Election, Election.id == Precinct.election_id)
        .join(Locality, Locality.election_id == Precinct.election_id)
        .outerjoin(voter, true())
        .where(
            Precinct.id == bindparam("precinct_id"),
            Election.id == bindparam("election_id"),
            Locality.id == bindparam("stay_locality_id"),
        )
        # The home locality for its KATO; neither locality's region is read (see above).
        .options(
            defaultload(Precinct.locality).lazyload(Locality.region), lazyload(Locality.region)
        )
    )


_APPLICATION_READ = application_read()
# Only an unmarked entry is marked: of two issues for one voter, one matches no row.
_MARK_HOME_ENTRY = (
    update(_VOTERS)
    .where(_VOTERS.c.id == bindparam("voter_id"), _VOTERS.c.mark_serial.is_(None))
    .values(mark_serial=bindparam("serial"), marked_at=bindparam("now"))
)
# The version the case was read at: a writer that moved it meanwhile makes this match nothing.
_MOVE_CASE = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("case_id"), _CASES.c.version == bindparam("version"))
    .values(state=bindparam("state"), updated_at=bindparam("now"), version=_CASES.c.version + 1)
)
# Indexed by "is SQLite": each dialect spells ON CONFLICT through its own construct.
_INSERT_CASE = (
    postgresql_insert(_CASES).on_conflict_do_nothing().returning(_CASES.c.id),
    sqlite_insert(_CASES).on_conflict_do_nothing().returning(_CASES.c.id),
)
_INSERT_CERTIFICATE = insert(table_of(Certificate)).returning(table_of(Certificate).c.id)


def _new_case(
    application: ApplicationInput,
    precinct: Precinct,
    election: Election,
    stay: Locality,
    voter: ListedVoter | None,
    on_this_list: bool,
    actor: Actor,
) -> CertificateCase:
    representative = application.representative
    return CertificateCase(
        election_id=election.id,
        precinct_id=precinct.id,
        voter_id=voter.id if on_this_list and voter is not None else None,
        voter_iin=application.voter_iin[:12],
        applicant_kind=(
            ApplicantKind.VOTER if representative is None else ApplicantKind.REPRESENTATIVE
        ),
        applicant_document=application.applicant_document.strip(),
        representative_iin=None if representative is None else representative.iin[:12],
        representative_name=None if representative is None else representative.full_name.strip(),
        power_of_attorney_number=(
            None
            if representative is None
            else representative.power_of_attorney_number.strip() or None
        ),
        power_of_attorney_date=None
        if representative is None
        else representative.power_of_attorney_date,
        stay_locality_id=stay.id,
        received_by_id=actor.user_id,
        refusal_code=None,
        refusal_note=None,
        version=1,
    )


def _case_payload(application: ApplicationInput) -> dict[str, object]:
    """What the audit trail says about an application: no IIN in clear."""
    payload: dict[str, object] = {"voter": safe_iin(application.voter_iin)}
    payload["stay_locality_id"] = application.stay_locality_id
    if application.representative is not None:
        payload["representative"] = safe_iin(application.representative.iin)
        payload["power_of_attorney_number"] = application.representative.power_of_attorney_number
    return payload


def _representative_count(session: Session, election_id: int, representative_iin: str) -> int:
    """Live cases this representative already holds in the election (for the warning)."""
    return int(
        session.scalar(
            select(func.count()).where(
                CertificateCase.election_id == election_id,
                CertificateCase.representative_iin == representative_iin,
                CertificateCase._state.in_(LIVE_CASE_STATES),
            )
        )
        or 0
    )


def audit_trail(session: Session, case_id: int) -> list[AuditEvent]:
    """The case's history, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)
        )
    )


__all__ = [
    "ApplicationInput",
    "CaseOutcome",
    "CaseState",
    "ConcurrentChange",
    "apply_for_certificate",
    "audit_trail",
    "cancel_certificate",
    "issue_certificate",
    "refuse_application",
    "report_certificate_lost",
    "spoil_certificate",
    "withdraw_application",
]
