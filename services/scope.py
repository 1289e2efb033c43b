"""Who may act where: the one place that scopes precinct-owned data to an actor."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import Precinct, Role
from services.audit import Actor
from services.errors import NotFound

# Roles that change cases at their own precinct before voting day; admin acts anywhere.
DESK_ROLES = frozenset({Role.CLERK.value})
# Roles that take certificates in on voting day.
VOTING_DAY_ROLES = frozenset({Role.CLERK.value, Role.CHECKIN.value})


def can_act_at(actor: Actor, precinct_id: int, roles: frozenset[str]) -> bool:
    """Admins act anywhere; precinct staff only at their own precinct, in the named roles."""
    if actor.role == Role.ADMIN.value:
        return True
    return actor.role in roles and actor.precinct_id == precinct_id


def acting_precinct(
    session: Session, actor: Actor, precinct_id: int, roles: frozenset[str]
) -> Precinct:
    """The precinct an action happens at, or NotFound (out of scope looks like absent)."""
    precinct = session.get(Precinct, precinct_id)
    if precinct is None or not can_act_at(actor, precinct_id, roles):
        raise NotFound("precinct")
    return precinct
