"""Re-listing against an application for the same voter, at the same instant, on PostgreSQL.

A clerk applies for a voter at the home precinct while the territorial commission moves the same
voter to another list. Whatever the order, the database must end consistent: no live case of the
voter at a precinct whose list the voter is no longer on. Both intentions lock the voter's row
(`services.cases._read_application`, `services.voters._locked_voter`), so one waits for the
other and then sees it. The negative control lifts both locks and holds each thread after its
read until the other has read too: then both commit, and the harness sees the inconsistency.

    KUELIK_RACE_TRIALS  the one-voter trials of test_issue_races; this race runs a quarter.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import services.cases
import services.voters
from models import CertificateCase, VoterEntry
from services.audit import Actor
from services.cases import application_read, apply_for_certificate
from services.voters import move_voter
from tests.conftest import truncate_all
from tests.factories import World, make_voter
from tests.races.test_issue_races import (
    BARRIER_TIMEOUT,
    TRIALS,
    Desk,
    _race_engine,
    build_world,
)
from workflow.errors import RuleViolation
from workflow.states import LIVE_CASE_STATES

pytestmark = pytest.mark.postgres

NOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
ADMIN = Actor(user_id=None, role="admin")


@pytest.fixture
def engine(postgres_database: str) -> Iterator[Engine]:
    """The suite's migrated database, emptied for this test."""
    truncate_all(postgres_database)
    race_engine = _race_engine(postgres_database)
    yield race_engine
    race_engine.dispose()


class Hold:
    """Stands in for a read: does it, then waits until the other thread has read as well."""

    def __init__(self, original: Callable[..., object]) -> None:
        self.original = original
        self.barrier: threading.Barrier | None = None

    def __call__(self, *args: object) -> Any:
        result = self.original(*args)
        if self.barrier is not None:
            self.barrier.wait()
        return result


def _race(engine: Engine, desk: Desk, world: World, setup: Session) -> tuple[str, str, int]:
    """One trial: a fresh voter, an application and a move released together."""
    voter = make_voter(setup, world, world.almaty_almaly)
    voter_id, voter_iin = voter.id, voter.iin
    setup.commit()
    start = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
    outcomes: dict[str, str] = {}

    def apply() -> None:
        with Session(engine) as session:
            session.connection()
            start.wait()
            outcome = apply_for_certificate(session, desk.clerk, desk.application(voter_iin), NOW)
            session.commit()
            outcomes["apply"] = "accepted" if outcome.refusal is None else str(outcome.refusal.code)

    def move() -> None:
        with Session(engine) as session:
            session.connection()
            start.wait()
            try:
                move_voter(
                    session, ADMIN, voter_id, world.almaty_bostandyk.id, "akimat decision", NOW
                )
                outcomes["move"] = "moved"
            except RuleViolation as refused:
                outcomes["move"] = str(refused.code)
            session.commit()

    threads = [threading.Thread(target=apply), threading.Thread(target=move)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a lock was never released"
    return outcomes.get("apply", "error"), outcomes.get("move", "error"), voter_id


def _misplaced_live_cases(engine: Engine, voter_id: int) -> int:
    """Live cases of the voter at a precinct whose list the voter is not on."""
    with Session(engine) as session:
        listed = session.scalar(select(VoterEntry.precinct_id).where(VoterEntry.id == voter_id))
        return len(
            session.scalars(
                select(CertificateCase.id).where(
                    CertificateCase.voter_id == voter_id,
                    CertificateCase._state.in_(LIVE_CASE_STATES),
                    CertificateCase.precinct_id != listed,
                )
            ).all()
        )


def test_an_application_and_a_move_of_the_same_voter_never_leave_a_case_behind(
    engine: Engine,
) -> None:
    setup, world, desk = build_world(engine)
    trials = max(1, TRIALS // 4)
    seen: Counter[tuple[str, str]] = Counter()
    broken = 0
    for _ in range(trials):
        applied, moved, voter_id = _race(engine, desk, world, setup)
        seen[(applied, moved)] += 1
        broken += _misplaced_live_cases(engine, voter_id)
    setup.close()
    print(f"\n[race] apply vs re-listing, {trials} trials: {dict(seen)}")
    assert broken == 0
    # Each trial went one of the two consistent ways, never both nor neither.
    assert set(seen) <= {("accepted", "holds_certificate"), ("not_on_list", "moved")}


def test_negative_control_without_the_row_locks_a_case_is_left_at_the_old_list(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unlocked(session: Session, voter_id: int) -> VoterEntry | None:
        return session.scalar(select(VoterEntry).where(VoterEntry.id == voter_id))

    monkeypatch.setattr(services.cases, "_APPLICATION_READ", application_read(lock_voter=False))
    monkeypatch.setattr(services.voters, "_locked_voter", unlocked)
    apply_hold = Hold(services.cases._read_application)
    move_hold = Hold(services.voters._has_live_case)
    monkeypatch.setattr(services.cases, "_read_application", apply_hold)
    monkeypatch.setattr(services.voters, "_has_live_case", move_hold)
    setup, world, desk = build_world(engine)
    trials = max(1, TRIALS // 20)
    broken = 0
    for _ in range(trials):
        held = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
        apply_hold.barrier = move_hold.barrier = held
        _applied, _moved, voter_id = _race(engine, desk, world, setup)
        broken += _misplaced_live_cases(engine, voter_id)
    setup.close()
    print(f"\n[race] NEGATIVE CONTROL, locks lifted: {broken} misplaced cases in {trials} trials")
    assert broken == trials, "the harness failed to see a case left at the old list"
