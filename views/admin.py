"""Territorial and central commission screens: users, precincts, election settings."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from forms.admin import (
    ROLE_LABELS,
    ActiveForm,
    MoveUserForm,
    ResetPasswordForm,
    UserForm,
)
from models import Role, User, db
from services.accounts import (
    UserInput,
    create_user,
    manageable_roles,
    move_user,
    place_user,
    set_active,
    set_password,
)
from services.administration import (
    figure_precincts,
    visible_commissions,
    visible_precinct_list,
    visible_users,
)
from services.documents import print_reconciliation
from services.errors import InvalidInput, NotFound
from services.figures import territory_figures
from views.elections import edit_election
from views.web import chosen_election, current_actor, deny, now, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

MANAGERS = (Role.ADMIN, Role.TERRITORIAL)


def _roles() -> list[Role]:
    """The roles the signed-in manager may hand out, in the model's order."""
    allowed = manageable_roles(current_actor())
    return [role for role in Role if role in allowed]


def _fill_choices(form: UserForm | MoveUserForm) -> None:
    """Placements are offered in the election the screens show."""
    actor = current_actor()
    election = chosen_election()
    form.role.choices = [SelectChoice(role.value, str(ROLE_LABELS[role])) for role in _roles()]
    form.precinct_id.choices = [SelectChoice("0", "—")] + [
        SelectChoice(str(p.id), f"№ {p.number} — {p.locality.name_ru}, {p.address_ru}")
        for p in visible_precinct_list(db.session, actor, election.id)
    ]
    form.territorial_commission_id.choices = [SelectChoice("0", "—")] + [
        SelectChoice(str(c.id), c.name_ru)
        for c in visible_commissions(db.session, actor, election.id)
    ]


def _input(form: UserForm | MoveUserForm, username: str) -> UserInput:
    return UserInput(
        username=username,
        full_name=form.full_name.data or "",
        role=Role(form.role.data),
        precinct_id=form.precinct_id.data or None,
        territorial_commission_id=form.territorial_commission_id.data or None,
    )


def _managed_user(user_id: int) -> User:
    """A user the actor may manage, or the not-found answer."""
    user = db.session.get(User, user_id)
    if (
        user is None
        or user not in visible_users(db.session, current_actor())
        or user.role not in _roles()
    ):
        deny()
    return user


@bp.route("/users", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def users() -> str | Response:
    form = UserForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            create_user(
                db.session,
                current_actor(),
                _input(form, form.username.data or ""),
                form.password.data or "",
                now(),
            )
        except NotFound:
            deny()
        except InvalidInput as error:
            db.session.rollback()
            field = getattr(form, error.field, form.username)
            field.errors = [*field.errors, _field_message(error.field)]
        else:
            db.session.commit()
            flash(_("User created."), "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/users.html",
        form=form,
        users=visible_users(db.session, current_actor()),
        role_labels=ROLE_LABELS,
        election=chosen_election(),
    )


def _field_message(field: str) -> str:
    messages = {
        "username": _("This username is taken or empty."),
        "password": _("The password is too weak: use at least 10 characters."),
        "precinct_id": _("Clerks and check-in staff need a precinct."),
        "territorial_commission_id": _("Territorial staff need a territorial commission."),
        "active": _("You cannot deactivate your own account."),
    }
    return messages.get(field, _("This value is not accepted."))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def user(user_id: int) -> str | Response:
    target = _managed_user(user_id)
    move_form = MoveUserForm(prefix="move")
    _fill_choices(move_form)
    election = chosen_election()
    if move_form.validate_on_submit():
        if move_form.role.data not in {r.value for r in _roles()}:
            deny()
        wanted = _input(move_form, target.username)
        # A first placement in this election takes nothing away: the user stays signed in.
        first_here = (
            wanted.role is target.role
            and wanted.full_name.strip() == target.full_name
            and target.placement_in(election.id) is None
            and (wanted.precinct_id or wanted.territorial_commission_id)
        )
        try:
            if first_here:
                place_user(
                    db.session,
                    current_actor(),
                    target.id,
                    precinct_id=wanted.precinct_id,
                    territorial_commission_id=wanted.territorial_commission_id,
                    now=now(),
                )
            else:
                move_user(db.session, current_actor(), target.id, wanted, now())
        except NotFound:
            deny()
        except InvalidInput as error:
            db.session.rollback()
            field = getattr(move_form, error.field, move_form.role)
            field.errors = [*field.errors, _field_message(error.field)]
        else:
            db.session.commit()
            if first_here:
                flash(_("User placed in this election."), "success")
            else:
                flash(_("User updated: they must sign in again."), "success")
            return redirect(url_for("admin.user", user_id=target.id))
    elif not move_form.is_submitted():
        placement = target.placement_in(election.id)
        move_form.full_name.data = target.full_name
        move_form.role.data = target.role.value
        move_form.precinct_id.data = (placement.precinct_id if placement else None) or 0
        move_form.territorial_commission_id.data = (
            placement.territorial_commission_id if placement else None
        ) or 0
    return render_template(
        "admin/user.html",
        target=target,
        election=election,
        move_form=move_form,
        password_form=ResetPasswordForm(prefix="pw", formdata=None),
        active_form=ActiveForm(prefix="active", formdata=None),
        role_labels=ROLE_LABELS,
    )


@bp.post("/users/<int:user_id>/password")
@roles_required(*MANAGERS)
def reset_password(user_id: int) -> Response:
    target = _managed_user(user_id)
    form = ResetPasswordForm(prefix="pw")
    if not form.validate_on_submit():
        flash(_("The password is too weak: use at least 10 characters."), "danger")
        return redirect(url_for("admin.user", user_id=target.id))
    try:
        set_password(db.session, current_actor(), target.id, form.password.data or "", now())
    except InvalidInput:
        db.session.rollback()
        flash(_("The password is too weak: use at least 10 characters."), "danger")
    else:
        db.session.commit()
        flash(_("Password reset. Every session of this user has ended."), "success")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/active")
@roles_required(*MANAGERS)
def toggle_active(user_id: int) -> Response:
    target = _managed_user(user_id)
    if not ActiveForm(prefix="active").validate_on_submit():
        abort(400)
    try:
        set_active(db.session, current_actor(), target.id, not target.active, now())
    except InvalidInput as error:
        db.session.rollback()
        flash(_field_message(error.field), "danger")
    else:
        db.session.commit()
        flash(_("User updated: they must sign in again."), "success")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.get("/precincts")
@roles_required(*MANAGERS)
def precincts() -> str:
    election = chosen_election()
    return render_template(
        "admin/precincts.html",
        precincts=visible_precinct_list(db.session, current_actor(), election.id),
        election=election,
    )


@bp.route("/election", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def election() -> str | Response:
    """The settings of the election the screens show."""
    return edit_election(chosen_election())


@bp.get("/elections")
@roles_required(Role.ADMIN)
def elections() -> Response:
    return redirect(url_for("elections.index"))


@bp.get("/figures")
@roles_required(Role.ADMIN, Role.TERRITORIAL, Role.OBSERVER)
def figures() -> str:
    """Aggregates only: no names or IINs, so observers may see them too."""
    record = chosen_election()
    precincts = figure_precincts(db.session, current_actor(), record.id)
    rows = territory_figures(db.session, record, precincts)
    return render_template("admin/figures.html", rows=rows, election=record)


@bp.get("/reconciliation.pdf")
@roles_required(Role.ADMIN, Role.TERRITORIAL)
def reconciliation_pdf() -> Response:
    record = chosen_election()
    precincts = figure_precincts(db.session, current_actor(), record.id)
    body = print_reconciliation(db.session, record, precincts, now())
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": "inline; filename=reconciliation.pdf"},
    )
