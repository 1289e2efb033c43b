"""Screen figures: inclusions by hour of the receiving precinct's own wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from services.figures import inclusions_by_hour
from tests.factories import make_voter, make_world
from tests.services.support import issued, present


def test_inclusions_counted_by_local_hour_of_each_receiving_precinct(session: Session) -> None:
    world = make_world(session)
    voters = [make_voter(session, world, world.almaty_almaly) for _ in range(5)]
    session.commit()
    certificates = [issued(session, world, voter) for voter in voters]
    # Oral is UTC+5 in 2022: 04:00Z is 09:00 there, 05:59:59Z still 10 o'clock.
    times = [
        datetime(2022, 6, 5, 4, 0, tzinfo=UTC),
        datetime(2022, 6, 5, 4, 59, 59, tzinfo=UTC),
        datetime(2022, 6, 5, 5, 0, tzinfo=UTC),
        datetime(2022, 6, 5, 5, 59, 59, tzinfo=UTC),
        datetime(2022, 6, 5, 9, 30, tzinfo=UTC),
    ]
    receivers = [world.oral_precinct] * 4 + [world.derkul_precinct]
    for (_, serial, code), receiver, now in zip(certificates, receivers, times, strict=True):
        assert present(session, world, serial, code, receiver, now).accepted

    oral = inclusions_by_hour(session, world.election, world.oral_precinct)
    derkul = inclusions_by_hour(session, world.election, world.derkul_precinct)

    assert (oral.total, oral.by_hour) == (4, [(9, 2), (10, 2)])
    assert (derkul.total, derkul.by_hour) == (1, [(14, 1)])
