"""Accounts: sign-in with throttling, session invalidation, and user administration."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import ApiToken, LoginThrottle, Placement, Precinct, Role, TerritorialCommission, User
from models.user import PRECINCT_ROLES, new_session_token
from services.audit import SYSTEM, Actor, record_event
from services.errors import InvalidInput, NotFound
from services.passwords import check_password_strength, hash_password, verify_password
from workflow.calendar import Moment

# Five failures within fifteen minutes lock the account key for fifteen minutes.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
# Sign-in events have no precinct yet; they are stamped on the capital's clock.
ACCOUNT_ZONE = "Asia/Almaty"
# Verifying against a throwaway hash keeps unknown usernames as slow as known ones.
_DUMMY_HASH = hash_password("kuelik-timing-equaliser")


class SignInRefusal(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"
    INACTIVE = "inactive"


@dataclass(frozen=True, slots=True)
class SignInResult:
    user: User | None
    refusal: SignInRefusal | None = None


def actor_of(user: User) -> Actor:
    """The service-layer view of a signed-in user, with where they work in every election."""
    return Actor(
        user.id,
        user.role.value,
        frozenset(p.precinct_id for p in user.placements if p.precinct_id is not None),
        frozenset(
            p.territorial_commission_id
            for p in user.placements
            if p.territorial_commission_id is not None
        ),
    )


def _throttle_key(username: str) -> str:
    return hashlib.sha256(f"kuelik-login:{username.strip().casefold()}".encode()).hexdigest()


def authenticate(
    session: Session, username: str, password: str, now: datetime, client: str
) -> SignInResult:
    """Check a password; every success, failure and lockout is an audit event."""
    key = _throttle_key(username)
    throttle = session.get(LoginThrottle, key)

    def outcome(user: User | None, refusal: SignInRefusal | None) -> SignInResult:
        record_event(
            session,
            actor=Actor(None, "anonymous") if user is None else actor_of(user),
            moment=Moment(now, ACCOUNT_ZONE),
            event="sign_in",
            outcome="accepted" if refusal is None else "refused",
            code=refusal,
            # The account is named by its throttle key, never by the username typed.
            payload={"account": key[:16], "client": client[:64]},
        )
        return SignInResult(user if refusal is None else None, refusal)

    if throttle is not None and throttle.locked_until is not None and now < throttle.locked_until:
        return outcome(None, SignInRefusal.THROTTLED)
    user = session.scalar(
        select(User).where(func.lower(User.username) == username.strip().casefold())
    )
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not valid:
        _count_failure(session, key, throttle, now)
        return outcome(None, SignInRefusal.BAD_CREDENTIALS)
    if not user.active:
        return outcome(user, SignInRefusal.INACTIVE)
    if throttle is not None:
        session.delete(throttle)
    return outcome(user, None)


def _count_failure(
    session: Session, key: str, throttle: LoginThrottle | None, now: datetime
) -> None:
    if throttle is None:
        throttle = LoginThrottle(key=key, failures=0, window_started_at=now)
        session.add(throttle)
    if now - throttle.window_started_at > FAILURE_WINDOW:
        throttle.failures = 0
        throttle.window_started_at = now
    throttle.failures += 1
    if throttle.failures >= MAX_FAILURES:
        throttle.locked_until = now + LOCKOUT


def sign_out(session: Session, user: User, now: datetime) -> None:
    """Rotate the token: the cookie just used, and any copy of it, stops working."""
    user.session_token = new_session_token()
    record_event(
        session,
        actor=actor_of(user),
        moment=Moment(now, ACCOUNT_ZONE),
        event="sign_out",
        outcome="accepted",
    )


def record_access_refused(
    session: Session, actor: Actor, now: datetime, endpoint: str, precinct_id: int | None = None
) -> None:
    """A request outside the actor's role or scope: answered like a missing record, but audited."""
    record_event(
        session,
        actor=actor,
        moment=Moment(now, ACCOUNT_ZONE),
        event="access_refused",
        outcome="refused",
        precinct_id=precinct_id,
        payload={"endpoint": endpoint[:100]},
    )


# Territorial commissions manage precinct staff only; the central commission manages everyone.
ROLES_BY_MANAGER: dict[str, frozenset[Role]] = {
    Role.ADMIN.value: frozenset(Role),
    Role.TERRITORIAL.value: PRECINCT_ROLES,
    SYSTEM.role: frozenset(Role),
}


@dataclass(frozen=True, slots=True)
class UserInput:
    """An account and where it works: a precinct or a commission, which names its election."""

    username: str
    full_name: str
    role: Role
    precinct_id: int | None = None
    territorial_commission_id: int | None = None


@dataclass(frozen=True, slots=True)
class Place:
    """A checked placement: the election and the precinct or commission in it."""

    election_id: int
    precinct_id: int | None
    territorial_commission_id: int | None


def manageable_roles(actor: Actor) -> frozenset[Role]:
    return ROLES_BY_MANAGER.get(actor.role, frozenset())


def _place(session: Session, actor: Actor, data: UserInput) -> Place | None:
    """Where the role works, in the election of the precinct or commission named; checked
    against what the acting manager may hand out (NotFound for anything out of scope)."""
    if data.role not in manageable_roles(actor):
        raise NotFound("role")
    if data.role in PRECINCT_ROLES:
        precinct = None if data.precinct_id is None else session.get(Precinct, data.precinct_id)
        if precinct is None:
            raise InvalidInput("precinct_id", "Clerks and check-in staff belong to a precinct.")
        if actor.role == Role.TERRITORIAL.value and (
            precinct.territorial_commission_id not in actor.territorial_commission_ids
        ):
            raise NotFound("precinct")
        return Place(precinct.election_id, precinct.id, None)
    if data.role is Role.TERRITORIAL:
        commission = (
            None
            if data.territorial_commission_id is None
            else session.get(TerritorialCommission, data.territorial_commission_id)
        )
        if commission is None:
            raise InvalidInput(
                "territorial_commission_id",
                "Territorial staff belong to a territorial commission.",
            )
        return Place(commission.election_id, None, commission.id)
    return None


def _set_placement(session: Session, user: User, place: Place, now: datetime) -> bool:
    """Put the user at `place` in its election; True when an earlier placement there changed."""
    existing = user.placement_in(place.election_id)
    if existing is None:
        session.add(
            Placement(
                user=user,
                election_id=place.election_id,
                precinct_id=place.precinct_id,
                territorial_commission_id=place.territorial_commission_id,
                placed_at=now,
            )
        )
        session.flush()
        return False
    changed = (existing.precinct_id, existing.territorial_commission_id) != (
        place.precinct_id,
        place.territorial_commission_id,
    )
    existing.precinct_id = place.precinct_id
    existing.territorial_commission_id = place.territorial_commission_id
    existing.placed_at = now
    session.flush()
    return changed


def _placement_payload(place: Place | None) -> dict[str, int | None]:
    if place is None:
        return {}
    return {
        "election_id": place.election_id,
        "precinct_id": place.precinct_id,
        "territorial_commission_id": place.territorial_commission_id,
    }


def create_user(
    session: Session, actor: Actor, data: UserInput, password: str, now: datetime
) -> User:
    """A new account placed in one election; the password is hashed (scrypt above Werkzeug's
    default cost)."""
    if problem := check_password_strength(password):
        raise InvalidInput("password", problem)
    if not data.username.strip() or not data.full_name.strip():
        raise InvalidInput("username", "A username and a full name are required.")
    if session.scalar(
        select(User.id).where(func.lower(User.username) == data.username.strip().casefold())
    ):
        raise InvalidInput("username", "This username is taken.")
    place = _place(session, actor, data)
    user = User(
        username=data.username.strip(),
        full_name=data.full_name.strip(),
        role=data.role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    if place is not None:
        _set_placement(session, user, place, now)
    record_event(
        session,
        actor=actor,
        moment=Moment(now, ACCOUNT_ZONE),
        event="user_created",
        outcome="accepted",
        precinct_id=None if place is None else place.precinct_id,
        election_id=None if place is None else place.election_id,
        payload={"user_id": user.id, "role": user.role.value, **_placement_payload(place)},
    )
    return user


def set_password(
    session: Session, actor: Actor, user_id: int, password: str, now: datetime
) -> None:
    """Change or reset a password; every session of that user ends at once."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    if problem := check_password_strength(password):
        raise InvalidInput("password", problem)
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    record_event(
        session,
        actor=actor,
        moment=Moment(now, ACCOUNT_ZONE),
        event="password_set",
        outcome="accepted",
        payload={"user_id": user.id},
    )


def set_active(session: Session, actor: Actor, user_id: int, active: bool, now: datetime) -> None:
    """Deactivate (or reactivate) an account; deactivation ends its sessions at once."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    if user.id == actor.user_id and not active:
        raise InvalidInput("active", "You cannot deactivate your own account.")
    user.active = active
    user.session_token = new_session_token()
    if not active:
        revoke_all_tokens(session, actor, user.id, now)
    record_event(
        session,
        actor=actor,
        moment=Moment(now, ACCOUNT_ZONE),
        event="user_activated" if active else "user_deactivated",
        outcome="accepted",
        payload={"user_id": user.id},
    )


def move_user(session: Session, actor: Actor, user_id: int, data: UserInput, now: datetime) -> None:
    """Change role, name or the placement in the named precinct's (or commission's) election;
    the user must sign in again and their tokens are revoked."""
    user = session.get(User, user_id)
    if user is None or user.role not in manageable_roles(actor):
        raise NotFound("user")
    place = _place(session, actor, data)
    before: dict[str, object] = {"role": user.role.value}
    if place is not None and (earlier := user.placement_in(place.election_id)) is not None:
        before["precinct_id"] = earlier.precinct_id
        before["territorial_commission_id"] = earlier.territorial_commission_id
    if data.role != user.role:
        # A new role works nowhere it used to: its placements elsewhere are for the old role.
        for placement in list(user.placements):
            if place is None or placement.election_id != place.election_id:
                session.delete(placement)
        session.flush()
        session.expire(user, ["placements"])
    user.role = data.role
    if place is not None:
        _set_placement(session, user, place, now)
    user.full_name = data.full_name.strip() or user.full_name
    user.session_token = new_session_token()
    revoke_all_tokens(session, actor, user.id, now)
    record_event(
        session,
        actor=actor,
        moment=Moment(now, ACCOUNT_ZONE),
        event="user_moved",
        outcome="accepted",
        precinct_id=None if place is None else place.precinct_id,
        election_id=None if place is None else place.election_id,
        payload={
            "user_id": user.id,
            "before": before,
            "role": user.role.value,
            **_placement_payload(place),
        },
    )


def place_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    precinct_id: int | None = None,
    territorial_commission_id: int | None = None,
    now: datetime,
) -> Placement:
    """Place a user in one more election (or move them within it). A first placement in an
    election widens nothing they had, so their sessions go on; a changed one ends them."""
    user = session.get(User, user_id)
    if user is None or user.role not in manageable_roles(actor):
        raise NotFound("user")
    place = _place(
        session,
        actor,
        UserInput(user.username, user.full_name, user.role, precinct_id, territorial_commission_id),
    )
    if place is None:
        raise InvalidInput("role", "Admins and observers work everywhere: they are not placed.")
    moved = _set_placement(session, user, place, now)
    if moved:
        user.session_token = new_session_token()
        revoke_all_tokens(session, actor, user.id, now)
    record_event(
        session,
        actor=actor,
        moment=Moment(now, ACCOUNT_ZONE),
        event="user_placed",
        outcome="accepted",
        precinct_id=place.precinct_id,
        election_id=place.election_id,
        payload={"user_id": user.id, "moved": moved, **_placement_payload(place)},
    )
    placement = user.placement_in(place.election_id)
    assert placement is not None  # noqa: S101 - just set
    return placement


def revoke_all_tokens(session: Session, actor: Actor, owner_id: int, now: datetime) -> int:
    """On deactivation or a move: a script keeps no rights its owner lost."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == owner_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    revoked = int(result.rowcount)  # type: ignore[attr-defined]
    if revoked:
        record_event(
            session,
            actor=actor,
            moment=Moment(now, ACCOUNT_ZONE),
            event="tokens_revoked",
            outcome="accepted",
            payload={"user_id": owner_id, "count": revoked},
        )
    return revoked
