"""Elections on the web: choose the one the screens show, read them, and (the central
commission) create, edit and correct them and give them their network, lists and stock."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from forms.admin import ElectionForm, NewElectionForm
from forms.elections import ChooseElectionForm, CopyNetworkForm, ImportForm, StockForm
from maps import MAPS
from models import (
    Election,
    ImportJob,
    Placement,
    Precinct,
    Region,
    Role,
    StockRange,
    VoterEntry,
    db,
)
from services.administration import visible_precinct_list
from services.elections import (
    ELECTION_FIELDS,
    ElectionInput,
    change_election,
    corrections,
    create_election,
    network_zones,
    phase_of,
    visible_elections,
)
from services.errors import InvalidInput, NotFound
from services.import_jobs import queue_import, upload_path
from services.network import NetworkLocked, carry_over_staff, copy_network, load_map
from services.stock import allot_stock
from views.imports import start_import
from views.messages import (
    ELECTION_KINDS,
    ELECTION_PHASES,
    IMPORT_WORDS,
    MAP_LABELS,
    election_problem_text,
)
from views.web import (
    SESSION_ELECTION,
    current_actor,
    deny,
    election_name,
    now,
    roles_required,
    safe_next,
)
from workflow.elections import ElectionKind, ElectionRefused

bp = Blueprint("elections", __name__)

ANYONE = tuple(Role)
MANAGERS = (Role.ADMIN, Role.TERRITORIAL)


@bp.app_context_processor
def _election_helpers() -> dict[str, object]:
    return {
        "election_name": election_name,
        "kind_text": _kind_text,
        "phase_text": _phase_text,
        "import_word": _import_word,
    }


def _import_word(word: str) -> str:
    label = IMPORT_WORDS.get(word)
    return str(label) if label is not None else word


def _kind_text(kind: str) -> str:
    label = ELECTION_KINDS.get(kind)
    return str(label) if label is not None else kind


def _phase_text(phase: str) -> str:
    label = ELECTION_PHASES.get(phase)
    return str(label) if label is not None else phase


def _visible(election_id: int) -> Election:
    election = next(
        (e for e in visible_elections(db.session, current_actor()) if e.id == election_id), None
    )
    if election is None:
        deny()
    return election


@bp.post("/elections/choose")
@roles_required(*ANYONE)
def choose() -> Response:
    """Keep the chosen election for this session's screens (a form names it in each tab)."""
    form = ChooseElectionForm()
    form.election_id.choices = [
        SelectChoice(str(e.id)) for e in visible_elections(db.session, current_actor())
    ]
    if form.validate_on_submit():
        session[SESSION_ELECTION] = int(form.election_id.data)
    target = safe_next(request.form.get("next")) or url_for("elections.index")
    # The page goes on without the old choice in its address.
    return redirect(target.split("?election=")[0])


@bp.get("/elections")
@roles_required(*ANYONE)
def index() -> str:
    elections = visible_elections(db.session, current_actor())
    instant = now()
    rows = [(e, phase_of(db.session, e, instant)) for e in elections]
    return render_template("elections/index.html", rows=rows)


@bp.get("/elections/<int:election_id>")
@roles_required(*ANYONE)
def show(election_id: int) -> str:
    """An election's calendar on every clock of its network, its rules, and its corrections."""
    election = _visible(election_id)
    rules = election.rules()
    instant = now()
    clocks = []
    for zone_name in network_zones(db.session, election.id):
        window = rules.issue_window(zone_name) if rules.has_window else (None, None)
        clocks.append(
            {
                "zone": zone_name,
                "opens": window[0],
                "deadline": window[1],
                "voting": rules.voting_hours(zone_name),
            }
        )
    return render_template(
        "elections/show.html",
        election=election,
        phase=phase_of(db.session, election, instant),
        clocks=clocks,
        corrections=corrections(db.session, election.id),
        counts=_network_counts(election.id),
        jobs=_jobs(election.id) if current_user_manages() else [],
    )


def current_user_manages() -> bool:
    return current_actor().role in (Role.ADMIN.value, Role.TERRITORIAL.value)


def _network_counts(election_id: int) -> dict[str, int]:
    def count(model: Any) -> int:
        return int(
            db.session.scalar(
                select(func.count()).select_from(model).where(model.election_id == election_id)
            )
            or 0
        )

    return {
        "regions": count(Region),
        "precincts": count(Precinct),
        "voters": count(VoterEntry),
        "stock_ranges": count(StockRange),
        "placements": count(Placement),
    }


def _jobs(election_id: int) -> list[ImportJob]:
    statement = select(ImportJob).where(ImportJob.election_id == election_id)
    actor = current_actor()
    if actor.role != Role.ADMIN.value:
        statement = statement.where(ImportJob.created_by_id == actor.user_id)
    return list(db.session.scalars(statement.order_by(ImportJob.id.desc()).limit(20)))


# --------------------------------------------------------------------------------------------
# Creating and editing (the central commission)
# --------------------------------------------------------------------------------------------


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice(kind.value, _kind_text(kind.value)) for kind in ElectionKind]


def _show_problems(form: ElectionForm, refused: ElectionRefused) -> None:
    for problem in refused.problems:
        field = getattr(form, problem.name, None) or form.code
        field.errors = [*field.errors, election_problem_text(problem.code, problem.params)]


def _values(form: ElectionForm) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(form, name).data for name in ELECTION_FIELDS}
    for name in ("code", "name_kk", "name_ru", "name_en"):
        values[name] = (values[name] or "").strip()
    values["number_series"] = (values["number_series"] or "").strip() or None
    return values


@bp.route("/admin/elections/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new() -> str | Response:
    form = NewElectionForm()
    form.kind.choices = _kind_choices()
    others = visible_elections(db.session, current_actor())
    form.network.choices = [SelectChoice(f"map:{code}", str(MAP_LABELS[code])) for code in MAPS] + [
        SelectChoice(f"copy:{e.id}", _("Copy the network of: %(name)s", name=election_name(e)))
        for e in others
    ]
    if request.method == "GET":
        _defaults(form)
    if form.validate_on_submit():
        try:
            election = create_election(
                db.session, current_actor(), ElectionInput(**_values(form)), now()
            )
            _give_network(election, form.network.data or "", bool(form.with_staff.data))
        except ElectionRefused as refused:
            db.session.rollback()
            _show_problems(form, refused)
        except NetworkLocked:
            db.session.rollback()
            form.network.errors = [setup_message("election_id")]
        except (InvalidInput, NotFound):
            db.session.rollback()
            form.network.errors = [_("Choose where the precincts come from.")]
        else:
            db.session.commit()
            session[SESSION_ELECTION] = election.id
            flash(_("Election created. Import its precincts and voter lists next."), "success")
            return redirect(url_for("elections.show", election_id=election.id))
    return render_template("elections/edit.html", form=form, election=None, locked=False)


def _defaults(form: ElectionForm) -> None:
    """A new election starts with every Policy at its default (domain.md §6)."""
    form.issue_opens_at.data = time(0, 0)
    form.issue_deadline_at.data = time(18, 0)
    form.voting_opens_at.data = time(7, 0)
    form.voting_closes_at.data = time(20, 0)
    form.allow_surrender.data = True
    form.allow_return_home.data = True
    form.refuse_inclusion_in_home_locality.data = True
    form.proxy_warning_threshold.data = 3
    form.with_staff.data = True


def _give_network(election: Election, source: str, with_staff: bool) -> None:
    kind, _sep, value = source.partition(":")
    actor = current_actor()
    if kind == "map":
        load_map(db.session, actor, election.id, value, now())
    elif kind == "copy" and value.isdigit():
        copy_network(
            db.session,
            actor,
            source_id=int(value),
            target_id=election.id,
            now=now(),
            with_staff=with_staff,
        )
    else:
        raise InvalidInput("network", "unknown source")


def edit_election(election: Election) -> str | Response:
    """Edit while it is prepared; afterwards a correction with its written reason."""
    form = ElectionForm(obj=election)
    form.kind.choices = _kind_choices()
    instant = now()
    phase = phase_of(db.session, election, instant)
    if form.validate_on_submit():
        values = _values(form)
        if values["number_series"] is None:
            values["number_series"] = election.number_series
        try:
            change_election(
                db.session,
                current_actor(),
                election.id,
                values,
                instant,
                reason=form.reason.data or "",
            )
        except ElectionRefused as refused:
            db.session.rollback()
            _show_problems(form, refused)
        else:
            db.session.commit()
            flash(_("Election settings saved."), "success")
            return redirect(url_for("elections.show", election_id=election.id))
    return render_template(
        "elections/edit.html",
        form=form,
        election=election,
        locked=phase.value != "preparing",
        phase=phase,
    )


@bp.route("/admin/elections/<int:election_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(election_id: int) -> str | Response:
    return edit_election(_visible(election_id))


# --------------------------------------------------------------------------------------------
# Network, lists, stock, staff
# --------------------------------------------------------------------------------------------


@bp.route("/admin/elections/<int:election_id>/setup", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def setup(election_id: int) -> str | Response:
    """Where an election's precincts, voter lists, staff and number stock come from."""
    election = _visible(election_id)
    actor = current_actor()
    imports = ImportForm(prefix="import")
    imports.kind.choices = [SelectChoice("voters", _("voter list"))]
    if actor.role == Role.ADMIN.value:
        imports.kind.choices.insert(0, SelectChoice("precincts", _("precincts")))
    imports.mode.choices = [
        SelectChoice("add", _("add new rows (refuse rows that exist)")),
        SelectChoice("amend", _("add new rows and change existing ones")),
        SelectChoice("replace", _("replace the voter list with this file")),
    ]
    copy = CopyNetworkForm(prefix="copy")
    copy.source.choices = [
        SelectChoice(str(e.id), election_name(e))
        for e in visible_elections(db.session, actor)
        if e.id != election.id
    ]
    stock = StockForm(prefix="stock")
    if request.method == "POST":
        outcome = _setup_action(election, imports, copy, stock)
        if outcome is not None:
            return outcome
    return render_template(
        "elections/setup.html",
        election=election,
        imports=imports,
        copy=copy,
        stock=stock,
        counts=_network_counts(election.id),
        jobs=_jobs(election.id),
        precinct_count=len(visible_precinct_list(db.session, actor, election.id)),
    )


def _setup_action(
    election: Election, imports: ImportForm, copy: CopyNetworkForm, stock: StockForm
) -> Response | None:
    actor = current_actor()
    target = url_for("elections.setup", election_id=election.id)
    try:
        if imports.submit.data and imports.validate():
            upload = imports.file.data
            job = queue_import(
                db.session,
                actor,
                kind=imports.kind.data or "voters",
                election_id=election.id,
                file_name=str(getattr(upload, "filename", "") or "upload.csv"),
                skip_errors=bool(imports.skip_errors.data),
                now=now(),
                mode=imports.mode.data or "add",
            )
            upload.save(upload_path(Path(current_app.instance_path), job.id))
            job_id = job.id
            db.session.commit()
            start_import(actor, job_id)
            flash(_("The file is being imported: its progress is shown below."), "success")
            return redirect(target)
        if copy.carry_staff.data and copy.validate():
            summary = carry_over_staff(
                db.session, actor, source_id=int(copy.source.data), target_id=election.id, now=now()
            )
            db.session.commit()
            flash(
                _(
                    "%(placed)s staff placed; %(missing)s have no matching precinct or commission.",
                    placed=summary.placements,
                    missing=len(summary.unmatched_staff),
                ),
                "success",
            )
            return redirect(target)
        if stock.submit.data and stock.validate():
            done = allot_stock(
                db.session,
                actor,
                election_id=election.id,
                per_precinct=int(stock.per_precinct.data or 0),
                first_serial=int(stock.first_serial.data or 1),
                now=now(),
            )
            db.session.commit()
            flash(
                _(
                    "%(ranges)s ranges handed down, serials %(first)s to %(last)s.",
                    ranges=done.ranges,
                    first=done.first,
                    last=done.last,
                ),
                "success",
            )
            return redirect(target)
    except NotFound:
        deny()
    except InvalidInput as error:
        db.session.rollback()
        flash(setup_message(error.field), "danger")
        return redirect(target)
    return None


def setup_message(field: str) -> str:
    """Why a setup step was refused, in the user's language (services explain in English)."""
    messages = {
        "election_id": _(
            "The issue window has opened: precincts and voter lists no longer change by import. "
            "A voter moves to another list by re-listing."
        ),
        "mode": _("Choose how the file changes what is there."),
        "copy_from": _("Copy into an election whose network is still empty."),
        "map": _("This election already has its regions."),
        "range": _("These numbers overlap numbers already handed out, or run past the last one."),
        "per_precinct": _("Hand down between 1 and 100,000 numbers to each precinct."),
    }
    return messages.get(field, _("This value is not accepted."))
