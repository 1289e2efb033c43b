"""Election settings and what territorial and central commissions may see of precincts."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Election, Precinct, Role, TerritorialCommission, User
from services.audit import Actor, record_event
from services.scope import scoped
from workflow.calendar import Moment

SETTINGS_ZONE = "Asia/Almaty"
ELECTION_FIELDS = (
    "name_kk",
    "name_ru",
    "name_en",
    "voting_day",
    "issue_opens_on",
    "issue_opens_at",
    "issue_deadline_on",
    "issue_deadline_at",
    "voting_opens_at",
    "voting_closes_at",
    "allow_surrender",
    "allow_return_home",
    "refuse_inclusion_in_home_locality",
    "proxy_warning_threshold",
)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | time) else value


def update_election(
    session: Session, actor: Actor, election: Election, values: dict[str, Any], now: datetime
) -> None:
    """Change dates, hours or policies; the audit event keeps the before and after values."""
    before = {name: _plain(getattr(election, name)) for name in ELECTION_FIELDS}
    for name in ELECTION_FIELDS:
        if name in values:
            setattr(election, name, values[name])
    after = {name: _plain(getattr(election, name)) for name in ELECTION_FIELDS}
    changed = {
        name: [before[name], after[name]] for name in ELECTION_FIELDS if before[name] != after[name]
    }
    record_event(
        session,
        actor=actor,
        moment=Moment(now, SETTINGS_ZONE),
        event="election_updated",
        outcome="accepted",
        election_id=election.id,
        payload={"changed": changed},
    )


def visible_precinct_list(session: Session, actor: Actor) -> list[Precinct]:
    statement = scoped(select(Precinct), Precinct.id, actor).order_by(
        Precinct.region_id, Precinct.number
    )
    return list(session.scalars(statement))


def visible_users(session: Session, actor: Actor) -> list[User]:
    """Admins see everyone; territorial staff see their territory's precinct staff and peers."""
    statement = select(User).order_by(User.username)
    if actor.role != Role.ADMIN.value:
        precincts = select(Precinct.id).where(
            Precinct.territorial_commission_id == actor.territorial_commission_id
        )
        statement = statement.where(
            User.precinct_id.in_(precincts)
            | (User.territorial_commission_id == actor.territorial_commission_id)
        )
    return list(session.scalars(statement))


def visible_commissions(session: Session, actor: Actor) -> list[TerritorialCommission]:
    statement = select(TerritorialCommission).order_by(TerritorialCommission.name_ru)
    if actor.role != Role.ADMIN.value:
        statement = statement.where(TerritorialCommission.id == actor.territorial_commission_id)
    return list(session.scalars(statement))


def figure_precincts(session: Session, actor: Actor) -> list[Precinct]:
    """Precincts whose aggregate counts the actor sees: observers and admins all, territorial
    staff their territory. Counts only: no personal data goes with these.
    """
    statement = select(Precinct).order_by(Precinct.region_id, Precinct.number)
    if actor.role == Role.TERRITORIAL.value:
        statement = statement.where(
            Precinct.territorial_commission_id == actor.territorial_commission_id
        )
    elif actor.role not in (Role.ADMIN.value, Role.OBSERVER.value):
        return []
    return list(session.scalars(statement))
