"""`flask create-election`, `change-election`, `place-user`, `carry-over-staff`, `allot-stock`:
the same service as the web and the API, one line of error per mistake, nothing half-written."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Election, Placement, Precinct, Region, StockRange, User
from services.clock import FixedClock
from tests.factories import World, make_world


@pytest.fixture
def clock() -> FixedClock:
    """1 May 2022: the 2022 referendum (and anything later) is still being prepared."""
    return FixedClock(datetime(2022, 5, 1, 6, 0, tzinfo=UTC))


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


CREATE_2026 = (
    "create-election",
    "ref2026",
    "--name-kk",
    "Республикалық референдум 2026",
    "--name-ru",
    "Республиканский референдум 2026 года",
    "--name-en",
    "Republican referendum of 15 March 2026",
    "--voting-day",
    "2026-03-15",
    "--opens",
    "2026-02-27",
    "--deadline",
    "2026-03-14",
    "--map",
    "kz-2026",
)


def test_create_election_builds_the_calendar_and_the_map(app: Flask, session: Session) -> None:
    result = invoke(app, *CREATE_2026)
    assert result.exit_code == 0, result.output
    assert "Created election ref2026" in result.output
    assert "number series 2603" in result.output
    election = session.scalars(select(Election)).one()
    assert (election.issue_deadline_on, election.issue_deadline_at) == (
        date(2026, 3, 14),
        time(18, 0),
    )
    regions = session.scalar(
        select(func.count()).select_from(Region).where(Region.election_id == election.id)
    )
    assert regions == 20


def test_create_election_explains_each_mistake_and_stores_nothing(
    app: Flask, session: Session
) -> None:
    bad = list(CREATE_2026)
    bad[bad.index("2026-03-14")] = "2026-03-20"
    result = invoke(app, *bad, "--voting-hours", "20:00-07:00")
    assert result.exit_code != 0
    assert "issue_deadline_on:" in result.output
    assert "voting_closes_at:" in result.output
    assert "Traceback" not in result.output
    assert session.scalar(select(func.count()).select_from(Election)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize(
    ("option", "value"), [("--voting-day", "2026-02-30"), ("--voting-hours", "seven-eight")]
)
def test_a_date_that_does_not_exist_is_a_usage_error(
    app: Flask, session: Session, option: str, value: str
) -> None:
    args = list(CREATE_2026)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    result = invoke(app, *args)
    assert result.exit_code == 2
    assert value in result.output
    assert session.scalar(select(func.count()).select_from(Election)) == 0


def test_a_copy_brings_the_network_and_its_staff(app: Flask, session: Session) -> None:
    world = make_world(session)
    session.commit()
    args = [a for a in CREATE_2026 if a not in ("--map", "kz-2026")]
    result = invoke(app, *args, "--copy-from", "ref2022")
    assert result.exit_code == 0, result.output
    assert "4 precincts" in result.output
    copy = session.scalar(select(Election).where(Election.code == "ref2026"))
    assert copy is not None
    placed = session.scalar(
        select(func.count()).select_from(Placement).where(Placement.election_id == copy.id)
    )
    assert placed == 7
    assert world.election.id != copy.id


def test_change_election_edits_while_prepared_and_refuses_a_correction_without_reason(
    app: Flask, session: Session, clock: FixedClock
) -> None:
    assert invoke(app, *CREATE_2026).exit_code == 0
    done = invoke(app, "change-election", "ref2026", "--set", "issue_deadline_at=17:00")
    assert done.exit_code == 0, done.output
    clock.instant = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    refused = invoke(app, "change-election", "ref2026", "--set", "issue_deadline_at=19:00")
    assert refused.exit_code != 0
    assert "reason:" in refused.output
    corrected = invoke(
        app,
        "change-election",
        "ref2026",
        "--set",
        "issue_deadline_at=19:00",
        "--reason",
        "Resolution No. 3",
    )
    assert corrected.exit_code == 0, corrected.output
    session.expire_all()
    election = session.scalars(select(Election)).one()
    assert election.issue_deadline_at == time(19, 0)
    events = [
        event.event
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.election_id == election.id).order_by(AuditEvent.id)
        )
    ]
    assert events == [
        "election_created",
        "network_map_loaded",
        "election_updated",
        "election_corrected",
    ]


def test_staff_carried_over_and_stock_allotted(app: Flask, session: Session) -> None:
    world: World = make_world(session)
    session.commit()
    args = [a for a in CREATE_2026 if a not in ("--map", "kz-2026")]
    assert invoke(app, *args, "--copy-from", "ref2022", "--no-staff").exit_code == 0
    carried = invoke(app, "carry-over-staff", "--from", "ref2022", "--to", "ref2026")
    assert carried.exit_code == 0, carried.output
    assert "Placed 7 users in ref2026." in carried.output
    allotted = invoke(app, "allot-stock", "--election", "ref2026", "--per-precinct", "100")
    assert allotted.exit_code == 0, allotted.output
    assert "Handed down 4 ranges, serials 1 to 400." in allotted.output
    again = invoke(app, "allot-stock", "--election", "ref2026", "--per-precinct", "100")
    assert "nothing handed down" in again.output
    ranges = session.scalar(
        select(func.count())
        .select_from(StockRange)
        .join(Precinct, Precinct.id == StockRange.precinct_id)
        .where(Precinct.election_id != world.election.id)
    )
    assert ranges == 4


def test_place_user_puts_an_account_in_one_more_election(app: Flask, session: Session) -> None:
    make_world(session)
    session.commit()
    args = [a for a in CREATE_2026 if a not in ("--map", "kz-2026")]
    assert invoke(app, *args, "--copy-from", "ref2022", "--no-staff").exit_code == 0
    result = invoke(
        app,
        "place-user",
        "clerk_oral",
        "--election",
        "ref2026",
        "--precinct-region",
        "270000000",
        "--precinct-number",
        "301",
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "clerk_oral"))
    assert user is not None
    session.refresh(user)
    assert len(user.placements) == 2
    missing = invoke(
        app,
        "place-user",
        "clerk_oral",
        "--election",
        "ref2026",
        "--precinct-region",
        "270000000",
        "--precinct-number",
        "999",
    )
    assert missing.exit_code != 0
    assert "No precinct 999" in missing.output
