"""Voting-day check-in at the place of stay: scan, look, confirm, next."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from forms.checkin import ConfirmForm, ScanForm
from models import Certificate, Election, Inclusion, Precinct, Role, VoterEntry, db
from services.documents import print_supplementary_list
from services.errors import NotFound
from services.figures import inclusions_by_hour
from services.sealing import ElectionSeal, Presented, election_seal, read_presented, seals_in
from services.voting_day import PresentationOutcome, present_certificate, record_unreadable_seal
from views.messages import violation_text
from views.web import (
    chosen_election,
    claim_form_key,
    commit_or_replay,
    current_actor,
    deny,
    election_name,
    finish_form_key,
    local_time,
    new_form_key,
    now,
    own_precinct,
    roles_required,
)
from workflow.errors import RefusalCode, RuleViolation
from workflow.iin import mask_iin

bp = Blueprint("checkin", __name__, url_prefix="/checkin")

STAFF = (Role.CHECKIN, Role.CLERK)
_CONTEXT_KEY = "kuelik.checkin_context"


@bp.before_request
def _keep_rows_after_commit() -> None:
    """The screen drawn after a check-in's commit shows rows this request has just read: with
    expiry on commit, each (user, election, precinct, certificate) would be read again."""
    g.kuelik_expire_on_commit = db.session().expire_on_commit
    db.session().expire_on_commit = False


@bp.teardown_request
def _restore_expiry(_error: BaseException | None) -> None:
    kept = g.pop("kuelik_expire_on_commit", None)
    if kept is not None:
        db.session().expire_on_commit = kept


def _context() -> tuple[Election, Precinct, ElectionSeal]:
    """Election, this desk's precinct and the seal: looked up once per request.

    The election is the one the screen showed when the scan was typed (its forms carry it), so
    a switch in another tab never moves a confirmation to another election.
    """
    # Kept in the request's environ, not in `g`: an app context may outlive one request.
    cached: tuple[Election, Precinct, ElectionSeal] | None = request.environ.get(_CONTEXT_KEY)
    if cached is not None:
        return cached
    election = chosen_election()
    precinct = own_precinct(election)
    seal = election_seal(Path(current_app.instance_path), election.code)
    request.environ[_CONTEXT_KEY] = (election, precinct, seal)
    return election, precinct, seal


def _read(text: str, seal: ElectionSeal) -> Presented:
    return read_presented(text, seal, seals_in(db.session, Path(current_app.instance_path)))


def _present(presented: Presented, seal: ElectionSeal, *, confirm: bool) -> PresentationOutcome:
    election, precinct, _seal = _context()
    try:
        return present_certificate(
            db.session,
            current_actor(),
            election_id=election.id,
            receiving_precinct_id=precinct.id,
            number_text=presented.number_text,
            verification_code=presented.verification_code,
            now=now(),
            sealed=None if presented.payload is None else (seal, presented.payload),
            confirm=confirm,
        )
    except NotFound:
        deny()


def explain_refusal(outcome: PresentationOutcome, precinct: Precinct) -> list[str]:
    """What exactly went wrong and what the staff should tell the voter."""
    refusal = outcome.refusal
    if refusal is None:
        return []
    lines = [violation_text(refusal)]
    if refusal.code is RefusalCode.NOT_VOTING_HOURS:
        lines.append(_("Local time here: %(time)s.", time=local_time(now(), precinct.time_zone)))
    elif refusal.code is RefusalCode.ALREADY_USED and outcome.certificate is not None:
        inclusion = db.session.scalar(
            select(Inclusion).where(Inclusion.certificate_id == outcome.certificate.id)
        )
        if inclusion is not None:
            lines.append(
                _(
                    "It was taken in at precinct No. %(number)s on %(time)s.",
                    number=inclusion.precinct.number,
                    time=local_time(inclusion.included_at, inclusion.precinct.time_zone),
                )
            )
        else:
            lines.append(_("It was handed in at the voter's home precinct."))
    elif refusal.code is RefusalCode.VOID and outcome.certificate is not None:
        state = outcome.certificate.state.value
        lines.append(
            {
                "lost": _("It was reported lost: a lost certificate gives no vote elsewhere."),
                "spoilt": _("This form was spoilt and its number voided."),
                "cancelled": _("It was handed back to the issuing commission before voting day."),
            }.get(state, "")
        )
    elif refusal.code is RefusalCode.SAME_LOCALITY and outcome.case is not None:
        home = outcome.case.precinct
        lines.append(
            _(
                "Send the voter to the home precinct No. %(number)s, %(address)s.",
                number=home.number,
                address=home.address_ru,
            )
        )
    elif refusal.code is RefusalCode.WRONG_ELECTION:
        other = db.session.scalar(
            select(Election).where(Election.code == refusal.params.get("election_code", ""))
        )
        if other is not None:
            lines.append(
                _(
                    "It is a certificate of “%(name)s” (voting day %(day)s): take it in on that "
                    "election's check-in screen.",
                    name=election_name(other),
                    day=other.voting_day.isoformat(),
                )
            )
    elif refusal.code is RefusalCode.MISTYPED_NUMBER:
        lines.append(_("Check the number on the certificate and type it again."))
    return [line for line in lines if line]


def _screen(**extra: object) -> str:
    election, precinct, _seal = _context()
    figures = inclusions_by_hour(db.session, election, precinct)
    return render_template(
        "checkin/screen.html",
        form=extra.pop("form", None) or ScanForm(formdata=None),
        election=election,
        precinct=precinct,
        figures=figures,
        local_now=local_time(now(), precinct.time_zone),
        **extra,
    )


@bp.get("/")
@roles_required(*STAFF)
def screen() -> str:
    return _screen()


@bp.post("/")
@roles_required(*STAFF)
def scan() -> str | Response:
    form = ScanForm()
    if not form.validate_on_submit():
        return _screen(form=form)
    _election, precinct, seal = _context()
    try:
        presented = _read(form.scan.data or "", seal)
    except RuleViolation as violation:
        # A forged or unreadable seal: recorded like any other refusal at this desk.
        _record_unreadable(violation)
        return _screen(refusal=[violation_text(violation)])
    outcome = _present(presented, seal, confirm=False)
    db.session.commit()
    if outcome.refusal is not None:
        return _screen(refusal=explain_refusal(outcome, precinct), outcome=outcome)
    confirm = ConfirmForm(formdata=None, scan=form.scan.data, form_key=new_form_key())
    certificate = outcome.certificate
    assert certificate is not None  # noqa: S101 - an accepted look always names the certificate
    return _screen(
        holder={
            "name": certificate.voter.full_name,
            "iin": mask_iin(certificate.voter.iin),
            "number": certificate.number,
            "precinct": certificate.precinct,
            "issued": local_time(certificate.issued_at, certificate.precinct.time_zone),
            "return_home": certificate.precinct_id == precinct.id,
        },
        confirm=confirm,
    )


def _record_unreadable(violation: RuleViolation) -> None:
    election, precinct, _seal = _context()
    record_unreadable_seal(
        db.session,
        current_actor(),
        election_id=election.id,
        precinct=precinct,
        violation=violation,
        now=now(),
    )
    db.session.commit()


@bp.post("/confirm")
@roles_required(*STAFF)
def confirm() -> str | Response:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("checkin.screen"))
    _election, precinct, seal = _context()
    key = form.form_key.data
    if replay := claim_form_key(key):
        return redirect(replay)
    try:
        presented = _read(form.scan.data or "", seal)
    except RuleViolation:
        db.session.rollback()
        return redirect(url_for("checkin.screen"))
    outcome = _present(presented, seal, confirm=True)
    if outcome.refusal is not None:
        db.session.commit()
        return _screen(refusal=explain_refusal(outcome, precinct), outcome=outcome)
    target = url_for(
        "checkin.done",
        inclusion_id=outcome.inclusion.id if outcome.inclusion else 0,
        election=_context()[0].id,
    )
    finish_form_key(key, target)
    if replay := commit_or_replay(key):
        return replay
    return redirect(target)


@bp.get("/done/<int:inclusion_id>")
@roles_required(*STAFF)
def done(inclusion_id: int) -> str:
    _election, precinct, _seal = _context()
    inclusion = db.session.get(Inclusion, inclusion_id) if inclusion_id else None
    # 0 means "taken back at home"; any other id must be an inclusion at this precinct.
    if inclusion_id and (inclusion is None or inclusion.precinct_id != precinct.id):
        deny()
    return _screen(inclusion=inclusion, returned=inclusion is None)


@bp.get("/supplementary.pdf")
@roles_required(*STAFF)
def supplementary_pdf() -> Response:
    election, precinct, _seal = _context()
    body = print_supplementary_list(db.session, election, precinct)
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": "inline; filename=supplementary-list.pdf"},
    )


@bp.get("/marks")
@roles_required(*STAFF)
def marks() -> str:
    """The home list on voting day: every voter of this precinct who holds a certificate."""
    election, precinct, _seal = _context()
    rows = db.session.execute(
        select(VoterEntry, Certificate)
        .join(
            Certificate,
            (Certificate.voter_id == VoterEntry.id)
            & (Certificate.serial == VoterEntry.mark_serial),
        )
        .where(
            VoterEntry.election_id == election.id,
            VoterEntry.precinct_id == precinct.id,
            VoterEntry.mark_serial.is_not(None),
        )
        .order_by(VoterEntry.surname, VoterEntry.given_name)
    ).all()
    return render_template("checkin/marks.html", precinct=precinct, rows=rows)
