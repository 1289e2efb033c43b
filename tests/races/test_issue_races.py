"""Race tests for the certificate desk: real threads, one PostgreSQL connection each, a barrier.

Every trial starts 8 threads on a `threading.Barrier(8)` so they hit the database in the same
instant; after the trial a separate session checks what the database kept. Each race has a
negative control: the same harness, run against a copy of the schema from which the protection
under test was dropped, must see the bug (two live cases for a voter, one serial on two forms).
That is what proves a green run means something.

Applications for one voter also queue on the voter's row lock (`services.cases.
_read_application`, there for re-listing): the tests that must show the unique index deciding
alone, and the negative controls, lift that lock (`voter_unlocked`), or no two clerks would ever
insert at once. The re-listing race (an application and a move of the same voter at once) keeps
it, and its negative control lifts both locks to show what they prevent.

Run (prints one summary line per test with `-s`):

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kuelik_h5 \
        .venv/bin/pytest tests/races -s

Environment:
    KUELIK_RACE_TRIALS           trials of 8 threads for the one-voter race (default 200, as the
                                 issue requires; use 1000 for a long run). The other races scale
                                 with it: the held race runs trials // 4, the issue races
                                 trials // 8 rounds (each round issues 8 forms or races 8 clerks).
    KUELIK_RACE_NEGATIVE_TRIALS  trials of the natural negative control (default 50); the other
                                 negative controls run a fifth of that, being deterministic or
                                 nearly so.

The negative controls live in a schema of their own (`kuelik_race_negative`) in the test
database: no CREATEDB privilege needed, and the schema the rest of the suite uses is untouched.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import Engine, create_engine, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import services.cases
from app import create_app
from models import Base, Certificate, CertificateCase, StockRange, VoterEntry, db
from services.audit import Actor
from services.cases import (
    ApplicationInput,
    ApplicationReads,
    ConcurrentChange,
    application_read,
    apply_for_certificate,
    issue_certificate,
)
from tests.conftest import truncate_all
from tests.factories import World, make_voter, make_world
from workflow.states import LIVE_CASE_STATES

pytestmark = pytest.mark.postgres

THREADS = 8
TRIALS = int(os.environ.get("KUELIK_RACE_TRIALS", "200"))
NEGATIVE_TRIALS = int(os.environ.get("KUELIK_RACE_NEGATIVE_TRIALS", "50"))
ROUNDS = max(1, TRIALS // THREADS)
NEGATIVE_SCHEMA = "kuelik_race_negative"
# A thread stuck longer than this means a lock nobody releases: fail, never hang the suite.
BARRIER_TIMEOUT = 60.0
# Noon in Almaty on 25 May 2022: inside the issue window, so only the race can refuse.
NOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)

# What a thread that did not win may legitimately end with.
LOSER_OUTCOMES = frozenset({"already_issued", "invalid_transition", "concurrent_change", "lost"})


@dataclass(frozen=True, slots=True)
class Desk:
    """One precinct's desk in the test world: where every thread of a trial applies."""

    election_id: int
    precinct_id: int
    stay_locality_id: int
    clerk: Actor

    def application(self, voter_iin: str) -> ApplicationInput:
        return ApplicationInput(
            election_id=self.election_id,
            precinct_id=self.precinct_id,
            voter_iin=voter_iin,
            applicant_document="ID 012345678",
            stay_locality_id=self.stay_locality_id,
        )


@dataclass(slots=True)
class ThreadResult:
    """What one thread of a trial ended with; `read_live` is what its courtesy check saw."""

    outcome: str
    serial: int | None = None
    read_live: bool | None = None


@dataclass(slots=True)
class Tally:
    """Totals across the trials of one test, for the summary line and the assertions."""

    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    # Losers whose courtesy check read "no live case": the unique index alone turned them away.
    index_decided: int = 0

    def add(self, trial: int, results: list[ThreadResult], problems: list[str]) -> None:
        self.outcomes.update(result.outcome for result in results)
        self.index_decided += sum(
            1 for r in results if r.outcome == "already_issued" and r.read_live is False
        )
        outcomes = sorted(result.outcome for result in results)
        self.problems.extend(f"trial {trial}: {problem} {outcomes}" for problem in problems)

    def assert_clean(self) -> None:
        shown = "\n".join(self.problems[:20])
        assert not self.problems, f"{len(self.problems)} problems, first ones:\n{shown}"


class LiveCaseProbe:
    """Stands in for `services.cases._read_application`: records whether each thread read a
    live case and, when given a barrier, holds every thread after its read until all 8 have
    read, so that all of them go on to insert and only the database can decide (the held race
    and its control).
    """

    def __init__(self, original: Callable[..., ApplicationReads]) -> None:
        self.original = original
        self.local = threading.local()
        self.barrier: threading.Barrier | None = None

    def __call__(self, *args: object) -> ApplicationReads:
        result = self.original(*args)
        self.local.read = result.has_live_case
        if self.barrier is not None:
            self.barrier.wait()
        return result

    def last_read(self) -> bool | None:
        read: bool | None = getattr(self.local, "read", None)
        return read


@pytest.fixture
def voter_unlocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Applications for one voter no longer queue on its row: only the index can decide."""
    monkeypatch.setattr(services.cases, "_APPLICATION_READ", application_read(lock_voter=False))


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> LiveCaseProbe:
    spy = LiveCaseProbe(services.cases._read_application)
    monkeypatch.setattr(services.cases, "_read_application", spy)
    return spy


def _race_engine(url: str, schema: str | None = None) -> Engine:
    """A pool big enough for 8 racing threads plus the setup and checking sessions."""
    connect_args = {} if schema is None else {"options": f"-c search_path={schema}"}
    return create_engine(
        url, pool_size=THREADS + 4, max_overflow=0, pool_timeout=30, connect_args=connect_args
    )


@pytest.fixture
def engine(postgres_database: str) -> Iterator[Engine]:
    """The suite's migrated database, emptied for this test."""
    truncate_all(postgres_database)
    race_engine = _race_engine(postgres_database)
    yield race_engine
    race_engine.dispose()


@pytest.fixture(scope="module")
def unprotected_schema(postgres_database: str) -> Iterator[Engine]:
    """The migrated schema again, in a schema of its own, minus the protections under test:
    the two partial unique indexes and the unique (election, serial).
    """
    admin = create_engine(postgres_database)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {NEGATIVE_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {NEGATIVE_SCHEMA}"))
    options = {"connect_args": {"options": f"-c search_path={NEGATIVE_SCHEMA}"}}
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": postgres_database,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
            "TESTING": True,
            "SECRET_KEY": "race-negative",
        }
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()
    race_engine = _race_engine(postgres_database, NEGATIVE_SCHEMA)
    with race_engine.begin() as connection:
        connection.execute(text("DROP INDEX uq_certificate_case_live_voter"))
        connection.execute(text("DROP INDEX uq_certificate_live_voter"))
        connection.execute(
            text("ALTER TABLE certificate DROP CONSTRAINT uq_certificate_election_id_serial")
        )
    yield race_engine
    race_engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {NEGATIVE_SCHEMA} CASCADE"))
    admin.dispose()


@pytest.fixture
def unprotected(unprotected_schema: Engine) -> Engine:
    """The unprotected schema, emptied for this test."""
    names = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with unprotected_schema.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return unprotected_schema


def build_world(engine: Engine) -> tuple[Session, World, Desk]:
    """Make the 2022 world; the returned session stays open to add voters between trials."""
    session = Session(engine)
    world = make_world(session, stock=1000)
    desk = Desk(
        election_id=world.election.id,
        precinct_id=world.almaty_almaly.id,
        stay_locality_id=world.oral.id,
        clerk=world.actor("clerk_almaly"),
    )
    session.commit()
    return session, world, desk


def ensure_stock(session: Session, desk: Desk, needed: int) -> None:
    """Long runs need more numbers than the factory hands out: add a range past every other."""
    free = session.scalar(
        select(func.coalesce(func.sum(StockRange.last_serial - StockRange.next_serial + 1), 0))
        .where(StockRange.election_id == desk.election_id)
        .where(StockRange.precinct_id == desk.precinct_id)
    )
    missing = needed - int(free or 0)
    if missing <= 0:
        return
    top = int(session.scalar(select(func.max(StockRange.last_serial))) or 0)
    session.add(
        StockRange(
            election_id=desk.election_id,
            precinct_id=desk.precinct_id,
            first_serial=top + 1,
            last_serial=top + missing,
            next_serial=top + 1,
        )
    )
    session.commit()


def next_free_serials(session: Session, desk: Desk, count: int) -> list[int]:
    """The numbers the next `count` issues must take, in stock order (lowest range first)."""
    ranges = session.execute(
        select(StockRange.next_serial, StockRange.last_serial)
        .where(StockRange.election_id == desk.election_id)
        .where(StockRange.precinct_id == desk.precinct_id)
        .order_by(StockRange.first_serial)
    ).all()
    serials: list[int] = []
    for next_serial, last_serial in ranges:
        serials.extend(range(next_serial, min(last_serial + 1, next_serial + count - len(serials))))
    return serials


def stock_cursor(session: Session, desk: Desk) -> int:
    """How many numbers the precinct has taken from its stock so far."""
    return int(
        session.scalar(
            select(func.sum(StockRange.next_serial - StockRange.first_serial))
            .where(StockRange.election_id == desk.election_id)
            .where(StockRange.precinct_id == desk.precinct_id)
        )
        or 0
    )


def run_threads(
    engine: Engine, work: Callable[[Session, int], ThreadResult], probe: LiveCaseProbe | None
) -> list[ThreadResult]:
    """Run `work` in 8 threads, each on its own session, released together by a barrier."""
    barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)
    results: list[ThreadResult | None] = [None] * THREADS

    def thread_main(index: int) -> None:
        with Session(engine) as session:
            # Check the connection out before the barrier: pool latency must not stagger the race.
            session.connection()
            try:
                barrier.wait()
                result = work(session, index)
            except ConcurrentChange:
                session.rollback()
                result = ThreadResult("concurrent_change")
            except OperationalError as error:
                session.rollback()
                # Serialization failure or deadlock: PostgreSQL chose a loser, the user retries.
                sqlstate = getattr(error.orig, "sqlstate", None)
                lost = sqlstate in {"40001", "40P01"}
                result = ThreadResult("lost" if lost else f"error:{error!r}")
            except Exception as error:  # reported as a problem of the trial, not lost silently
                session.rollback()
                result = ThreadResult(f"error:{error!r}")
            if probe is not None:
                result.read_live = probe.last_read()
            results[index] = result

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
    if any(thread.is_alive() for thread in threads):
        pytest.fail("a racing thread is still running: a lock was never released")
    return [result or ThreadResult("error:no result") for result in results]


def apply_then_issue(desk: Desk, voter_iin: str) -> Callable[[Session, int], ThreadResult]:
    """One clerk's intention: apply for the voter, commit, and issue if accepted, commit."""

    def work(session: Session, index: int) -> ThreadResult:
        applied = apply_for_certificate(session, desk.clerk, desk.application(voter_iin), NOW)
        session.commit()
        if applied.refusal is not None:
            return ThreadResult(str(applied.refusal.code))
        issued = issue_certificate(session, desk.clerk, applied.case.id, NOW)
        session.commit()
        if issued.refusal is not None or issued.certificate is None:
            return ThreadResult(f"issue refused: {issued.refusal}")
        return ThreadResult("issued", issued.certificate.serial)

    return work


def apply_only(desk: Desk, voter_iin: str) -> Callable[[Session, int], ThreadResult]:
    def work(session: Session, index: int) -> ThreadResult:
        applied = apply_for_certificate(session, desk.clerk, desk.application(voter_iin), NOW)
        session.commit()
        if applied.refusal is not None:
            return ThreadResult(str(applied.refusal.code))
        return ThreadResult("accepted")

    return work


def live_cases(session: Session, voter_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(CertificateCase)
            .where(CertificateCase.voter_id == voter_id)
            .where(CertificateCase._state.in_(LIVE_CASE_STATES))
        )
        or 0
    )


def voter_problems(engine: Engine, voter_id: int, results: list[ThreadResult]) -> list[str]:
    """Everything that must hold for one voter after 8 clerks raced to serve them."""
    problems: list[str] = []
    with Session(engine) as session:
        serials = list(session.scalars(select(Certificate.serial).filter_by(voter_id=voter_id)))
        mark = session.scalar(select(VoterEntry.mark_serial).filter_by(id=voter_id))
        live = live_cases(session, voter_id)
    if len(serials) != 1:
        problems.append(f"{len(serials)} certificates")
    if live != 1:
        problems.append(f"{live} live cases")
    if serials and mark != serials[0]:
        problems.append(f"home mark {mark} is not the certificate's serial {serials}")
    winners = [r for r in results if r.outcome == "issued"]
    if len(winners) != 1 or winners[0].serial not in serials:
        problems.append("not exactly one thread issued the certificate")
    if any(r.outcome not in LOSER_OUTCOMES for r in results if r.outcome != "issued"):
        problems.append("a loser ended with something other than a refusal or a retryable error")
    return problems


def case_problems(session: Session, case_id: int, serial: int | None) -> list[str]:
    """One issued case: one form with the serial its thread saw, and that serial on the list."""
    case = session.get_one(CertificateCase, case_id)
    session.refresh(case)
    forms = [certificate.serial for certificate in case.certificates]
    mark = None if case.voter is None else case.voter.mark_serial
    if forms != [serial] or mark != serial:
        return [f"case {case_id}: forms {forms}, home mark {mark}, thread saw {serial}"]
    return []


def shared_serials(engine: Engine) -> list[tuple[int, int]]:
    """Serials printed on more than one form, with how many forms carry each."""
    with Session(engine) as session:
        rows = session.execute(
            select(Certificate.serial, func.count())
            .group_by(Certificate.election_id, Certificate.serial)
            .having(func.count() > 1)
        ).all()
    return [(int(serial), int(count)) for serial, count in rows]


def summary(title: str, trials: int, elapsed: float, tally: Tally, extra: str = "") -> None:
    outcomes = ", ".join(f"{key}={count}" for key, count in sorted(tally.outcomes.items()))
    print(
        f"\n[race] {title}: {trials} trials x {THREADS} threads in {elapsed:.1f} s "
        f"({elapsed / trials * 1000:.0f} ms/trial); outcomes: {outcomes}{extra}"
    )


def voter_trial(
    engine: Engine,
    setup: Session,
    world: World,
    work: Callable[[Desk, str], Callable[[Session, int], ThreadResult]],
    desk: Desk,
    probe: LiveCaseProbe,
) -> tuple[int, list[ThreadResult]]:
    """A fresh voter, then 8 threads doing `work` for that voter at once."""
    voter = make_voter(setup, world, world.almaty_almaly)
    voter_id, voter_iin = voter.id, voter.iin
    setup.commit()
    return voter_id, run_threads(engine, work(desk, voter_iin), probe)


def issue_round(
    engine: Engine, setup: Session, world: World, desk: Desk
) -> tuple[list[ThreadResult], list[str]]:
    """Receive 8 applications one by one, then issue the 8 cases from 8 threads at once."""
    case_ids: list[int] = []
    for _ in range(THREADS):
        voter = make_voter(setup, world, world.almaty_almaly)
        applied = apply_for_certificate(setup, desk.clerk, desk.application(voter.iin), NOW)
        assert applied.accepted, applied.refusal
        setup.commit()
        case_ids.append(applied.case.id)
    expected = next_free_serials(setup, desk, THREADS)
    before = stock_cursor(setup, desk)
    setup.commit()

    def issue(session: Session, index: int) -> ThreadResult:
        issued = issue_certificate(session, desk.clerk, case_ids[index], NOW)
        session.commit()
        if issued.certificate is None:
            return ThreadResult(f"issue refused: {issued.refusal}")
        return ThreadResult("issued", issued.certificate.serial)

    results = run_threads(engine, issue, None)
    problems: list[str] = []
    serials = [result.serial for result in results]
    taken = sorted(serial for serial in serials if serial is not None)
    if taken != expected:
        problems.append(f"serials {taken}, expected the next free ones {expected}")
    moved = stock_cursor(setup, desk) - before
    if moved != THREADS:
        problems.append(f"stock cursor moved by {moved}")
    for case_id, serial in zip(case_ids, serials, strict=True):
        problems.extend(case_problems(setup, case_id, serial))
    setup.commit()
    return results, problems


def test_eight_clerks_applying_for_one_voter_issue_exactly_one_certificate(
    engine: Engine, probe: LiveCaseProbe
) -> None:
    setup, world, desk = build_world(engine)
    ensure_stock(setup, desk, TRIALS)
    tally = Tally()
    seen_serials: set[int] = set()
    started = time.perf_counter()
    for trial in range(TRIALS):
        voter_id, results = voter_trial(engine, setup, world, apply_then_issue, desk, probe)
        problems = voter_problems(engine, voter_id, results)
        for result in results:
            if result.serial is not None:
                if result.serial in seen_serials:
                    problems.append(f"serial {result.serial} issued twice")
                seen_serials.add(result.serial)
        tally.add(trial, results, problems)
    elapsed = time.perf_counter() - started
    setup.close()
    summary(
        "one voter, 8 clerks apply+issue",
        TRIALS,
        elapsed,
        tally,
        f"; losers turned away by the unique index (courtesy read saw nothing): "
        f"{tally.index_decided}",
    )
    tally.assert_clean()
    assert tally.outcomes["issued"] == TRIALS
    assert not shared_serials(engine)


def test_unique_index_turns_away_clerks_who_all_passed_the_courtesy_check(
    engine: Engine, probe: LiveCaseProbe, voter_unlocked: None
) -> None:
    """Hold every thread after its courtesy read, so all 8 insert: only the index can decide,
    and the losers must come back as `already_issued` through the SAVEPOINT, not as errors.
    """
    setup, world, desk = build_world(engine)
    trials = max(1, TRIALS // 4)
    ensure_stock(setup, desk, trials)
    tally = Tally()
    started = time.perf_counter()
    for trial in range(trials):
        probe.barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)
        voter_id, results = voter_trial(engine, setup, world, apply_then_issue, desk, probe)
        problems = voter_problems(engine, voter_id, results)
        if any(result.read_live is not False for result in results):
            problems.append("a thread's courtesy check saw the winner: the hold did not work")
        tally.add(trial, results, problems)
    elapsed = time.perf_counter() - started
    setup.close()
    summary(
        "one voter, all 8 held past the courtesy check",
        trials,
        elapsed,
        tally,
        f"; losers turned away by the unique index: {tally.index_decided}",
    )
    tally.assert_clean()
    assert tally.index_decided == trials * (THREADS - 1)


def test_eight_clerks_issuing_different_cases_take_consecutive_serials(engine: Engine) -> None:
    setup, world, desk = build_world(engine)
    ensure_stock(setup, desk, ROUNDS * THREADS)
    tally = Tally()
    started = time.perf_counter()
    for round_number in range(ROUNDS):
        results, problems = issue_round(engine, setup, world, desk)
        tally.add(round_number, results, problems)
    elapsed = time.perf_counter() - started
    setup.close()
    summary("8 cases of one precinct issued at once", ROUNDS, elapsed, tally)
    tally.assert_clean()
    assert tally.outcomes["issued"] == ROUNDS * THREADS
    assert not shared_serials(engine)


def test_eight_clerks_issuing_the_same_case_print_one_form(engine: Engine) -> None:
    """A double issue of one case (two desks, a double click) must neither print two forms nor
    burn a number: the losers wait on the case lock and then find the case already issued.
    """
    setup, world, desk = build_world(engine)
    ensure_stock(setup, desk, ROUNDS)
    tally = Tally()
    started = time.perf_counter()
    for round_number in range(ROUNDS):
        voter = make_voter(setup, world, world.almaty_almaly)
        voter_id = voter.id
        applied = apply_for_certificate(setup, desk.clerk, desk.application(voter.iin), NOW)
        assert applied.accepted, applied.refusal
        setup.commit()
        case_id = applied.case.id
        before = stock_cursor(setup, desk)
        setup.commit()

        def issue(session: Session, index: int, case_id: int = case_id) -> ThreadResult:
            issued = issue_certificate(session, desk.clerk, case_id, NOW)
            session.commit()
            if issued.refusal is not None:
                return ThreadResult(str(issued.refusal.code))
            if issued.certificate is None:
                return ThreadResult("issue accepted without a certificate")
            return ThreadResult("issued", issued.certificate.serial)

        results = run_threads(engine, issue, None)
        problems = voter_problems(engine, voter_id, results)
        moved = stock_cursor(setup, desk) - before
        setup.commit()
        if moved != 1:
            problems.append(f"stock cursor moved by {moved}: a loser burnt a number")
        tally.add(round_number, results, problems)
    elapsed = time.perf_counter() - started
    setup.close()
    summary("one case, 8 clerks issue it at once", ROUNDS, elapsed, tally)
    tally.assert_clean()
    assert tally.outcomes["issued"] == ROUNDS


# Negative controls: the same harness where a protection is missing must see the bug.


def test_negative_control_without_the_indexes_two_clerks_receive_for_one_voter(
    unprotected: Engine, probe: LiveCaseProbe, voter_unlocked: None
) -> None:
    """Left to chance, as in the first test: the courtesy check alone is check-then-insert.

    No hold is needed: the natural window (a read, then a few round trips until the commit) is
    wide enough that most trials duplicate even on 2 CPUs (195 of 200 when measured).
    """
    setup, world, desk = build_world(unprotected)
    tally = Tally()
    live_counts: Counter[int] = Counter()
    started = time.perf_counter()
    for trial in range(NEGATIVE_TRIALS):
        voter_id, results = voter_trial(unprotected, setup, world, apply_only, desk, probe)
        with Session(unprotected) as session:
            live_counts[live_cases(session, voter_id)] += 1
        tally.add(trial, results, _errors(results))
    elapsed = time.perf_counter() - started
    setup.close()
    duplicated = sum(count for live, count in live_counts.items() if live > 1)
    summary(
        "NEGATIVE CONTROL, indexes dropped, apply only, natural race",
        NEGATIVE_TRIALS,
        elapsed,
        tally,
        f"; trials with >1 live case: {duplicated}; live cases per trial: {dict(live_counts)}",
    )
    tally.assert_clean()
    assert duplicated >= 1, "the harness failed to see duplicates without the indexes"


def test_negative_control_without_the_indexes_held_clerks_all_receive(
    unprotected: Engine, probe: LiveCaseProbe, voter_unlocked: None
) -> None:
    """The hold of the index test, with no index behind it: every held clerk's insert lands."""
    setup, world, desk = build_world(unprotected)
    trials = max(1, NEGATIVE_TRIALS // 5)
    tally = Tally()
    live_counts: Counter[int] = Counter()
    started = time.perf_counter()
    for trial in range(trials):
        probe.barrier = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT)
        voter_id, results = voter_trial(unprotected, setup, world, apply_only, desk, probe)
        with Session(unprotected) as session:
            live_counts[live_cases(session, voter_id)] += 1
        tally.add(trial, results, _errors(results))
    elapsed = time.perf_counter() - started
    setup.close()
    summary(
        "NEGATIVE CONTROL, indexes dropped, apply only, held past the courtesy check",
        trials,
        elapsed,
        tally,
        f"; live cases per trial: {dict(live_counts)}",
    )
    tally.assert_clean()
    assert live_counts == Counter({THREADS: trials}), "a held clerk was refused without the index"


def allocate_serial_read_then_write(
    session: Session, election_id: int, precinct_id: int
) -> int | None:
    """The bug the allocator's negative control plants: read the cursor, then write read + 1,
    so two issues that read before either commits take the same number (a lost update).
    """
    row = session.execute(
        select(StockRange.id, StockRange.next_serial)
        .where(StockRange.election_id == election_id, StockRange.precinct_id == precinct_id)
        .where(StockRange.next_serial <= StockRange.last_serial)
        .order_by(StockRange.first_serial)
        .limit(1)
    ).first()
    if row is None:
        return None
    session.execute(
        update(StockRange).where(StockRange.id == row.id).values(next_serial=row.next_serial + 1)
    )
    return int(row.next_serial)


def test_negative_control_a_read_then_write_allocator_shares_serials(
    unprotected: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The different-cases harness, with a naive allocator and no unique (election, serial)."""
    monkeypatch.setattr(services.cases, "allocate_serial", allocate_serial_read_then_write)
    setup, world, desk = build_world(unprotected)
    rounds = max(1, NEGATIVE_TRIALS // 5)
    tally = Tally()
    caught = 0
    started = time.perf_counter()
    for round_number in range(rounds):
        results, problems = issue_round(unprotected, setup, world, desk)
        caught += bool(problems)
        tally.add(round_number, results, _errors(results))
    elapsed = time.perf_counter() - started
    setup.close()
    shared = shared_serials(unprotected)
    summary(
        "NEGATIVE CONTROL, read-then-write allocator, serial unique dropped",
        rounds,
        elapsed,
        tally,
        f"; rounds the harness flagged: {caught}; serials on more than one form: {len(shared)}",
    )
    tally.assert_clean()
    assert caught >= 1, "the harness failed to see shared serials from a racy allocator"
    assert shared


def _errors(results: list[ThreadResult]) -> list[str]:
    """Only unexpected exceptions are problems of a negative-control trial."""
    errors = [result.outcome for result in results if result.outcome.startswith("error")]
    return [f"errors {errors}"] if errors else []
