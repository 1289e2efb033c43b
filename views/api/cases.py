"""Voters, cases, certificates and registers over the API: the desk's services, in JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Certificate, CertificateCase, Election, Role, db
from services import cases as case_service
from services.audit import Actor
from services.cases import ApplicationInput, CaseOutcome, audit_trail
from services.documents import print_certificate, print_refusal, print_register
from services.errors import NotFound
from services.scope import placed_precinct, scoped, scoped_case
from services.sealing import election_seal
from services.voters import search_voters
from views.api.convert import (
    case_out,
    election_or_current,
    live_cases,
    page_of,
    precinct_ref,
    readable_precinct,
    register_row,
    voter_out,
)
from views.api.core import Result, api_now, operation, problem_result
from views.api.problems import Problem, violation_problem
from views.api.schemas import (
    ApplicationIn,
    CaseList,
    CaseOut,
    CaseQuery,
    EventList,
    EventOut,
    IssueIn,
    ReasonIn,
    RefuseIn,
    RegisterList,
    RegisterQuery,
    RegisterRow,
    VoterLookupIn,
    VoterLookupOut,
)
from views.messages import refusal_text
from workflow.errors import RefusalCode
from workflow.rules import Representative
from workflow.states import ApplicantKind, CaseState, CertificateState

CLERK = frozenset({Role.CLERK.value})
READERS = frozenset({Role.CLERK.value, Role.TERRITORIAL.value, Role.ADMIN.value})
PDF = "application/pdf"

APPLY_REFUSALS = (
    "no_certificates",
    "not_on_list",
    "window_closed",
    "already_issued",
    "same_locality",
    "proxy_invalid",
    "invalid_iin",
)
ACTION_REFUSALS = ("invalid_transition", "window_closed", "no_stock", "reason_required")


@operation(
    "POST",
    "/voters/lookup",
    summary="Find a voter on the caller's lists by IIN (exact) or by name",
    tag="voters",
    roles=READERS,
    body=VoterLookupIn,
    responses={200: VoterLookupOut},
)
def lookup_voters(actor: Actor, body: VoterLookupIn) -> Result:
    """The IIN travels in the body, never in the URL. An IIN on another precinct's list answers
    only where the voter must apply, without the voter's data."""
    election = election_or_current(actor, body.election_id)
    found = search_voters(db.session, actor, election.id, body.iin or body.name or "")
    live = live_cases([voter.id for voter in found.voters])
    return Result(
        200,
        VoterLookupOut(
            voters=[voter_out(voter, live.get(voter.id)) for voter in found.voters],
            apply_at=None if found.elsewhere is None else precinct_ref(found.elsewhere),
            truncated=found.truncated,
        ),
    )


def _case_result(outcome: CaseOutcome, status: int) -> Result:
    """A refusal is an outcome kept with its audit event: a problem that names the case."""
    case = outcome.case
    if outcome.refusal is not None:
        return problem_result(
            violation_problem(
                outcome.refusal, case_id=case.id if case.state is CaseState.REFUSED else None
            )
        )
    location = url_for("api.get_case", case_id=case.id)
    return Result(
        status,
        case_out(case, outcome.transition.warnings),
        location=location if status == 201 else None,
    )


@operation(
    "POST",
    "/cases",
    summary="Apply for a certificate, in person or by a representative",
    tag="cases",
    roles=CLERK,
    body=ApplicationIn,
    responses={201: CaseOut},
    refusals=APPLY_REFUSALS,
    description=(
        "A refused application is recorded as a case in state `refused` (the citizen may appeal): "
        "the problem names it in `case_id`."
    ),
)
def apply_case(actor: Actor, body: ApplicationIn) -> Result:
    election = election_or_current(actor, body.election_id)
    own = placed_precinct(db.session, actor, election.id)
    precinct_id = body.precinct_id or (None if own is None else own.id)
    if precinct_id is None:
        raise Problem(
            422,
            "invalid_input",
            _("Some fields are not valid."),
            errors=[{"field": "precinct_id", "detail": _("This field is required.")}],
        )
    representative = None
    if body.representative is not None:
        given = body.representative
        representative = Representative(
            iin=given.iin,
            full_name=given.full_name,
            identity_document=body.applicant_document,
            power_of_attorney_number=given.power_of_attorney_number,
            power_of_attorney_date=given.power_of_attorney_date,
        )
    outcome = case_service.apply_for_certificate(
        db.session,
        actor,
        ApplicationInput(
            election_id=election.id,
            precinct_id=precinct_id,
            voter_iin=body.voter_iin,
            applicant_document=body.applicant_document,
            stay_locality_id=body.stay_locality_id,
            representative=representative,
        ),
        api_now(),
    )
    return _case_result(outcome, 201)


@operation(
    "GET",
    "/cases",
    summary="Cases of one election (default: the caller's current one) the caller may read",
    tag="cases",
    roles=READERS,
    query=CaseQuery,
    responses={200: CaseList},
)
def list_cases(actor: Actor, query: CaseQuery) -> Result:
    # A page holds up to 500 cases: their voters and certificates in two queries, not 1,000.
    statement = scoped(select(CertificateCase), CertificateCase.precinct_id, actor).options(
        selectinload(CertificateCase.voter), selectinload(CertificateCase.certificates)
    )
    election = election_or_current(actor, query.election_id)
    statement = statement.where(CertificateCase.election_id == election.id)
    if query.precinct_id is not None:
        statement = statement.where(CertificateCase.precinct_id == query.precinct_id)
    if query.state is not None:
        statement = statement.where(CertificateCase._state == query.state)
    rows, cursor = page_of(statement, CertificateCase.id, query)
    return Result(200, CaseList(items=[case_out(row) for row in rows], next_after=cursor))


@operation(
    "GET",
    "/cases/{case_id}",
    summary="One case, with its live certificate",
    tag="cases",
    roles=READERS,
    responses={200: CaseOut},
)
def get_case(actor: Actor, case_id: int) -> Result:
    return Result(200, case_out(scoped_case(db.session, actor, case_id)))


@operation(
    "GET",
    "/cases/{case_id}/events",
    summary="The case's audit trail, oldest first",
    tag="cases",
    roles=READERS,
    responses={200: EventList},
)
def case_events(actor: Actor, case_id: int) -> Result:
    case = scoped_case(db.session, actor, case_id)
    return Result(
        200,
        EventList(
            items=[
                EventOut(
                    id=event.id,
                    occurred_at=event.occurred_at,
                    local_time=event.local_time,
                    time_zone=event.time_zone,
                    event=event.event,
                    outcome=event.outcome,
                    code=event.code,
                    before=event.before_state,
                    after=event.after_state,
                    actor_role=event.actor_role,
                )
                for event in audit_trail(db.session, case.id)
            ]
        ),
    )


def _act(actor: Actor, case_id: int, action: Callable[[CertificateCase], CaseOutcome]) -> Result:
    case = scoped_case(db.session, actor, case_id)
    return _case_result(action(case), 200)


@operation(
    "POST",
    "/cases/{case_id}/issue",
    summary="Issue the certificate: the next number of the precinct's stock, the home list marked",
    tag="cases",
    roles=CLERK,
    body=IssueIn,
    responses={200: CaseOut},
    refusals=("invalid_transition", "window_closed", "no_stock"),
)
def issue_case(actor: Actor, case_id: int, body: IssueIn) -> Result:
    """The answer carries the verification code the certificate will print, for the issuer."""
    handed_to = None if body.handed_to is None else ApplicantKind(body.handed_to)
    result = _act(
        actor,
        case_id,
        lambda case: case_service.issue_certificate(
            db.session, actor, case.id, api_now(), handed_to
        ),
    )
    if isinstance(result.body, CaseOut) and result.body.certificate is not None:
        certificate = db.session.get_one(Certificate, result.body.certificate.id)
        result.body.verification_code = certificate.verification_code
    return result


@operation(
    "POST",
    "/cases/{case_id}/refuse",
    summary="Refuse a received application on a stated ground",
    tag="cases",
    roles=CLERK,
    body=RefuseIn,
    responses={200: CaseOut},
    refusals=("invalid_transition",),
)
def refuse_case(actor: Actor, case_id: int, body: RefuseIn) -> Result:
    return _act(
        actor,
        case_id,
        lambda case: case_service.refuse_application(
            db.session, actor, case.id, RefusalCode(body.code), body.note, api_now()
        ),
    )


def _reason_operation(
    name: str, path: str, summary: str, service: Callable[..., CaseOutcome]
) -> None:
    def handler(actor: Actor, case_id: int, body: ReasonIn) -> Result:
        return _act(
            actor,
            case_id,
            lambda case: service(db.session, actor, case.id, body.reason, api_now()),
        )

    handler.__name__ = name
    operation(
        "POST",
        path,
        summary=summary,
        tag="cases",
        roles=CLERK,
        body=ReasonIn,
        responses={200: CaseOut},
        refusals=("invalid_transition", "reason_required", "policy_forbids", "window_closed"),
    )(handler)


_reason_operation(
    "withdraw_case",
    "/cases/{case_id}/withdraw",
    "The applicant takes a received application back",
    case_service.withdraw_application,
)
_reason_operation(
    "spoil_case",
    "/cases/{case_id}/spoil",
    "The form was damaged before handing over: its number is void, a new one may be issued",
    case_service.spoil_certificate,
)
_reason_operation(
    "report_lost",
    "/cases/{case_id}/lost",
    "The certificate was lost: void for ever, no duplicate",
    case_service.report_certificate_lost,
)
_reason_operation(
    "cancel_case",
    "/cases/{case_id}/cancel",
    "The certificate was handed back before voting day: the home mark is lifted",
    case_service.cancel_certificate,
)


@operation(
    "GET",
    "/cases/{case_id}/document.pdf",
    summary="The certificate (with counterfoil) or, for a refused case, the refusal notice",
    tag="cases",
    roles=CLERK,
    responses={200: PDF},
    refusals=("nothing_to_print",),
    description="Every print is audited; a reprint carries a repeat-print mark.",
)
def case_document(actor: Actor, case_id: int) -> Result:
    case = scoped_case(db.session, actor, case_id)
    election = db.session.get_one(Election, case.election_id)
    if case.state is CaseState.REFUSED:
        reasons = []
        for language in ("kk", "ru"):
            with force_locale(language):
                reasons.append(refusal_text(case.refusal_code))
        body = print_refusal(db.session, actor, case, (reasons[0], reasons[1]), api_now())
        return Result(200, body, content_type=PDF)
    certificate = case.live_certificate
    if certificate is None or certificate.state is not CertificateState.ISSUED:
        raise Problem(
            409,
            "nothing_to_print",
            _("There is no issued certificate to print for this case."),
        )
    seal = election_seal(Path(current_app.instance_path), election.code)
    body = print_certificate(db.session, actor, case, certificate, seal, api_now())
    return Result(200, body, content_type=PDF)


@operation(
    "GET",
    "/register",
    summary="The register of issued certificates the caller may read",
    tag="registers",
    roles=READERS,
    query=RegisterQuery,
    responses={200: RegisterList},
)
def register(actor: Actor, query: RegisterQuery) -> Result:
    election = election_or_current(actor, query.election_id)
    statement = (
        scoped(select(Certificate), Certificate.precinct_id, actor)
        .options(selectinload(Certificate.voter), selectinload(Certificate.case))
        .where(Certificate.election_id == election.id)
    )
    if query.precinct_id is not None:
        statement = statement.where(Certificate.precinct_id == query.precinct_id)
    if query.state is not None:
        statement = statement.where(Certificate._state == query.state)
    rows, cursor = page_of(statement, Certificate.id, query)
    return Result(200, RegisterList(items=[register_row(row) for row in rows], next_after=cursor))


@operation(
    "GET",
    "/precincts/{precinct_id}/register.pdf",
    summary="A precinct's register of issued certificates, printable",
    tag="registers",
    roles=READERS,
    responses={200: PDF},
)
def register_pdf(actor: Actor, precinct_id: int) -> Result:
    precinct = readable_precinct(actor, precinct_id)
    election = db.session.get_one(Election, precinct.election_id)
    return Result(200, print_register(db.session, election, precinct), content_type=PDF)


def _readable_certificate(actor: Actor, certificate_id: int) -> Certificate:
    certificate = db.session.scalar(
        scoped(select(Certificate), Certificate.precinct_id, actor).where(
            Certificate.id == certificate_id
        )
    )
    if certificate is None:
        raise NotFound("certificate")
    return certificate


@operation(
    "GET",
    "/certificates/{certificate_id}",
    summary="One certificate, as its register row",
    tag="registers",
    roles=READERS,
    responses={200: RegisterRow},
)
def get_certificate(actor: Actor, certificate_id: int) -> Result:
    return Result(200, register_row(_readable_certificate(actor, certificate_id)))


@operation(
    "GET",
    "/certificates/{certificate_id}/document.pdf",
    summary="The certificate with its counterfoil, printable (while it is issued)",
    tag="registers",
    roles=CLERK,
    responses={200: PDF},
    refusals=("nothing_to_print",),
    description="Every print is audited; a reprint carries a repeat-print mark.",
)
def certificate_document(actor: Actor, certificate_id: int) -> Result:
    certificate = _readable_certificate(actor, certificate_id)
    if certificate.state is not CertificateState.ISSUED:
        raise Problem(
            409,
            "nothing_to_print",
            _("There is no issued certificate to print for this case."),
        )
    election = db.session.get_one(Election, certificate.election_id)
    seal = election_seal(Path(current_app.instance_path), election.code)
    body = print_certificate(db.session, actor, certificate.case, certificate, seal, api_now())
    return Result(200, body, content_type=PDF)
