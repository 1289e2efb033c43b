"""Blueprints: the only code that touches request, session, current_user and flash."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from extensions import login_manager
from models import User, db
from services.cases import ConcurrentChange
from views.api import is_api_request
from views.api.problems import plain_problem
from views.web import (
    NoElection,
    NotPlaced,
    chosen_election,
    elections_to_choose,
    local_time,
    now,
)

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)


def register_views(app: Flask) -> None:
    from views import admin, auth, checkin, desk, elections, i18n, public, tokens
    from views.api import register_api

    for module in (public, auth, i18n, desk, checkin, admin, elections, tokens):
        app.register_blueprint(module.bp)
    register_api(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = ""
    login_manager.user_loader(_load_user)
    # Before every other check (CSRF's included): they read keys this one refuses.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_nul_bytes)
    app.before_request(_enforce_session_limits)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unreachable)
    app.register_error_handler(ConcurrentChange, _concurrent_change)
    app.register_error_handler(NoElection, _no_election)
    app.register_error_handler(NotPlaced, _not_placed)
    app.register_error_handler(Exception, _unexpected_error)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["LANGUAGES"] = i18n.LANGUAGES
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["elections_to_choose"] = elections_to_choose
    app.jinja_env.globals["shown_election"] = shown_election


def _load_user(user_id: str) -> User | None:
    """The cookie holds id and session token; a rotated token (logout, password, move) fails."""
    raw_id, _sep, token = user_id.partition(":")
    if not raw_id.isdigit() or not token:
        return None
    # With the placements in the same statement: every request needs them for the actor.
    user: User | None = (
        db.session.execute(
            select(User)
            .where(User.id == int(raw_id), User.session_token == token, User.active)
            .options(joinedload(User.placements))
        )
        .unique()
        .scalar_one_or_none()
    )
    return user


def _refuse_nul_bytes() -> None:
    """No text field of ours can hold NUL (PostgreSQL refuses it): reject such input up front."""
    # API bodies are checked field by field by their schemas; only the query string is here.
    sources = (request.args,) if is_api_request() else (request.args, request.form)
    for values in sources:
        for key, value in values.items(multi=True):
            # A multipart part whose name cannot be read comes with the name None.
            if key is None or "\x00" in key or "\x00" in value:
                abort(400)
    if not is_api_request():
        for key in request.files:
            if key is None:
                abort(400)


def _enforce_session_limits() -> Response | None:
    """Idle 30 minutes or 12 hours in all: sign in again."""
    # A stylesheet is no activity, and must not load the user or touch the session cookie
    # (a response that sets a cookie is not one every browser may share from cache).
    if request.endpoint in current_app.extensions.get("kuelik_static_endpoints", ()):
        return None
    if is_api_request() or not current_user.is_authenticated:
        return None
    instant = now()
    started = _stamp(session.get("signed_in_at"))
    seen = _stamp(session.get("seen_at"))
    if (
        started is None
        or seen is None
        or (instant - seen > IDLE_TIMEOUT or instant - started > ABSOLUTE_TIMEOUT)
    ):
        logout_user()
        session.clear()
        flash(_("Your session has ended. Please sign in again."), "warning")
        return redirect(url_for("auth.login", next=request.full_path))
    session["seen_at"] = instant.isoformat()
    return None


def _stamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'",
    )
    return response


def _csrf_error(error: CSRFError) -> tuple[str, int] | Response:
    db.session.rollback()
    if is_api_request():
        return plain_problem(400)
    return (
        render_template(
            "error.html",
            title=_("The form has expired"),
            message=_("Please go back, reload the page and submit the form again."),
        ),
        400,
    )


def _http_error(error: HTTPException) -> tuple[str, int] | HTTPException | Response:
    db.session.rollback()
    code = error.code or 500
    if is_api_request():
        response = plain_problem(code)
        # A 405 must name the methods the address does take (RFC 9110 §15.5.6).
        if allowed := getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(allowed)
        return response
    if code == 404:
        title, message = _("Not found"), _("There is no such page or record.")
    elif code == 413:
        title, message = _("Too large"), _("What you sent is too large.")
    elif code == 405:
        title, message = _("Not allowed"), _("This address does not accept that request.")
    else:
        title, message = _("Request refused"), _("The request could not be understood.")
    return render_template("error.html", title=title, message=message), code


def _database_unreachable(error: OperationalError) -> tuple[str, int] | Response:
    """The database is briefly away: nothing half-done stays, the clerk simply retries."""
    db.session.rollback()
    if is_api_request():
        return plain_problem(503)
    # Render as anonymous: loading the signed-in user would ask the missing database again.
    g._login_user = login_manager.anonymous_user()
    return (
        render_template(
            "error.html",
            title=_("The database is not answering"),
            message=_("Nothing was saved. Wait a moment and try again."),
        ),
        503,
    )


def _concurrent_change(error: ConcurrentChange) -> tuple[str, int] | Response:
    db.session.rollback()
    if is_api_request():
        return plain_problem(409)
    return (
        render_template(
            "error.html",
            title=_("Someone else changed this record"),
            message=_("Nothing was saved. Reload the page to see the current state."),
        ),
        409,
    )


def shown_election() -> object:
    """The election the page shows, for the navigation bar (None when there is none)."""
    if not current_user.is_authenticated:
        return None
    try:
        return chosen_election()
    except (NoElection, SQLAlchemyError, HTTPException):
        # The bar must render even on the page that says the database is away, or that the
        # request was too large to read (its form names no election then).
        return None


def _no_election(error: NoElection) -> tuple[str, int]:
    db.session.rollback()
    return (
        render_template(
            "error.html",
            title=_("No election to show"),
            message=_(
                "There is no election you work in yet. The central commission creates "
                "elections and places their staff."
            ),
        ),
        404,
    )


def _not_placed(error: NotPlaced) -> tuple[str, int]:
    db.session.rollback()
    return (
        render_template(
            "error.html",
            title=_("You have no precinct in this election"),
            message=_(
                "Choose another election above, or ask your territorial commission to place "
                "you at a precinct of this one."
            ),
        ),
        404,
    )


def _unexpected_error(error: Exception) -> tuple[str, int] | Response:
    """A bug, not the user's fault: log it (no personal data in the message), answer politely."""
    from flask import current_app

    if isinstance(error, HTTPException):  # pragma: no cover - handled above
        raise error
    db.session.rollback()
    current_app.logger.exception("unexpected error on %s", request.endpoint)
    if is_api_request():
        return plain_problem(500)
    return (
        render_template(
            "error.html",
            title=_("Something went wrong"),
            message=_("Nothing was saved. Please try again; if it happens again, call support."),
        ),
        500,
    )
