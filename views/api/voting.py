"""Voting day over the API: look at a certificate, take it in or back home, the lists."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Certificate, Election, Inclusion, Precinct, Role, db
from services.audit import Actor
from services.documents import print_supplementary_list
from services.errors import NotFound
from services.scope import placed_precinct, scoped, sole_desk
from services.sealing import Presented, election_seal, read_presented, seals_in
from services.voting_day import PresentationOutcome, present_certificate, record_unreadable_seal
from views.api.convert import (
    election_or_current,
    inclusion_out,
    page_of,
    precinct_ref,
    readable_precinct,
)
from views.api.core import Result, api_now, operation, problem_result
from views.api.problems import violation_problem
from views.api.schemas import (
    HolderOut,
    InclusionList,
    InclusionQuery,
    PresentIn,
    PresentOut,
)
from views.checkin import explain_refusal
from workflow.errors import RuleViolation
from workflow.iin import mask_iin

STAFF = frozenset({Role.CLERK.value, Role.CHECKIN.value})
READERS = frozenset(
    {Role.CLERK.value, Role.CHECKIN.value, Role.TERRITORIAL.value, Role.ADMIN.value}
)
PRESENT_REFUSALS = (
    "wrong_election",
    "not_voting_hours",
    "not_found",
    "forged",
    "already_used",
    "void",
    "same_locality",
    "mistyped_number",
    "policy_forbids",
)


def _desk(actor: Actor, election_id: int | None) -> tuple[Election, Precinct]:
    """The election the desk works in (named, or the caller's current one) and its precinct."""
    if election_id is None and (desk := sole_desk(db.session, actor)) is not None:
        return desk
    election = election_or_current(actor, election_id)
    precinct = placed_precinct(db.session, actor, election.id)
    if precinct is None:
        raise NotFound("precinct")
    return election, precinct


def _present(actor: Actor, body: PresentIn, *, confirm: bool) -> Result:
    election, precinct = _desk(actor, body.election_id)
    folder = Path(current_app.instance_path)
    seal = election_seal(folder, election.code)
    if body.qr is not None:
        try:
            presented = read_presented(body.qr, seal, seals_in(db.session, folder))
        except RuleViolation as violation:
            record_unreadable_seal(
                db.session,
                actor,
                election_id=election.id,
                precinct=precinct,
                violation=violation,
                now=api_now(),
            )
            return problem_result(violation_problem(violation))
    else:
        presented = Presented(body.number or "", body.verification_code)
    outcome = present_certificate(
        db.session,
        actor,
        election_id=election.id,
        receiving_precinct_id=precinct.id,
        number_text=presented.number_text,
        verification_code=presented.verification_code,
        now=api_now(),
        sealed=None if presented.payload is None else (seal, presented.payload),
        confirm=confirm,
    )
    if outcome.refusal is not None:
        return problem_result(
            violation_problem(outcome.refusal, hints=explain_refusal(outcome, precinct)[1:])
        )
    return Result(
        200 if not confirm else 201 if outcome.inclusion else 200,
        _answer(outcome, precinct, confirm=confirm),
    )


def _answer(outcome: PresentationOutcome, precinct: Precinct, *, confirm: bool) -> PresentOut:
    certificate = outcome.certificate
    assert certificate is not None  # noqa: S101 - an accepted presentation names it
    at_home = certificate.precinct_id == precinct.id
    if confirm:
        kind = "returned_home" if outcome.inclusion is None else "included"
    else:
        kind = "may_return_home" if at_home else "may_include"
    inclusion = outcome.inclusion
    return PresentOut(
        outcome=kind,
        holder=HolderOut(
            full_name=certificate.voter.full_name,
            iin_masked=mask_iin(certificate.voter.iin),
            certificate_number=certificate.number,
            home_precinct=precinct_ref(certificate.precinct),
            issued_at=certificate.issued_at,
        ),
        line_number=None if inclusion is None else inclusion.line_number,
        inclusion_id=None if inclusion is None else inclusion.id,
        included_at=None if inclusion is None else inclusion.included_at,
    )


@operation(
    "POST",
    "/checkin/preview",
    summary="Look at a presented certificate before taking it in (changes nothing)",
    tag="voting day",
    roles=STAFF,
    body=PresentIn,
    responses={200: PresentOut},
    refusals=PRESENT_REFUSALS,
    description="A refusal is audited all the same; an acceptance only shows who the holder is.",
)
def preview_checkin(actor: Actor, body: PresentIn) -> Result:
    return _present(actor, body, confirm=False)


@operation(
    "POST",
    "/checkin",
    summary="Take the certificate in: included in this precinct's list, or returned home",
    tag="voting day",
    roles=STAFF,
    body=PresentIn,
    responses={201: PresentOut, 200: PresentOut},
    refusals=PRESENT_REFUSALS,
    description=(
        "201 with a supplementary-list line at another precinct; 200 `returned_home` at the "
        "voter's home precinct (the certificate is surrendered, the voter votes on the home list)."
    ),
)
def checkin(actor: Actor, body: PresentIn) -> Result:
    return _present(actor, body, confirm=True)


@operation(
    "GET",
    "/inclusions",
    summary="The supplementary list: certificates taken in, by line",
    tag="voting day",
    roles=READERS,
    query=InclusionQuery,
    responses={200: InclusionList},
)
def list_inclusions(actor: Actor, query: InclusionQuery) -> Result:
    election = election_or_current(actor, query.election_id)
    statement = (
        scoped(select(Inclusion), Inclusion.precinct_id, actor)
        .options(selectinload(Inclusion.certificate).selectinload(Certificate.voter))
        .where(Inclusion.election_id == election.id)
    )
    if query.precinct_id is not None:
        statement = statement.where(Inclusion.precinct_id == query.precinct_id)
    rows, cursor = page_of(statement, Inclusion.id, query)
    return Result(200, InclusionList(items=[inclusion_out(row) for row in rows], next_after=cursor))


@operation(
    "GET",
    "/precincts/{precinct_id}/supplementary-list.pdf",
    summary="A precinct's supplementary list, printable",
    tag="voting day",
    roles=READERS,
    responses={200: "application/pdf"},
)
def supplementary_pdf(actor: Actor, precinct_id: int) -> Result:
    precinct = readable_precinct(actor, precinct_id)
    election = db.session.get_one(Election, precinct.election_id)
    body = print_supplementary_list(db.session, election, precinct)
    return Result(200, body, content_type="application/pdf")
