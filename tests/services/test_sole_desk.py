"""A desk placed once reads its election and precinct in one statement; everyone else does not."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Placement, Precinct
from services.accounts import actor_of
from services.scope import sole_desk
from tests.factories import make_election_copy, make_world


def test_a_desk_placed_once_gets_its_precinct_and_that_precincts_election(
    session: Session,
) -> None:
    world = make_world(session)
    session.commit()

    desk = sole_desk(session, world.actor("checkin_oral"))

    assert desk is not None
    election, precinct = desk
    assert (election.id, precinct.id) == (world.election.id, world.oral_precinct.id)


def test_staff_placed_in_two_elections_and_commissions_go_the_long_way(
    session: Session,
) -> None:
    world = make_world(session)
    session.commit()
    make_election_copy(session, world, with_staff=True)
    session.expire_all()

    placed_twice = actor_of(world.users["checkin_oral"])

    assert len(placed_twice.precinct_ids) == 2
    assert sole_desk(session, placed_twice) is None
    assert sole_desk(session, world.actor("admin")) is None


def test_a_desk_also_placed_at_a_commission_goes_the_long_way(session: Session) -> None:
    world = make_world(session)
    session.commit()
    other = make_election_copy(session, world, with_staff=False)
    commission_id = session.scalar(
        select(Precinct.territorial_commission_id).where(Precinct.election_id == other.id)
    )
    session.add(
        Placement(
            user_id=world.users["checkin_oral"].id,
            election_id=other.id,
            territorial_commission_id=commission_id,
        )
    )
    session.commit()
    session.expire_all()

    placed_twice = actor_of(world.users["checkin_oral"])

    assert len(placed_twice.precinct_ids) == 1
    assert sole_desk(session, placed_twice) is None
