"""API tokens on the web: a user manages their own, an admin anyone's. A secret is shown once."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from forms.auth import TokenForm
from models import ApiToken, Role, User, db
from services.errors import InvalidInput, NotFound
from services.tokens import create_token, revoke_token
from views.web import (
    claim_form_key,
    commit_or_replay,
    current_actor,
    deny,
    finish_form_key,
    new_form_key,
    now,
    roles_required,
)

bp = Blueprint("tokens", __name__)

EVERYONE = tuple(Role)


def _owner(user_id: int | None) -> User:
    """Oneself, or (for an admin) the user named in the URL."""
    if user_id is None or user_id == current_user.id:
        return current_user._get_current_object()  # type: ignore[no-any-return]
    if current_user.role is not Role.ADMIN:
        deny()
    owner = db.session.get(User, user_id)
    if owner is None:
        deny()
    return owner


def _page(owner: User, form: TokenForm, secret: str | None = None) -> str:
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == owner.id).order_by(ApiToken.id.desc())
    ).all()
    return render_template(
        "auth/tokens.html", owner=owner, tokens=tokens, form=form, secret=secret, now=now()
    )


def _manage(user_id: int | None) -> str | Response:
    owner = _owner(user_id)
    form = TokenForm()
    here = (
        url_for("tokens.mine") if user_id is None else url_for("tokens.of_user", user_id=owner.id)
    )
    if not form.validate_on_submit():
        form.form_key.data = new_form_key()
        return _page(owner, form)
    key = form.form_key.data
    if replay := claim_form_key(key):
        # The secret was shown to the first submission only; a replay shows the list.
        return redirect(replay)
    try:
        created = create_token(
            db.session,
            current_actor(),
            owner_id=owner.id,
            name=form.name.data or "",
            now=now(),
            lifetime=timedelta(days=form.lifetime_days.data or 90),
        )
    except (InvalidInput, NotFound):
        db.session.rollback()
        flash(_("The token could not be created: revoke one you no longer use."), "danger")
        return redirect(here)
    finish_form_key(key, here)
    if replay := commit_or_replay(key):
        return replay
    fresh = TokenForm(formdata=None, form_key=new_form_key())
    return _page(owner, fresh, created.secret)


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles_required(*EVERYONE)
def mine() -> str | Response:
    return _manage(None)


@bp.route("/admin/users/<int:user_id>/tokens", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def of_user(user_id: int) -> str | Response:
    return _manage(user_id)


@bp.post("/account/tokens/<int:token_id>/revoke")
@roles_required(*EVERYONE)
def revoke(token_id: int) -> Response:
    try:
        token = revoke_token(db.session, current_actor(), token_id, now())
    except NotFound:
        deny()
    db.session.commit()
    flash(_("The token is revoked: it no longer opens the API."), "success")
    if token.user_id == current_user.id:
        return redirect(url_for("tokens.mine"))
    return redirect(url_for("tokens.of_user", user_id=token.user_id))
