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
from services.stock import (
    Allotment,
    Reconciliation,
    add_stock_range,
    allocate_serial,
    allot_stock,
    reconcile,
)
from tests.factories import World, make_election_copy, make_voter, make_world, precinct_in
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


def other_election(session: Session, world: World) -> Election:
    """The Mazhilis election of 2023, prepared, on a copy of the 2022 network (no stock there);
    the 2022 staff are placed at the copies of their precincts and commissions."""
    return make_election_copy(
        session,
        world,
        code="parl2023",
        kind="mazhilis",
        voting_day=date(2023, 3, 19),
        opens_on=date(2023, 3, 3),
        deadline_on=date(2023, 3, 18),
        with_staff=True,
    )


copy_of = precinct_in


def test_same_numbers_in_another_election_are_accepted(session: Session) -> None:
    world = make_world(session)
    session.commit()
    other = other_election(session, world)
    almaly_2023 = copy_of(session, other, world.almaty_almaly)

    stock = add_stock_range(
        session,
        world.actor("admin"),
        election_id=other.id,
        precinct_id=almaly_2023.id,
        first_serial=1,
        last_serial=50,
        moment=MOMENT,
    )
    session.commit()

    assert (stock.election_id, stock.precinct_id) == (other.id, almaly_2023.id)
    assert allocate_serial(session, other.id, almaly_2023.id) == 1
    # The 2022 range with the same numbers is untouched.
    assert allocate_serial(session, world.election.id, world.almaty_almaly.id) == 1


def test_a_precinct_of_another_election_gets_no_stock_in_this_one(session: Session) -> None:
    world = make_world(session)
    session.commit()
    other = other_election(session, world)
    almaly_2023 = copy_of(session, other, world.almaty_almaly)
    before = tables_snapshot(session)

    for election_id, precinct_id in [
        (world.election.id, almaly_2023.id),
        (other.id, world.almaty_almaly.id),
    ]:
        with pytest.raises(NotFound):
            add_stock_range(
                session,
                world.actor("admin"),
                election_id=election_id,
                precinct_id=precinct_id,
                first_serial=9000,
                last_serial=9009,
                moment=MOMENT,
            )
        session.rollback()

    assert tables_snapshot(session) == before
    assert audit_events(session, event="stock_received") == []


def ranges_of(session: Session, election: Election) -> dict[int, tuple[int, int, int]]:
    """precinct id -> (first, last, next) of each of the election's ranges."""
    session.expire_all()
    return {
        row.precinct_id: (row.first_serial, row.last_serial, row.next_serial)
        for row in session.scalars(select(StockRange).where(StockRange.election_id == election.id))
    }


def test_allot_stock_hands_consecutive_ranges_to_every_precinct_without_stock(
    session: Session,
) -> None:
    world = make_world(session)
    session.commit()
    other = other_election(session, world)
    almaly, bostandyk, oral, derkul = (
        copy_of(session, other, precinct).id
        for precinct in (
            world.almaty_almaly,
            world.almaty_bostandyk,
            world.oral_precinct,
            world.derkul_precinct,
        )
    )
    add_stock_range(
        session,
        world.actor("admin"),
        election_id=other.id,
        precinct_id=almaly,
        first_serial=1,
        last_serial=50,
        moment=MOMENT,
    )
    session.commit()
    stock_2022 = ranges_of(session, world.election)

    allotted = allot_stock(
        session, world.actor("admin"), election_id=other.id, per_precinct=100, now=IN_WINDOW
    )
    session.commit()

    # Just after the last number handed out, in precinct order; Almaly already had stock.
    assert allotted == Allotment(ranges=3, first=51, last=350)
    assert ranges_of(session, other) == {
        almaly: (1, 50, 1),
        bostandyk: (51, 150, 51),
        oral: (151, 250, 151),
        derkul: (251, 350, 251),
    }
    received = session.scalars(
        select(StockRange.received_at).where(
            StockRange.election_id == other.id, StockRange.precinct_id != almaly
        )
    ).all()
    assert received == [IN_WINDOW] * 3
    events = audit_events(session, event="stock_received", election_id=other.id)
    assert [(e.precinct_id, e.payload, e.outcome) for e in events] == [
        (almaly, {"first": 1, "last": 50}, "accepted"),
        (bostandyk, {"first": 51, "last": 150}, "accepted"),
        (oral, {"first": 151, "last": 250}, "accepted"),
        (derkul, {"first": 251, "last": 350}, "accepted"),
    ]
    # The other election's stock is not this one's business.
    assert ranges_of(session, world.election) == stock_2022

    # Every precinct holds stock now: a second allotment hands out nothing.
    assert allot_stock(
        session, world.actor("admin"), election_id=other.id, per_precinct=100, now=IN_WINDOW
    ) == Allotment(0, 0, 0)
    assert len(audit_events(session, event="stock_received", election_id=other.id)) == 4


def test_allot_stock_from_a_chosen_first_number(session: Session) -> None:
    world = make_world(session)
    session.commit()
    other = other_election(session, world)

    allotted = allot_stock(
        session,
        world.actor("admin"),
        election_id=other.id,
        per_precinct=10,
        now=IN_WINDOW,
        first_serial=5000,
    )
    session.commit()

    assert allotted == Allotment(ranges=4, first=5000, last=5039)
    assert sorted(first for first, _, _ in ranges_of(session, other).values()) == [
        5000,
        5010,
        5020,
        5030,
    ]


def test_allot_stock_may_end_on_the_highest_serial(session: Session) -> None:
    world = make_world(session)
    session.commit()
    other = other_election(session, world)

    allotted = allot_stock(
        session,
        world.actor("admin"),
        election_id=other.id,
        per_precinct=2,
        now=IN_WINDOW,
        first_serial=MAX_SERIAL - 7,
    )

    assert allotted == Allotment(ranges=4, first=MAX_SERIAL - 7, last=MAX_SERIAL)


@pytest.mark.parametrize(
    ("per_precinct", "first_serial", "field"),
    [
        pytest.param(10, 45, "range", id="overlaps a range handed out"),
        pytest.param(10, 1, "range", id="starts on a range handed out"),
        # Three precincts without stock, two numbers each: MAX_SERIAL - 4 .. MAX_SERIAL + 1.
        pytest.param(2, MAX_SERIAL - 4, "range", id="runs past the last serial"),
        pytest.param(0, None, "per_precinct", id="no numbers"),
        pytest.param(100_001, None, "per_precinct", id="too many numbers"),
    ],
)
def test_allot_stock_refuses_overlaps_and_impossible_counts(
    session: Session, per_precinct: int, first_serial: int | None, field: str
) -> None:
    world = make_world(session)
    session.commit()
    other = other_election(session, world)
    add_stock_range(
        session,
        world.actor("admin"),
        election_id=other.id,
        precinct_id=copy_of(session, other, world.derkul_precinct).id,
        first_serial=1,
        last_serial=50,
        moment=MOMENT,
    )
    session.commit()
    before = tables_snapshot(session)
    events = len(audit_events(session))

    with pytest.raises(InvalidInput) as refused:
        allot_stock(
            session,
            world.actor("admin"),
            election_id=other.id,
            per_precinct=per_precinct,
            now=IN_WINDOW,
            first_serial=first_serial,
        )
    session.rollback()

    assert refused.value.field == field
    assert tables_snapshot(session) == before
    assert len(audit_events(session)) == events


def test_a_territorial_commission_allots_stock_to_its_own_precincts_only(
    session: Session,
) -> None:
    world = make_world(session)
    session.commit()
    other = other_election(session, world)
    territorial = world.actor("territorial_west")
    oral, derkul = (
        copy_of(session, other, precinct).id
        for precinct in (world.oral_precinct, world.derkul_precinct)
    )

    # A clerk hands down nothing, anywhere.
    assert allot_stock(
        session, world.actor("clerk_oral"), election_id=other.id, per_precinct=10, now=IN_WINDOW
    ) == Allotment(0, 0, 0)
    allotted = allot_stock(
        session, territorial, election_id=other.id, per_precinct=10, now=IN_WINDOW
    )
    session.commit()

    assert allotted == Allotment(ranges=2, first=1, last=20)
    assert ranges_of(session, other) == {oral: (1, 10, 1), derkul: (11, 20, 11)}
    events = audit_events(session, event="stock_received", election_id=other.id)
    assert {event.precinct_id for event in events} == {oral, derkul}
    assert {event.actor_role for event in events} == {"territorial"}


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
