"""API bearer tokens: created by the user or an admin, kept only as a hash, shown once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import ApiToken, Role, User
from services.accounts import ACCOUNT_ZONE
from services.audit import SYSTEM, Actor, record_event
from services.errors import InvalidInput, NotFound
from workflow.calendar import Moment

TOKEN_PREFIX = "kuelik_"  # noqa: S105 - a public marker, not a secret
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=366)
MAX_TOKENS_PER_USER = 20
# last_used_at is written at most this often, so reads do not turn every request into a write.
USE_STAMP_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created token: `secret` exists only here, never in the database."""

    token: ApiToken
    secret: str


def token_hash(secret: str) -> str:
    """256 random bits need no slow hash: SHA-256 is enough and keeps every request cheap."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _may_manage(actor: Actor, owner_id: int) -> bool:
    """The owner, an admin, or the system (the `create-token` command on the server)."""
    return actor.user_id == owner_id or actor.role in (Role.ADMIN.value, SYSTEM.role)


def create_token(
    session: Session,
    actor: Actor,
    *,
    owner_id: int,
    name: str,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> NewToken:
    """A new token for `owner_id` (oneself, or anyone for an admin)."""
    owner = session.get(User, owner_id)
    if owner is None or not owner.active or not _may_manage(actor, owner_id):
        raise NotFound("user")
    label = " ".join(name.split())
    if not label:
        raise InvalidInput("name", "Give the token a name, e.g. the script that will use it.")
    if len(label) > 100:
        raise InvalidInput("name", "At most 100 characters.")
    if not timedelta(days=1) <= lifetime <= MAX_LIFETIME:
        raise InvalidInput("lifetime_days", "A token lives from 1 to 366 days.")
    live = live_tokens(session, owner_id, now)
    if len(live) >= MAX_TOKENS_PER_USER:
        raise InvalidInput("name", "Too many tokens: revoke one you no longer use.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=owner_id,
        name=label,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=token_hash(secret),
        created_at=now,
        created_by_id=actor.user_id,
        expires_at=now + lifetime,
    )
    session.add(token)
    session.flush()
    _audit(session, actor, now, "token_created", owner, token)
    return NewToken(token, secret)


def live_tokens(session: Session, owner_id: int, now: datetime) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(
                ApiToken.user_id == owner_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
            )
            .order_by(ApiToken.id)
        )
    )


def revoke_token(session: Session, actor: Actor, token_id: int, now: datetime) -> ApiToken:
    """Revoke at once; revoking twice is harmless (the first instant stays)."""
    token = session.get(ApiToken, token_id)
    if token is None or not _may_manage(actor, token.user_id):
        raise NotFound("token")
    if token.revoked_at is None:
        token.revoked_at = now
        _audit(session, actor, now, "token_revoked", token.user, token)
        session.flush()
    return token


def authenticate_token(session: Session, secret: str, now: datetime) -> ApiToken | None:
    """The live token of an active user, or None (unknown, revoked, expired, inactive)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    # The user and their placements in the same statement: every request needs the actor.
    token = (
        session.execute(
            select(ApiToken)
            .where(ApiToken.token_hash == token_hash(secret))
            .options(joinedload(ApiToken.user).joinedload(User.placements))
        )
        .unique()
        .scalar_one_or_none()
    )
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = token.user
    if not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > USE_STAMP_INTERVAL:
        token.last_used_at = now
    return token


def _audit(
    session: Session, actor: Actor, now: datetime, event: str, owner: User, token: ApiToken
) -> None:
    record_event(
        session,
        actor=actor,
        moment=Moment(now, ACCOUNT_ZONE),
        event=event,
        outcome="accepted",
        payload={"user_id": owner.id, "token_id": token.id, "prefix": token.prefix},
    )
