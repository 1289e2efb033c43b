"""What every view shares: the clock, the actor, role checks, one-time form keys, local time."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import abort, current_app, redirect, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from models import Election, FormSubmission, Precinct, Role, db
from models.base import table_of
from services.accounts import actor_of, record_access_refused
from services.audit import Actor
from services.elections import election_for, visible_elections
from services.errors import NotFound
from services.scope import placed_precinct, sole_desk
from workflow.calendar import zone

F = TypeVar("F", bound=Callable[..., Any])


def now() -> datetime:
    """The server clock (injected), never the client's."""
    clock = current_app.extensions["kuelik_clock"]
    instant: datetime = clock.now()
    return instant


def current_actor() -> Actor:
    return actor_of(current_user._get_current_object())


_ELECTION_KEY = "kuelik.election"
_VISIBLE_KEY = "kuelik.visible_elections"
_DESK_PRECINCT_KEY = "kuelik.desk_precinct"
SESSION_ELECTION = "election_id"


class NoElection(Exception):
    """The user sees no election at all (none exists yet, or they are placed in none)."""


class NotPlaced(Exception):
    """Precinct staff with no precinct in the election shown: nothing of theirs to do here."""

    def __init__(self, election: Election) -> None:
        super().__init__(election.code)
        self.election = election


def _requested_election_id() -> int | None:
    """An election named by the request (a form's hidden field, then the query), or by the
    choice kept in the session."""
    for raw in (request.form.get("election_id"), request.args.get("election")):
        if raw and raw.isascii() and raw.isdigit() and len(raw) < 10:
            return int(raw)
    kept = session.get(SESSION_ELECTION)
    return kept if isinstance(kept, int) else None


def chosen_election() -> Election:
    """The election this request's screens show: named by the request, kept in the session,
    or the user's default (the one whose window or voting day is current)."""
    cached: Election | None = request.environ.get(_ELECTION_KEY)
    if cached is not None:
        return cached
    actor = current_actor()
    wanted = _requested_election_id()
    visible = elections_to_choose()
    try:
        election = election_for(db.session, actor, wanted, now(), visible)
    except NotFound:
        if wanted is None:
            raise NoElection from None
        # A choice that is gone or out of sight: fall back on the default.
        session.pop(SESSION_ELECTION, None)
        try:
            election = election_for(db.session, actor, None, now(), visible)
        except NotFound:
            raise NoElection from None
    request.environ[_ELECTION_KEY] = election
    return election


def elections_to_choose() -> list[Election]:
    """The elections the navigation bar offers (the user's own, newest first).

    Read once per request: the screen's election and the navigation bar both need them.
    """
    if not current_user.is_authenticated:
        return []
    cached: list[Election] | None = request.environ.get(_VISIBLE_KEY)
    if cached is None:
        actor = current_actor()
        # A desk account placed at one precinct sees that precinct's election only: both come
        # in one statement, and the screen's own_precinct needs no statement of its own.
        desk = sole_desk(db.session, actor)
        if desk is None:
            cached = visible_elections(db.session, actor)
        else:
            cached = [desk[0]]
            request.environ[_DESK_PRECINCT_KEY] = desk[1]
        request.environ[_VISIBLE_KEY] = cached
    return cached


def election_name(election: Election) -> str:
    """The election's name in the interface language (Kazakh, Russian or English)."""
    language = str(get_locale() or "kk")[:2]
    return {"ru": election.name_ru, "en": election.name_en}.get(language, election.name_kk)


def own_precinct(election: Election) -> Precinct:
    """The precinct where the signed-in staff member works in this election (NotPlaced if none)."""
    desk: Precinct | None = request.environ.get(_DESK_PRECINCT_KEY)
    if desk is not None and desk.election_id == election.id:
        return desk
    precinct = placed_precinct(db.session, current_actor(), election.id)
    if precinct is None:
        raise NotPlaced(election)
    return precinct


def deny(precinct_id: int | None = None) -> NoReturn:
    """Out of role or scope: audit it, then answer exactly as for a record that does not exist."""
    db.session.rollback()
    if current_user.is_authenticated:
        record_access_refused(
            db.session, current_actor(), now(), request.endpoint or request.path, precinct_id
        )
        db.session.commit()
    abort(404)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Signed in, in one of the roles; anyone else gets the not-found answer (and an audit)."""
    allowed = {role.value for role in roles}

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role.value not in allowed:
                deny()
            return view(*args, **kwargs)

        wrapper.allowed_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def new_form_key() -> str:
    """A one-time key for the form being rendered (the CSRF token alone is reusable)."""
    return secrets.token_urlsafe(24)


def claim_form_key(key: str | None) -> str | None:
    """Claim the key inside the action's transaction. None: go on. A URL: it was used, go there.

    The key is inserted with the action's own rows, at once: a twin request in flight waits on
    it, then finds the key taken; a replay finds it taken, and does not act twice.
    """
    if not key or len(key) > 64:
        return None
    # Core on the session's connection: through the session it would take the ORM's bulk
    # path, which costs more than the round trip.
    table = table_of(FormSubmission)
    claimed = (
        db.session.connection()
        .execute(
            _insert_for(db.session.get_bind().dialect.name)(table)
            .values(key=key, user_id=current_user.id, created_at=now(), result_url="")
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.key)
        )
        .scalar()
    )
    if claimed is not None:
        return None
    existing = db.session.get(FormSubmission, key, populate_existing=True)
    if existing is None:  # pragma: no cover - ON CONFLICT saw a row that is gone now
        return request.path
    return existing.result_url if existing.user_id == current_user.id else None


def _insert_for(dialect: str) -> Callable[..., Any]:
    """INSERT with ON CONFLICT: one statement, no savepoint round trips."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def finish_form_key(key: str | None, result_url: str) -> None:
    """Record where the first submission led, so a replay lands on the same page."""
    if not key or len(key) > 64:
        return
    table = table_of(FormSubmission)
    db.session.connection().execute(
        update(table).where(table.c.key == key).values(result_url=result_url)
    )


def commit_or_replay(key: str | None) -> Response | None:
    """Commit the action; if a concurrent twin already committed the same key, follow it."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.get(FormSubmission, key) if key else None
        if existing is not None and existing.result_url:
            return redirect(existing.result_url)
        raise
    return None


def safe_next(target: str | None) -> str | None:
    """A redirect target only if it is a path on this site.

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so "/\t/evil" or
    "/\\evil" would become "//evil", another site: any control character or backslash is refused.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    return target


def local_time(instant: datetime | None, zone_name: str, with_zone: bool = True) -> str:
    """An instant on a precinct's wall clock, with the zone, e.g. '2022-05-25 12:00 (UTC+06:00)'."""
    if instant is None:
        return ""
    local = instant.astimezone(zone(zone_name))
    text = local.strftime("%Y-%m-%d %H:%M")
    if with_zone:
        offset = local.strftime("%z")
        text += f" ({zone_name}, UTC{offset[:3]}:{offset[3:]})"
    return text
