"""The clerk's desk: find the voter, take the application, refuse or issue, correct, register."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import SelectChoice

from forms.desk import (
    ApplicationForm,
    IssueForm,
    ReasonForm,
    RefuseForm,
    RegisterFilterForm,
    SearchForm,
)
from models import (
    Certificate,
    CertificateCase,
    Election,
    Locality,
    Precinct,
    Role,
    VoterEntry,
    db,
)
from services import cases as case_service
from services.cases import ApplicationInput, CaseOutcome, audit_trail
from services.documents import print_certificate, print_refusal, print_register
from services.errors import InvalidInput, NotFound
from services.figures import desk_day
from services.scope import scoped, scoped_case, scoped_voter
from services.sealing import election_seal
from services.voters import search_voters
from views.messages import (
    REFUSALS,
    certificate_state_text,
    event_text,
    refusal_text,
    state_text,
    violation_text,
    warning_text,
)
from views.web import (
    chosen_election,
    claim_form_key,
    commit_or_replay,
    current_actor,
    deny,
    finish_form_key,
    local_time,
    new_form_key,
    now,
    own_precinct,
    roles_required,
)
from workflow.calendar import zone
from workflow.errors import MANUAL_REFUSAL_CODES, RefusalCode
from workflow.iin import mask_iin
from workflow.numbers import format_certificate_number
from workflow.rules import Representative
from workflow.states import LIVE_CASE_STATES, ApplicantKind, CaseState, CertificateState

bp = Blueprint("desk", __name__, url_prefix="/desk")

CLERK = (Role.CLERK,)
READERS = (Role.CLERK, Role.TERRITORIAL, Role.ADMIN)
# Register filter bounds: far wider than any election, narrow enough for date arithmetic.
MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2199, 12, 31)
# Every zone the country has used lies within this of UTC.
DAY_MARGIN = timedelta(hours=14)


@bp.app_context_processor
def _desk_helpers() -> dict[str, object]:
    return {
        "state_text": state_text,
        "certificate_state_text": certificate_state_text,
        "event_text": event_text,
        "refusal_text": refusal_text,
        "mask_iin": mask_iin,
        "format_number": format_certificate_number,
    }


@bp.get("/")
@roles_required(Role.CLERK, Role.CHECKIN)
def dashboard() -> str:
    election = chosen_election()
    precinct = own_precinct(election)
    day = desk_day(db.session, election, precinct, now())
    recent = db.session.scalars(
        select(CertificateCase)
        .where(
            CertificateCase.precinct_id == precinct.id,
            CertificateCase.election_id == election.id,
        )
        .order_by(CertificateCase.id.desc())
        .limit(15)
    ).all()
    return render_template(
        "desk/dashboard.html",
        election=election,
        precinct=precinct,
        day=day,
        recent=recent,
        search_form=SearchForm(formdata=None),
    )


@bp.get("/voters")
@roles_required(*CLERK)
def voters() -> str:
    election = chosen_election()
    own_precinct(election)
    form = SearchForm(request.args)
    result = None
    if request.args and form.validate():
        result = search_voters(db.session, current_actor(), election.id, form.q.data or "")
    return render_template("desk/voters.html", form=form, result=result, election=election)


def _live_case(voter: VoterEntry) -> CertificateCase | None:
    return db.session.scalar(
        select(CertificateCase).where(
            CertificateCase.voter_id == voter.id,
            CertificateCase._state.in_(LIVE_CASE_STATES),
        )
    )


def _locality_choices(home: Locality) -> list[SelectChoice]:
    rows = db.session.scalars(
        select(Locality).where(Locality.election_id == home.election_id).order_by(Locality.name_ru)
    ).all()
    return [SelectChoice("0", "—")] + [
        SelectChoice(str(row.id), f"{row.name_kk} / {row.name_ru} ({row.region.name_ru})")
        for row in rows
    ]


@bp.route("/voters/<int:voter_id>/apply", methods=["GET", "POST"])
@roles_required(*CLERK)
def apply(voter_id: int) -> str | Response:
    actor = current_actor()
    try:
        voter = scoped_voter(db.session, actor, voter_id)
    except NotFound:
        deny()
    # The voter's list says which election this is, whatever the screens were showing.
    election = voter.election
    precinct = own_precinct(election)
    form = ApplicationForm()
    form.stay_locality_id.choices = _locality_choices(precinct.locality)
    if request.method == "GET":
        form.form_key.data = new_form_key()
    if form.validate_on_submit():
        if not form.stay_locality_id.data:
            form.stay_locality_id.errors = [_("Choose the place of stay from the list.")]
        else:
            return _submit_application(form, voter, election, precinct)
    return render_template(
        "desk/apply.html",
        form=form,
        voter=voter,
        live_case=_live_case(voter),
        election=election,
        precinct=precinct,
    )


def _submit_application(
    form: ApplicationForm, voter: VoterEntry, election: Election, precinct: Precinct
) -> Response:
    key = form.form_key.data
    if replay := claim_form_key(key):
        return redirect(replay)
    representative = None
    if form.mode.data == "representative":
        representative = Representative(
            iin=form.representative_iin.data or "",
            full_name=form.representative_name.data or "",
            identity_document=form.applicant_document.data or "",
            power_of_attorney_number=form.power_of_attorney_number.data or "",
            power_of_attorney_date=form.power_of_attorney_date.data,
        )
    outcome = case_service.apply_for_certificate(
        db.session,
        current_actor(),
        ApplicationInput(
            election_id=election.id,
            precinct_id=precinct.id,
            voter_iin=voter.iin,
            applicant_document=form.applicant_document.data or "",
            stay_locality_id=int(form.stay_locality_id.data),
            representative=representative,
        ),
        now(),
    )
    target = url_for("desk.case", case_id=outcome.case.id)
    finish_form_key(key, target)
    if replay := commit_or_replay(key):
        return replay
    _flash_outcome(outcome, _("Application received."))
    return redirect(target)


def _flash_outcome(outcome: CaseOutcome, success: str) -> None:
    if outcome.refusal is not None:
        flash(_("Refused: %(reason)s", reason=violation_text(outcome.refusal)), "danger")
    else:
        flash(success, "success")
    for warning in outcome.transition.warnings:
        flash(warning_text(warning), "warning")


@bp.get("/cases/<int:case_id>")
@roles_required(*READERS)
def case(case_id: int) -> str:
    try:
        record = scoped_case(db.session, current_actor(), case_id)
    except NotFound:
        deny()
    can_act = current_user.role is Role.CLERK
    forms: dict[str, object] = {}
    if can_act:
        forms = _action_forms(record)
    return render_template(
        "desk/case.html",
        case=record,
        history=audit_trail(db.session, record.id),
        can_act=can_act,
        forms=forms,
        zone_name=record.precinct.time_zone,
    )


def _action_forms(record: CertificateCase) -> dict[str, object]:
    """The forms the case's current state allows (the machine decides again on submit)."""
    forms: dict[str, object] = {}
    if record.state is CaseState.RECEIVED:
        issue = IssueForm(formdata=None, form_key=new_form_key())
        if record.applicant_kind is ApplicantKind.REPRESENTATIVE:
            issue.handed_to.data = "representative"
        else:
            issue.handed_to.choices = [SelectChoice("voter", _("The voter"))]
        forms["issue"] = issue
        refuse = RefuseForm(formdata=None, form_key=new_form_key())
        refuse.code.choices = _refusal_choices()
        forms["refuse"] = refuse
        forms["withdraw"] = ReasonForm(formdata=None, form_key=new_form_key())
    elif record.state is CaseState.ISSUED:
        for name in ("spoil", "lost", "cancel"):
            forms[name] = ReasonForm(formdata=None, form_key=new_form_key())
    return forms


def _refusal_choices() -> list[SelectChoice]:
    return [
        SelectChoice(code.value, str(REFUSALS[code]))
        for code in RefusalCode
        if code in MANUAL_REFUSAL_CODES
    ]


def _act(
    case_id: int,
    form: IssueForm | ReasonForm | RefuseForm,
    action: Callable[[CertificateCase], CaseOutcome],
    success: str,
) -> Response | str:
    actor = current_actor()
    try:
        record = scoped_case(db.session, actor, case_id)
    except NotFound:
        deny()
    target = url_for("desk.case", case_id=case_id)
    if not form.validate_on_submit():
        for field_errors in form.errors.values():
            for error in field_errors:
                flash(str(error), "danger")
        return redirect(target)
    key = form.form_key.data
    if replay := claim_form_key(key):
        return redirect(replay)
    try:
        outcome = action(record)
    except InvalidInput:
        db.session.rollback()
        flash(_("The choice of who receives the certificate is not possible here."), "danger")
        return redirect(target)
    except NotFound:
        deny()
    finish_form_key(key, target)
    if replay := commit_or_replay(key):
        return replay
    _flash_outcome(outcome, success)
    return redirect(target)


@bp.post("/cases/<int:case_id>/issue")
@roles_required(*CLERK)
def issue(case_id: int) -> Response | str:
    form = IssueForm()
    form.handed_to.choices = [SelectChoice("voter"), SelectChoice("representative")]

    def action(record: CertificateCase) -> CaseOutcome:
        return case_service.issue_certificate(
            db.session, current_actor(), record.id, now(), ApplicantKind(form.handed_to.data)
        )

    return _act(case_id, form, action, _("Certificate issued. Print it and hand it over."))


@bp.post("/cases/<int:case_id>/refuse")
@roles_required(*CLERK)
def refuse(case_id: int) -> Response | str:
    form = RefuseForm()
    form.code.choices = _refusal_choices()

    def action(record: CertificateCase) -> CaseOutcome:
        return case_service.refuse_application(
            db.session,
            current_actor(),
            record.id,
            RefusalCode(form.code.data),
            form.note.data or "",
            now(),
        )

    return _act(case_id, form, action, _("Application refused. Print the refusal notice."))


def _reason_action(
    service: Callable[..., CaseOutcome],
) -> Callable[[int], Response | str]:
    def handler(case_id: int) -> Response | str:
        form = ReasonForm()

        def action(record: CertificateCase) -> CaseOutcome:
            return service(db.session, current_actor(), record.id, form.reason.data or "", now())

        return _act(case_id, form, action, _("Done."))

    return handler


bp.add_url_rule(
    "/cases/<int:case_id>/withdraw",
    "withdraw",
    roles_required(*CLERK)(_reason_action(case_service.withdraw_application)),
    methods=["POST"],
)
bp.add_url_rule(
    "/cases/<int:case_id>/spoil",
    "spoil",
    roles_required(*CLERK)(_reason_action(case_service.spoil_certificate)),
    methods=["POST"],
)
bp.add_url_rule(
    "/cases/<int:case_id>/lost",
    "lost",
    roles_required(*CLERK)(_reason_action(case_service.report_certificate_lost)),
    methods=["POST"],
)
bp.add_url_rule(
    "/cases/<int:case_id>/cancel",
    "cancel",
    roles_required(*CLERK)(_reason_action(case_service.cancel_certificate)),
    methods=["POST"],
)


@bp.get("/cases/<int:case_id>/print")
@roles_required(*CLERK)
def print_case(case_id: int) -> Response | WerkzeugResponse:
    """The certificate PDF (a reprint is marked and audited), or the refusal notice."""
    try:
        record = scoped_case(db.session, current_actor(), case_id)
    except NotFound:
        deny()
    election = db.session.get_one(Election, record.election_id)
    if record.state is CaseState.REFUSED:
        reasons = []
        for language in ("kk", "ru"):
            with force_locale(language):
                reasons.append(refusal_text(record.refusal_code))
        body = print_refusal(db.session, current_actor(), record, (reasons[0], reasons[1]), now())
        name = f"refusal-{record.id}.pdf"
    else:
        certificate = record.live_certificate
        if certificate is None or certificate.state is not CertificateState.ISSUED:
            flash(_("There is no issued certificate to print for this case."), "warning")
            return redirect(url_for("desk.case", case_id=record.id))
        seal = election_seal(Path(current_app.instance_path), election.code)
        body = print_certificate(db.session, current_actor(), record, certificate, seal, now())
        name = f"certificate-{certificate.number}.pdf"
    db.session.commit()
    return _pdf(body, name)


@bp.get("/register.pdf")
@roles_required(*CLERK)
def register_pdf() -> Response:
    election = chosen_election()
    return _pdf(print_register(db.session, election, own_precinct(election)), "register.pdf")


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename={name}", "Cache-Control": "no-store"},
    )


@bp.get("/register")
@roles_required(*READERS)
def register() -> str | Response:
    election = chosen_election()
    form = RegisterFilterForm(request.args)
    form.state.choices = [SelectChoice("", _("all"))] + [
        SelectChoice(state.value, certificate_state_text(state.value)) for state in CertificateState
    ]
    if request.args and not form.validate():
        # A filter that does not validate filters nothing (the form shows what was wrong).
        form.state.data = ""
        form.day.data = None
    statement = scoped(select(Certificate), Certificate.precinct_id, current_actor()).where(
        Certificate.election_id == election.id
    )
    # Optional() lets blank text through validation: only a real state filters.
    if form.state.data in CertificateState._value2member_map_:
        statement = statement.where(Certificate._state == CertificateState(form.state.data))
    if form.day.data and not MIN_DAY <= form.day.data <= MAX_DAY:
        form.day.errors = [
            _(
                "Choose a date between %(first)s and %(last)s.",
                first=MIN_DAY.isoformat(),
                last=MAX_DAY.isoformat(),
            )
        ]
        form.day.data = None
    if form.day.data:
        # A superset in SQL (any zone's wall-clock day lies within it), exact per row below.
        wide_start = datetime.combine(form.day.data, time(0), tzinfo=UTC) - DAY_MARGIN
        statement = statement.where(
            Certificate.issued_at >= wide_start,
            Certificate.issued_at < wide_start + timedelta(days=1) + 2 * DAY_MARGIN,
        )
    statement = statement.order_by(Certificate.serial)
    if request.args.get("format") == "csv":
        return _register_csv(db.session.scalars(statement), form)
    rows = [row for row in db.session.scalars(statement.limit(2000)) if _on_day(row, form.day.data)]
    return render_template("desk/register.html", form=form, rows=rows, election=election)


def _on_day(certificate: Certificate, day: date | None) -> bool:
    if day is None:
        return True
    local = certificate.issued_at.astimezone(zone(certificate.precinct.time_zone))
    return local.date() == day


def _neutralise(cell: str) -> str:
    """Spreadsheets run cells starting with = + - @ (and tab/CR) as formulas: defuse them."""
    if cell and cell[0] in "=+-@\t\r":
        return "'" + cell
    return cell


def _register_csv(rows: Iterator[Certificate], form: RegisterFilterForm) -> Response:
    """The register as CSV; cells that a spreadsheet would run as formulas are defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            _("Number"),
            _("Voter"),
            _("IIN"),
            _("Issued (local time)"),
            _("Received by"),
            _("State"),
            _("Precinct"),
        ]
    )
    for certificate in rows:
        if not _on_day(certificate, form.day.data):
            continue
        case = certificate.case
        received_by = (
            _("voter")
            if certificate.handed_to is ApplicantKind.VOTER
            else _("representative: %(name)s", name=case.representative_name or "")
        )
        writer.writerow(
            [
                _neutralise(cell)
                for cell in (
                    certificate.number,
                    certificate.voter.full_name,
                    mask_iin(certificate.voter.iin),
                    local_time(certificate.issued_at, certificate.precinct.time_zone),
                    received_by,
                    certificate_state_text(certificate.state.value),
                    str(certificate.precinct.number),
                )
            ]
        )
    # Built whole while the session is open: a precinct's register is small (hundreds of rows).
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=register.csv"},
    )
