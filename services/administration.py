"""What territorial and central commissions may see: precincts, commissions, staff."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Placement, Precinct, Role, TerritorialCommission, User
from services.audit import Actor
from services.scope import scoped


def visible_precinct_list(session: Session, actor: Actor, election_id: int) -> list[Precinct]:
    """The election's precincts whose staff and stock the actor manages (or reads)."""
    statement = scoped(
        select(Precinct).where(Precinct.election_id == election_id), Precinct.id, actor
    ).order_by(Precinct.region_id, Precinct.number)
    return list(session.scalars(statement))


def visible_users(session: Session, actor: Actor) -> list[User]:
    """Admins see everyone; territorial staff see the staff placed under their commissions
    (at their precincts or at the commissions themselves), in any election."""
    statement = select(User).order_by(User.username)
    if actor.role != Role.ADMIN.value:
        commissions = sorted(actor.territorial_commission_ids)
        under = select(Placement.user_id).where(
            or_(
                Placement.territorial_commission_id.in_(commissions),
                Placement.precinct_id.in_(
                    select(Precinct.id).where(Precinct.territorial_commission_id.in_(commissions))
                ),
            )
        )
        statement = statement.where(User.id.in_(under))
    return list(session.scalars(statement))


def visible_commissions(
    session: Session, actor: Actor, election_id: int
) -> list[TerritorialCommission]:
    statement = (
        select(TerritorialCommission)
        .where(TerritorialCommission.election_id == election_id)
        .order_by(TerritorialCommission.name_ru)
    )
    if actor.role != Role.ADMIN.value:
        statement = statement.where(
            TerritorialCommission.id.in_(sorted(actor.territorial_commission_ids))
        )
    return list(session.scalars(statement))


def figure_precincts(session: Session, actor: Actor, election_id: int) -> list[Precinct]:
    """The election's precincts whose aggregate counts the actor sees: observers and admins
    all, territorial staff their territory. Counts only: no personal data goes with these.
    """
    statement = (
        select(Precinct)
        .where(Precinct.election_id == election_id)
        .order_by(Precinct.region_id, Precinct.number)
    )
    if actor.role == Role.TERRITORIAL.value:
        statement = statement.where(
            Precinct.territorial_commission_id.in_(sorted(actor.territorial_commission_ids))
        )
    elif actor.role not in (Role.ADMIN.value, Role.OBSERVER.value):
        return []
    return list(session.scalars(statement))
