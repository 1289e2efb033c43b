"""Sign in, sign out, change password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from forms.auth import LoginForm, PasswordForm
from models import Role, db
from services.accounts import SignInRefusal, authenticate, set_password, sign_out
from services.errors import InvalidInput
from services.passwords import verify_password
from views.web import current_actor, now, safe_next

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {
    Role.ADMIN: "admin.users",
    Role.TERRITORIAL: "admin.users",
    Role.CLERK: "desk.dashboard",
    Role.CHECKIN: "checkin.screen",
    Role.OBSERVER: "admin.figures",
}


def home_url() -> str:
    return url_for(HOME_BY_ROLE.get(current_user.role, "public.index"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        instant = now()
        result = authenticate(
            db.session,
            form.username.data or "",
            form.password.data or "",
            instant,
            request.remote_addr or "",
        )
        db.session.commit()
        if result.user is not None:
            session.clear()  # no fixation: a fresh session for the signed-in user
            login_user(result.user)
            session["signed_in_at"] = instant.isoformat()
            session["seen_at"] = instant.isoformat()
            return redirect(safe_next(request.args.get("next")) or home_url())
        messages = {
            SignInRefusal.BAD_CREDENTIALS: _("Wrong username or password."),
            SignInRefusal.THROTTLED: _(
                "Too many failed attempts. Wait 15 minutes, or ask your administrator."
            ),
            SignInRefusal.INACTIVE: _("This account is deactivated."),
        }
        flash(messages[result.refusal or SignInRefusal.BAD_CREDENTIALS], "danger")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    sign_out(db.session, current_user._get_current_object(), now())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    form = PasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data or ""):
            form.current_password.errors = [_("The current password is wrong.")]
        else:
            try:
                set_password(
                    db.session,
                    current_actor(),
                    current_user.id,
                    form.new_password.data or "",
                    now(),
                )
            except InvalidInput as error:
                form.new_password.errors = [_(error.message)]
            else:
                db.session.commit()
                logout_user()
                session.clear()
                flash(_("Password changed. Sign in with the new password."), "success")
                return redirect(url_for("auth.login"))
    return render_template("auth/password.html", form=form)
