"""Who may act where: the one place that scopes precinct-owned data to an actor."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import QueryableAttribute, Session

from models import CertificateCase, Election, Precinct, Role, VoterEntry
from services.audit import Actor
from services.errors import NotFound

T = TypeVar("T")

# Roles that change cases at their own precinct before voting day; admin acts anywhere.
DESK_ROLES = frozenset({Role.CLERK.value})
# Roles that take certificates in on voting day.
VOTING_DAY_ROLES = frozenset({Role.CLERK.value, Role.CHECKIN.value})


def can_act_at(actor: Actor, precinct_id: int, roles: frozenset[str]) -> bool:
    """Admins act anywhere; precinct staff only where they are placed, in the named roles."""
    if actor.role == Role.ADMIN.value:
        return True
    return actor.role in roles and precinct_id in actor.precinct_ids


def acting_precinct(
    session: Session, actor: Actor, precinct_id: int, roles: frozenset[str]
) -> Precinct:
    """The precinct an action happens at, or NotFound (out of scope looks like absent)."""
    precinct = session.get(Precinct, precinct_id)
    if precinct is None or not can_act_at(actor, precinct_id, roles):
        raise NotFound("precinct")
    return precinct


# Roles that may read cases (territorial and admin read; clerks read their own precinct's).
READ_ROLES = frozenset({Role.CLERK.value, Role.TERRITORIAL.value, Role.ADMIN.value})


def visible_precincts(actor: Actor) -> Select[int] | None:
    """The precinct ids whose personal data the actor may read; None means every precinct."""
    if actor.role == Role.ADMIN.value:
        return None
    if actor.role == Role.TERRITORIAL.value and actor.territorial_commission_ids:
        return select(Precinct.id).where(
            Precinct.territorial_commission_id.in_(sorted(actor.territorial_commission_ids))
        )
    if actor.role in (Role.CLERK.value, Role.CHECKIN.value) and actor.precinct_ids:
        return select(Precinct.id).where(Precinct.id.in_(sorted(actor.precinct_ids)))
    return select(Precinct.id).where(false())


def placed_precinct(session: Session, actor: Actor, election_id: int) -> Precinct | None:
    """The precinct where precinct staff work in this election, if they are placed in it."""
    if not actor.precinct_ids:
        return None
    return session.scalar(
        select(Precinct).where(
            Precinct.election_id == election_id, Precinct.id.in_(sorted(actor.precinct_ids))
        )
    )


def sole_desk(session: Session, actor: Actor) -> tuple[Election, Precinct] | None:
    """Voting-day staff placed at one precinct only (the usual desk account): that precinct and
    its election, which is then the only one they see and so their default, in one statement.
    None for anyone else, who goes the long way (the election list, then the placement)."""
    # One placement in all: a second one, even at a commission, is a second election to see.
    if (
        actor.role not in VOTING_DAY_ROLES
        or len(actor.precinct_ids) != 1
        or actor.territorial_commission_ids
    ):
        return None
    (only,) = actor.precinct_ids
    row = session.execute(
        select(Election, Precinct)
        .join(Precinct, Precinct.election_id == Election.id)
        .where(Precinct.id == only)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def oversees(actor: Actor, precinct: Precinct) -> bool:
    """The central commission oversees every precinct; a territorial one, those below it."""
    if actor.role == Role.ADMIN.value:
        return True
    return (
        actor.role == Role.TERRITORIAL.value
        and precinct.territorial_commission_id in actor.territorial_commission_ids
    )


def scoped(
    statement: Select[T], column: ColumnElement[int] | QueryableAttribute[int], actor: Actor
) -> Select[T]:
    """Restrict any query on precinct-owned rows to what the actor may see."""
    allowed = visible_precincts(actor)
    return statement if allowed is None else statement.where(column.in_(allowed))


def scoped_case(session: Session, actor: Actor, case_id: int) -> CertificateCase:
    """A case the actor may read, or NotFound (also when it exists but is out of scope)."""
    if actor.role not in READ_ROLES:
        raise NotFound("case")
    case = session.scalar(
        scoped(select(CertificateCase), CertificateCase.precinct_id, actor).where(
            CertificateCase.id == case_id
        )
    )
    if case is None:
        raise NotFound("case")
    return case


def scoped_voter(session: Session, actor: Actor, voter_id: int) -> VoterEntry:
    if actor.role not in READ_ROLES:
        raise NotFound("voter")
    voter = session.scalar(
        scoped(select(VoterEntry), VoterEntry.precinct_id, actor).where(VoterEntry.id == voter_id)
    )
    if voter is None:
        raise NotFound("voter")
    return voter
