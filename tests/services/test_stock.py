"""Certificate number stock: ranges, allocation order, and the reconciliation act."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Election, StockRange
from services.cases import (
    CaseOutcome,
    cancel_certificate,
    report_certificate_lost,
    spoil_certificate,
)
from services.errors import InvalidInput, NotFound
from services.stock import Reconciliation, add_stock_range, allocate_serial, reconcile
from tests.factories import World, make_voter, make_world
from tests.services.support import (
    IN_WINDOW,
    VOTING,
    apply,
    audit_events,
    issue,
    issued,
    present,
    tables_snapshot,
)
from workflow.calendar import Moment
from workflow.errors import RefusalCode
from workflow.numbers import MAX_SERIAL

MOMENT = Moment(IN_WINDOW, "Asia/Almaty")


def _add(session: Session, world: World, precinct_id: int, first: int, last: int) -> StockRange:
    stock = add_stock_range(
        session,
        world.actor("admin"),
        election_id=world.election.id,
        precinct_id=precinct_id,
        first_serial=first,
        last_serial=last,
        moment=MOMENT,
    )
    session.commit()
    return stock


def test_added_range_is_stocked_at_its_cursor_and_audited(session: Session) -> None:
    world = make_world(session)
    session.commit()

    stock = _add(session, world, world.oral_precinct.id, 7000, 7099)

    row = session.get_one(StockRange, stock.id)
    assert (row.first_serial, row.last_serial, row.next_serial) == (7000, 7099, 7000)
    assert (row.size, row.unused) == (100, 100)
    assert row.received_at == IN_WINDOW
    (event,) = audit_events(session, event="stock_received")
    assert (event.outcome, event.precinct_id, event.payload) == (
        "accepted",
        world.oral_precinct.id,
        {"first": 7000, "last": 7099},
    )


@pytest.mark.parametrize(
    ("actor_name", "precinct"),
    [
        pytest.param("admin", "almaty_almaly", id="admin anywhere"),
        pytest.param("territorial_west", "oral_precinct", id="territorial in its territory"),
    ],
)
def test_stock_is_handed_down_by_the_centre_or_the_territorial_commission(
    session: Session, actor_name: str, precinct: str
) -> None:
    world = make_world(session)
    session.commit()

    stock = add_stock_range(
        session,
        world.actor(actor_name),
        election_id=world.election.id,
        precinct_id=getattr(world, precinct).id,
        first_serial=7000,
        last_serial=7009,
        moment=MOMENT,
    )
    session.commit()

    assert stock.size == 10


@pytest.mark.parametrize(
    ("actor_name", "precinct"),
    [
        pytest.param("clerk_oral", "oral_precinct", id="clerk at its own precinct"),
        pytest.param("checkin_oral", "oral_precinct", id="checkin at its own precinct"),
        pytest.param("territorial_west", "almaty_almaly", id="territorial outside its territory"),
    ],
)
def test_stock_cannot_be_added_outside_the_actors_authority(
    session: Session, actor_name: str, precinct: str
) -> None:
    world = make_world(session)
    session.commit()

    with pytest.raises(NotFound):
        add_stock_range(
            session,
            world.actor(actor_name),
            election_id=world.election.id,
            precinct_id=getattr(world, precinct).id,
            first_serial=7000,
            last_serial=7009,
            moment=MOMENT,
        )
    session.rollback()


# make_world gives every precinct 50 numbers: Almaly 1-50, Bostandyk 1001-1050,
# Oral 2001-2050, Derkul 3001-3050.
@pytest.mark.parametrize(
    ("first", "last"),
    [
        pytest.param(10, 20, id="inside"),
        pytest.param(1, 50, id="identical"),
        pytest.param(40, 60, id="over the end"),
        pytest.param(900, 1001, id="over the start"),
        pytest.param(50, 50, id="the last number"),
        pytest.param(1, 1, id="the first number"),
        pytest.param(990, 1100, id="enclosing"),
        pytest.param(3050, 3050, id="another precinct's last number"),
    ],
)
def test_overlapping_range_is_refused(session: Session, first: int, last: int) -> None:
    world = make_world(session)
    session.commit()
    before = tables_snapshot(session)

    with pytest.raises(InvalidInput) as refused:
        _add(session, world, world.oral_precinct.id, first, last)
    session.rollback()

    assert refused.value.field == "range"
    assert tables_snapshot(session) == before
    assert audit_events(session) == []


@pytest.mark.parametrize(
    ("first", "last"),
    [
        pytest.param(0, 10, id="starts at zero"),
        pytest.param(-5, 10, id="negative"),
        pytest.param(9000, 8999, id="reversed"),
        pytest.param(MAX_SERIAL, MAX_SERIAL + 1, id="past the printable serials"),
    ],
)
def test_malformed_range_is_refused(session: Session, first: int, last: int) -> None:
    world = make_world(session)
    session.commit()
    before = tables_snapshot(session)

    with pytest.raises(InvalidInput):
        _add(session, world, world.oral_precinct.id, first, last)
    session.rollback()

    assert tables_snapshot(session) == before


@pytest.mark.parametrize(
    ("first", "last"),
    [
        pytest.param(51, 60, id="right after a range"),
        pytest.param(1051, 2000, id="fills a gap exactly"),
        pytest.param(MAX_SERIAL, MAX_SERIAL, id="the highest serial"),
    ],
)
def test_adjacent_range_is_accepted(session: Session, first: int, last: int) -> None:
    world = make_world(session)
    session.commit()

    stock = _add(session, world, world.oral_precinct.id, first, last)

    assert stock.size == last - first + 1


def test_same_numbers_in_another_election_are_accepted(session: Session) -> None:
    world = make_world(session)
    other = Election(
        code="parl2023",
        name_kk="Мәжіліс сайлауы",
        name_ru="Выборы в Мажилис",
        name_en="Mazhilis election",
        voting_day=date(2023, 3, 19),
        issue_opens_on=date(2023, 3, 3),
        issue_deadline_on=date(2023, 3, 18),
    )
    session.add(other)
    session.commit()

    stock = add_stock_range(
        session,
        world.actor("admin"),
        election_id=other.id,
        precinct_id=world.almaty_almaly.id,
        first_serial=1,
        last_serial=50,
        moment=MOMENT,
    )
    session.commit()

    assert stock.election_id == other.id
    assert allocate_serial(session, other.id, world.almaty_almaly.id) == 1


def test_issue_takes_numbers_in_order_across_ranges_then_runs_out(session: Session) -> None:
    world = make_world(session, stock=2)
    voters = [make_voter(session, world, world.almaty_almaly) for _ in range(6)]
    session.commit()
    # Added out of order: allocation follows the serials, not the order of arrival.
    _add(session, world, world.almaty_almaly.id, 5000, 5001)
    _add(session, world, world.almaty_almaly.id, 3000, 3000)

    outcomes = [issue(session, world, apply(session, world, voter).case.id) for voter in voters]

    serials = [o.certificate.serial if o.certificate else None for o in outcomes]
    assert serials == [1, 2, 3000, 5000, 5001, None]
    last = outcomes[-1]
    assert last.refusal is not None
    assert last.refusal.code == RefusalCode.NO_STOCK
    cursors = session.execute(
        select(StockRange.first_serial, StockRange.next_serial)
        .where(StockRange.precinct_id == world.almaty_almaly.id)
        .order_by(StockRange.first_serial)
    ).all()
    assert [tuple(row) for row in cursors] == [(1, 3), (3000, 3001), (5000, 5002)]


def test_allocation_never_takes_another_precincts_numbers(session: Session) -> None:
    world = make_world(session, stock=1)
    session.commit()

    first = allocate_serial(session, world.election.id, world.oral_precinct.id)
    second = allocate_serial(session, world.election.id, world.oral_precinct.id)

    assert (first, second) == (2001, None)


def _mixed_day(session: Session) -> World:
    """Issues, spoils, losses, cancellations, inclusions and returns at three precincts."""
    world = make_world(session, stock=10)
    almaly = [make_voter(session, world, world.almaty_almaly) for _ in range(5)]
    oral = [make_voter(session, world, world.oral_precinct) for _ in range(3)]
    derkul = make_voter(session, world, world.derkul_precinct)
    session.commit()
    almaly_clerk = world.actor("clerk_almaly")
    oral_clerk = world.actor("clerk_oral")

    def done(outcome: CaseOutcome) -> None:
        session.commit()
        assert outcome.accepted, outcome.refusal

    # Almaly: 6 numbers used: 2 spoilt forms, then lost, cancelled, included, returned.
    a0, _, _ = issued(session, world, almaly[0])
    done(spoil_certificate(session, almaly_clerk, a0, "torn", IN_WINDOW))
    done(issue(session, world, a0))
    done(spoil_certificate(session, almaly_clerk, a0, "smudged", IN_WINDOW))
    a1, _, _ = issued(session, world, almaly[1])
    done(report_certificate_lost(session, almaly_clerk, a1, "lost", IN_WINDOW))
    a2, _, _ = issued(session, world, almaly[2])
    done(cancel_certificate(session, almaly_clerk, a2, "back", IN_WINDOW))
    _, a3_serial, a3_code = issued(session, world, almaly[3])
    _, a4_serial, a4_code = issued(session, world, almaly[4])
    assert present(session, world, a3_serial, a3_code, world.oral_precinct, VOTING).accepted
    assert present(session, world, a4_serial, a4_code, world.almaty_almaly, VOTING).accepted

    # Oral: 4 numbers used: 1 spoilt form, then reissued, another issued, one cancelled.
    o0, _, _ = issued(session, world, oral[0], actor="clerk_oral")
    done(spoil_certificate(session, oral_clerk, o0, "misprint", IN_WINDOW))
    done(issue(session, world, o0))
    issued(session, world, oral[1], actor="clerk_oral")
    o2, _, _ = issued(session, world, oral[2], actor="clerk_oral")
    done(cancel_certificate(session, oral_clerk, o2, "back", IN_WINDOW))

    # Derkul: one issued.
    issued(session, world, derkul, actor="admin")
    return world


def test_reconciliation_balances_per_precinct_group_and_election(session: Session) -> None:
    world = _mixed_day(session)
    almaly, bostandyk = world.almaty_almaly.id, world.almaty_bostandyk.id
    oral, derkul = world.oral_precinct.id, world.derkul_precinct.id

    per_precinct = {
        precinct: reconcile(session, world.election.id, [precinct])
        for precinct in (almaly, bostandyk, oral, derkul)
    }
    almaty_city = reconcile(session, world.election.id, [almaly, bostandyk])
    west = reconcile(session, world.election.id, [oral, derkul])
    country = reconcile(session, world.election.id)

    assert per_precinct == {
        almaly: Reconciliation(received=10, issued=4, spoilt=2, unused=4),
        bostandyk: Reconciliation(received=10, issued=0, spoilt=0, unused=10),
        oral: Reconciliation(received=10, issued=3, spoilt=1, unused=6),
        derkul: Reconciliation(received=10, issued=1, spoilt=0, unused=9),
    }
    assert almaty_city == Reconciliation(received=20, issued=4, spoilt=2, unused=14)
    assert west == Reconciliation(received=20, issued=4, spoilt=1, unused=15)
    assert country == Reconciliation(received=40, issued=8, spoilt=3, unused=29)
    for act in [*per_precinct.values(), almaty_city, west, country]:
        assert act.balanced


def test_reconciliation_of_no_precincts_or_an_unknown_election_is_empty(session: Session) -> None:
    world = make_world(session)
    session.commit()

    assert reconcile(session, world.election.id, []) == Reconciliation(0, 0, 0, 0)
    assert reconcile(session, world.election.id + 1000) == Reconciliation(0, 0, 0, 0)


def test_unbalanced_reconciliation_is_reported_unbalanced() -> None:
    assert not Reconciliation(received=10, issued=5, spoilt=2, unused=2).balanced
    assert Reconciliation(received=10, issued=5, spoilt=2, unused=3).balanced
