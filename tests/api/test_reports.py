"""Reports over the API: live figures (counts only, observers too), the stock balance, jobs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import ImportJob, User, db
from models.user import Role
from services.clock import FixedClock
from services.import_jobs import job_folder
from services.tokens import create_token
from tests.api.conftest import Api, ApiAs
from tests.api.test_walkthrough import application, new_voter, ok
from tests.factories import World

VOTING_MORNING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)  # 09:00 in Oral


def _issue(api: Api, iin: str, stay_locality: int) -> dict[str, object]:
    case = ok(api.post("/cases", application(iin, stay_locality)), 201)
    return ok(api.post(f"/cases/{case['id']}/issue", {}))


def test_figures_count_issues_and_inclusions_per_precinct_without_personal_data(
    session: Session, world: World, api_as: ApiAs, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Жұмабаева")
    observer = User(
        username="observer", full_name="Observer", password_hash="x", role=Role.OBSERVER
    )
    session.add(observer)
    session.flush()
    secret = create_token(
        session,
        world.actor("admin"),
        owner_id=observer.id,
        name="figures",
        now=datetime(2022, 5, 1, tzinfo=UTC),
    ).secret
    session.commit()
    issued = _issue(api_as("clerk_almaly"), iin, world.oral.id)
    certificate = issued["certificate"]
    assert isinstance(certificate, dict)
    clock.instant = VOTING_MORNING

    checkin = api_as("checkin_oral")
    presented = {"number": certificate["number"], "verification_code": issued["verification_code"]}
    ok(checkin.post("/checkin", presented), 201)
    for _ in range(2):  # used again, twice: refused each time, the second raises an alert
        checkin.post("/checkin", presented)

    answer = Api(api_as("admin").client, secret).get("/figures")
    body = ok(answer)
    rows = {row["precinct_id"]: row for row in body["items"]}
    assert rows[world.almaty_almaly.id]["issued"] == 1
    assert rows[world.almaty_almaly.id]["included_elsewhere"] == 1
    assert rows[world.oral_precinct.id]["included_here"] == 1
    assert rows[world.oral_precinct.id]["refused_attempts"] == 2
    assert rows[world.oral_precinct.id]["alerts"] == 1
    text = answer.get_data(as_text=True)
    assert iin not in text
    assert "Жұмабаева" not in text


def test_territorial_figures_and_balance_cover_its_own_precincts_only(
    session: Session, world: World, api_as: ApiAs
) -> None:
    iin = new_voter(session, world, "oral_precinct", "Ахметов")
    clerk = api_as("clerk_oral")
    issued = _issue(clerk, iin, world.almaty.id)
    ok(clerk.post(f"/cases/{issued['id']}/spoil", {"reason": "ink"}))

    territorial = api_as("territorial_west")
    figures = ok(territorial.get("/figures"))["items"]
    assert {row["precinct_id"] for row in figures} == {
        world.oral_precinct.id,
        world.derkul_precinct.id,
    }
    balance = ok(territorial.get("/reconciliation"))
    assert balance["precincts"] == 2
    assert balance["spoilt"] == 1
    assert balance["issued"] == 0
    assert balance["received"] == balance["issued"] + balance["spoilt"] + balance["unused"]
    assert balance["balanced"] is True
    country = ok(api_as("admin").get("/reconciliation"))
    assert country["precincts"] == 4
    assert country["received"] > balance["received"]


def test_an_import_whose_worker_died_is_reported_failed_not_running_for_ever(
    app: Flask, session: Session, world: World, api_as: ApiAs
) -> None:
    instance = Path(app.instance_path)
    jobs = {}
    for name, age in (("dead", 11 * 60), ("alive", 5)):
        job = ImportJob(
            kind="voters",
            status="running",
            file_name=f"{name}.csv",
            created_by_id=world.users["admin"].id,
            created_at=datetime(2022, 5, 25, 5, 0, tzinfo=UTC),
        )
        session.add(job)
        session.flush()
        heartbeat = job_folder(instance) / f"{job.id}.progress.json"
        heartbeat.write_text('{"checked": 2000, "imported": 0}')
        past = time.time() - age
        os.utime(heartbeat, (past, past))
        jobs[name] = job.id
    session.commit()

    admin = api_as("admin")
    dead = ok(admin.get(f"/imports/{jobs['dead']}"))
    alive = ok(admin.get(f"/imports/{jobs['alive']}"))

    assert dead["status"] == "failed"
    assert dead["failure"].startswith("interrupted")
    assert dead["rows_imported"] == 0
    assert not (job_folder(instance) / f"{jobs['dead']}.progress.json").exists()
    assert alive["status"] == "running"
    assert alive["rows_checked"] == 2000


def _statements(app: Flask, request: Callable[[], object]) -> int:
    """How many SQL statements one request runs."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append("statement")

    event.listen(engine, "before_cursor_execute", count)
    try:
        request()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def _check_in(checkin: Api, case: dict[str, object]) -> None:
    certificate = case["certificate"]
    assert isinstance(certificate, dict)
    shown = {"number": certificate["number"], "verification_code": case["verification_code"]}
    ok(checkin.post("/checkin", shown), 201)


def test_listing_pages_cost_the_same_queries_whatever_their_length(
    app: Flask, session: Session, world: World, api_as: ApiAs, clock: FixedClock
) -> None:
    """No query per row: a page of 500 cases must not become 1,000 round trips."""
    clerk = api_as("clerk_almaly")
    names = ["Абаев", "Бекова", "Валиев", "Гүлжан", "Дәулет", "Ерланов"]
    iins = [new_voter(session, world, "almaty_almaly", name) for name in names]
    oral = world.oral.id
    session.rollback()
    first = [_issue(clerk, iin, oral) for iin in iins[:2]]
    clock.instant = VOTING_MORNING
    checkin = api_as("checkin_oral")
    _check_in(checkin, first[0])

    def costs() -> tuple[int, int, int]:
        # Warm up: a token's last use is stamped at most every 5 minutes, not on every request.
        ok(clerk.get("/me"))
        ok(checkin.get("/me"))
        return (
            _statements(app, lambda: ok(clerk.get("/cases"))),
            _statements(app, lambda: ok(clerk.get("/register"))),
            _statements(app, lambda: ok(checkin.get("/inclusions"))),
        )

    few = costs()
    clock.instant = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
    issued = [_issue(clerk, iin, oral) for iin in iins[2:]]
    clock.instant = VOTING_MORNING
    for case in [first[1], *issued]:
        _check_in(checkin, case)
    many = costs()

    assert len(ok(clerk.get("/cases"))["items"]) == 6
    assert len(ok(checkin.get("/inclusions"))["items"]) == 6
    assert many == few
