"""Throughput of the certificate workflow. Prints figures, asserts nothing.

    python -m bench.bench_workflow [--quick] [--desk-only] [--pg URL | --no-pg] [--import-rows N]
    python bench/bench_workflow.py --quick

What it measures:
  (a) decisions per second of the pure case machine (apply, issue, present on an in-memory case),
      with no listener and with one recording listener, and a refused apply;
  (b) desk transactions per second, one client, on SQLite (a temporary file migrated through the
      app) and on PostgreSQL. One desk transaction = apply + commit, then issue + QR seal + commit
      for a fresh voter, each in a session of its own as two requests would have; the voters are
      inserted beforehand;
  (c) the same with 8 concurrent clients on PostgreSQL (threads, a session each), once with each
      client at its own precinct and once with all 8 at one precinct (one stock row to share);
      each load of (b) and (c) is followed, in the same run and with as many clients, by its
      bare-SQL floor: the same rows (case, audit events, stock cursor, certificate, the
      conditional home-list mark) and the same Ed25519 seal through the bare driver (psycopg,
      sqlite3) in the same two transactions and commits, and the project / floor ratio;
  (d) the voter-list import (services.importing.import_voters) of generated rows: rows per
      second, and peak memory, each in a fresh process so the figures are the import's alone.

PostgreSQL comes from --pg, else BENCH_DATABASE_URL, else TEST_DATABASE_URL. The bench works in a
schema of its own (`kuelik_bench`), created afresh, migrated, and dropped at the end: the tables
of the database it is pointed at are never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import json
import logging
import os
import platform
import resource
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

# Run as a script, the project root is not on sys.path; as `-m bench.bench_workflow` it is.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade

from app import create_app
from models import Election, Placement, Precinct, Role, StockRange, User, VoterEntry, db
from seal import CertificatePayload, sign_payload
from seal import iin_digest as seal_iin_digest
from services.audit import SYSTEM, Actor, safe_iin
from services.cases import (
    ApplicationInput,
    ConcurrentChange,
    apply_for_certificate,
    issue_certificate,
    new_verification_code,
)
from services.network import copy_network
from services.sealing import ElectionSeal, election_seal, seal_certificate
from tests.factories import make_world
from workflow.calendar import ElectionRules, Moment
from workflow.iin import build_iin
from workflow.machine import (
    ApplyContext,
    CaseMachine,
    IssueContext,
    PresentationContext,
    Transition,
)
from workflow.rules import PrecinctRef
from workflow.states import CaseState, CertificateState

BENCH_SCHEMA = "kuelik_bench"
CLIENTS = 8
# Each desk load and its floor run in this many alternating rounds.
ROUNDS = 5
# Noon in Almaty on 25 May 2022 (issue window open) and 09:00 in Oral on voting day.
NOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
# 1 May 2022: the import elections are still being prepared when their networks are copied.
PREPARING = datetime(2022, 5, 1, 6, 0, tzinfo=UTC)
VOTING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)
ALMATY_KATO = "750000000"
ORAL_KATO = "271010000"
SURNAMES = ("Нұрланов", "Сейітова", "Петрова", "Жанұзақов", "Ivanova", "Әлиев", "Қасымова")
GIVEN_NAMES = ("Асқар", "Айгүл", "Мария", "Ербол", "Olga", "Данияр", "Гүлнар")


@dataclass(frozen=True, slots=True)
class Counts:
    machine_cycles: int
    desk_transactions: int
    per_client: int
    import_rows: int


FULL = Counts(machine_cycles=100_000, desk_transactions=2_000, per_client=250, import_rows=100_000)
QUICK = Counts(machine_cycles=10_000, desk_transactions=200, per_client=25, import_rows=5_000)


@dataclass(frozen=True, slots=True)
class Desk:
    """A precinct with its clerk and a stock big enough for the whole run."""

    election_id: int
    precinct_id: int
    clerk: Actor
    stay_locality_id: int


@dataclass(frozen=True, slots=True)
class Database:
    label: str
    url: str
    schema: str | None = None

    def engine(self, pool: int = CLIENTS + 2) -> Engine:
        if not self.url.startswith("postgresql"):
            return create_engine(self.url)
        options = {} if self.schema is None else {"options": f"-c search_path={self.schema}"}
        return create_engine(self.url, pool_size=pool, max_overflow=0, connect_args=options)


@dataclass(frozen=True, slots=True)
class World:
    desks: list[Desk]
    # (region KATO, precinct number) of the precincts the import's rows are spread over.
    import_precincts: list[tuple[str, int]]


# --------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------


def sqlalchemy_url(url: str) -> str:
    """Plain postgresql:// URLs go through psycopg 3, as in the app."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def migrate(database: Database) -> None:
    """Upgrade through the app, as production does, with alembic's chatter kept off the figures."""
    options: dict[str, Any] = {}
    if database.schema is not None:
        options["connect_args"] = {"options": f"-c search_path={database.schema}"}
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database.url,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
            "SECRET_KEY": "bench",
            "TESTING": True,
        }
    )
    logging.disable(logging.INFO)
    try:
        with app.app_context():
            upgrade()
            db.engine.dispose()
    finally:
        logging.disable(logging.NOTSET)


def reset_schema(url: str, *, drop_only: bool = False) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
        if not drop_only:
            connection.execute(text(f"CREATE SCHEMA {BENCH_SCHEMA}"))
    engine.dispose()


def build_world(engine: Engine, stock_per_desk: int) -> World:
    """The factory's 2022 world plus one precinct, clerk and stock range per client."""
    with Session(engine) as session:
        world = make_world(session, stock=1)
        home = world.almaty_almaly
        desks: list[Desk] = []
        for k in range(CLIENTS):
            precinct = Precinct(
                election_id=world.election.id,
                number=1000 + k,
                region_id=home.region_id,
                locality_id=home.locality_id,
                district_id=home.district_id,
                territorial_commission_id=home.territorial_commission_id,
                address_kk=f"{1000 + k} учаске",
                address_ru=f"участок {1000 + k}",
            )
            session.add(precinct)
            session.flush()
            clerk = User(
                username=f"bench_clerk_{k}",
                full_name=f"Bench clerk {k}",
                password_hash="x",  # noqa: S106 - not a hash: bench clerks never sign in
                role=Role.CLERK,
            )
            # Far above the factory's ranges, one million apart: no overlap whatever the counts.
            first = 10_000_000 + k * 1_000_000
            session.add_all(
                [
                    clerk,
                    StockRange(
                        election_id=world.election.id,
                        precinct_id=precinct.id,
                        first_serial=first,
                        last_serial=first + stock_per_desk - 1,
                        next_serial=first,
                    ),
                ]
            )
            session.flush()
            session.add(
                Placement(user_id=clerk.id, election_id=world.election.id, precinct_id=precinct.id)
            )
            session.flush()
            desks.append(
                Desk(
                    election_id=world.election.id,
                    precinct_id=precinct.id,
                    clerk=Actor(clerk.id, Role.CLERK.value, frozenset({precinct.id})),
                    stay_locality_id=world.oral.id,
                )
            )
        for code in ("import_a", "import_b"):
            # Each election on a network of its own: a copy of the world's.
            election = Election(
                code=code,
                name_kk=code,
                name_ru=code,
                name_en=code,
                voting_day=date(2022, 6, 5),
                issue_opens_on=date(2022, 5, 20),
                issue_deadline_on=date(2022, 6, 4),
            )
            session.add(election)
            session.flush()
            copy_network(
                session,
                SYSTEM,
                source_id=world.election.id,
                target_id=election.id,
                now=PREPARING,
                with_staff=False,
            )
        session.commit()
    return World(
        desks, [(ALMATY_KATO, 101), (ALMATY_KATO, 205), ("270000000", 301), ("270000000", 350)]
    )


def iin_stream(first_day: date) -> Iterator[tuple[str, date]]:
    """Valid, distinct IINs with their birth dates: 100 a day (50 serials, both sexes)."""
    day = first_day
    while True:
        for serial in range(50):
            for male in (True, False):
                iin = build_iin(day, male, serial)
                if iin is not None:
                    yield iin, day
        day += timedelta(days=1)


def add_voters(
    engine: Engine, desk: Desk, iins: Iterator[tuple[str, date]], count: int
) -> list[str]:
    """Insert `count` voters at the desk's precinct in one statement; their IINs, in order."""
    rows: list[dict[str, Any]] = []
    for i in range(count):
        iin, born = next(iins)
        surname, given = SURNAMES[i % len(SURNAMES)], GIVEN_NAMES[i % len(GIVEN_NAMES)]
        rows.append(
            {
                "election_id": desk.election_id,
                "precinct_id": desk.precinct_id,
                "iin": iin,
                "surname": surname,
                "given_name": given,
                "patronymic": None,
                "birth_date": born,
                "address": "ул. Абая, 1",
                "search_key": f"{surname} {given}".lower(),
            }
        )
    with Session(engine) as session:
        session.execute(insert(VoterEntry), rows)
        session.commit()
    return [row["iin"] for row in rows]


# --------------------------------------------------------------------------------------------
# (a) the machine
# --------------------------------------------------------------------------------------------


class FakeCase:
    """What the machine binds to: just the private state."""

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state: CaseState | None = None


def bench_machine(cycles: int) -> None:
    rules = ElectionRules(
        issue_opens_on=date(2022, 5, 20),
        issue_deadline_on=date(2022, 6, 4),
        voting_day=date(2022, 6, 5),
    )
    desk_moment = Moment(NOW, "Asia/Almaty")
    apply_ctx = ApplyContext(
        moment=desk_moment,
        rules=rules,
        voter_iin="900101300017",
        on_this_list=True,
        has_live_case=False,
        home_locality_kato=ALMATY_KATO,
        stay_locality_kato=ORAL_KATO,
    )
    refused_ctx = ApplyContext(
        moment=desk_moment,
        rules=rules,
        voter_iin="900101300017",
        on_this_list=True,
        has_live_case=False,
        home_locality_kato=ALMATY_KATO,
        stay_locality_kato=ALMATY_KATO,
    )
    issue_ctx = IssueContext(moment=desk_moment, rules=rules, stock_available=True)
    present_ctx = PresentationContext(
        moment=Moment(VOTING, "Asia/Oral"),
        rules=rules,
        certificate_state=CertificateState.ISSUED,
        home=PrecinctRef(1, ALMATY_KATO, "101"),
        receiving=PrecinctRef(2, ORAL_KATO, "301"),
    )
    # Bounded, so a long run measures the listener call and not a growing list.
    sink: deque[Transition] = deque(maxlen=64)
    listener: Callable[[Transition], None] = sink.append

    def full_life(listeners: tuple[Callable[[Transition], None], ...]) -> float:
        started = time.perf_counter()
        for _ in range(cycles):
            machine = CaseMachine(FakeCase(), listeners)
            machine.apply(apply_ctx)
            machine.issue(issue_ctx)
            machine.present(present_ctx)
        return time.perf_counter() - started

    def refused_apply(listeners: tuple[Callable[[Transition], None], ...]) -> float:
        started = time.perf_counter()
        for _ in range(cycles):
            CaseMachine(FakeCase(), listeners).apply(refused_ctx)
        return time.perf_counter() - started

    print(f"\n(a) Case machine, in memory, best of 5 x {cycles:,} cases after a warm-up")
    for label, run, decisions, listeners in (
        ("apply+issue+present, no listener", full_life, 3, ()),
        ("apply+issue+present, 1 listener", full_life, 3, (listener,)),
        ("refused apply (same_locality), no listener", refused_apply, 1, ()),
        ("refused apply (same_locality), 1 listener", refused_apply, 1, (listener,)),
    ):
        run(listeners)  # warm-up: caches (time zones) and the allocator settle first
        best = min(run(listeners) for _ in range(5))
        per_second = cycles * decisions / best
        print(f"    {label:<44} {per_second:>12,.0f} decisions/s  {1e6 / per_second:6.2f} µs each")


# --------------------------------------------------------------------------------------------
# (b), (c) desk transactions
# --------------------------------------------------------------------------------------------


def desk_transaction(engine: Engine, seal: ElectionSeal, desk: Desk, iin: str) -> bool:
    """Apply, then issue, each in a session and a commit of its own as two requests would have;
    the issue also signs the certificate's QR seal. True when issued."""
    application = ApplicationInput(
        election_id=desk.election_id,
        precinct_id=desk.precinct_id,
        voter_iin=iin,
        applicant_document="ID 012345678",
        stay_locality_id=desk.stay_locality_id,
    )
    with Session(engine) as session:
        applied = apply_for_certificate(session, desk.clerk, application, NOW)
        case_id = applied.case.id
        session.commit()
    if not applied.accepted:
        return False
    with Session(engine) as session:
        issued = issue_certificate(session, desk.clerk, case_id, NOW)
        if issued.certificate is not None:
            seal_certificate(seal, issued.certificate, iin)
        session.commit()
    return issued.accepted


# The floor: the same rows through the bare driver, so the ratio prices the project's own work
# (ORM, extra reads, Python) and not the database's. Written with %s; SQLite gets ? instead.
FLOOR_APPLY = (
    "SELECT id FROM voter_entry WHERE election_id = %s AND iin = %s AND precinct_id = %s",
    "INSERT INTO certificate_case (election_id, precinct_id, voter_id, voter_iin, applicant_kind,"
    " applicant_document, stay_locality_id, state, received_by_id, created_at, updated_at,"
    " version) VALUES (%s, %s, %s, %s, 'voter', %s, %s, 'received', %s, %s, %s, 1) RETURNING id",
)
FLOOR_ISSUE = (
    # Conditional, so a concurrent issue of the same case cannot both succeed.
    "UPDATE certificate_case SET state = 'issued', updated_at = %s, version = version + 1"
    " WHERE id = %s AND state = 'received' RETURNING voter_id",
    "UPDATE stock_range SET next_serial = next_serial + 1 WHERE id = (SELECT id FROM stock_range"
    " WHERE election_id = %s AND precinct_id = %s AND next_serial <= last_serial"
    " ORDER BY first_serial LIMIT 1) AND next_serial <= last_serial RETURNING next_serial - 1",
    "INSERT INTO certificate (election_id, case_id, voter_id, precinct_id, serial,"
    " verification_code, state, handed_to, issued_at, issued_by_id)"
    " VALUES (%s, %s, %s, %s, %s, %s, 'issued', 'voter', %s, %s) RETURNING id",
    "UPDATE voter_entry SET mark_serial = %s, marked_at = %s WHERE id = %s AND mark_serial IS NULL",
)
FLOOR_AUDIT = (
    "INSERT INTO audit_event (occurred_at, local_time, time_zone, actor_id, actor_role,"
    " precinct_id, election_id, case_id, certificate_id, event, outcome, before_state,"
    " after_state, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'accepted', %s, %s, %s)"
)


class FloorConflict(RuntimeError):
    """A conditional UPDATE of the floor matched no row."""


Transaction = Callable[[Desk, str], bool]
# A client's failures that a user would retry: counted, not fatal.
RETRYABLE = (
    ConcurrentChange,
    OperationalError,
    FloorConflict,
    psycopg.errors.OperationalError,
    sqlite3.OperationalError,
)


@dataclass(frozen=True, slots=True)
class FloorSql:
    """The floor's statements in the driver's parameter style, and how it opens a transaction."""

    apply: tuple[str, ...]
    issue: tuple[str, ...]
    audit: str
    begin: str | None
    lock_voter: str

    @classmethod
    def for_driver(cls, sqlite: bool) -> FloorSql:
        def style(statement: str) -> str:
            return statement.replace("%s", "?") if sqlite else statement

        return cls(
            apply=tuple(style(statement) for statement in FLOOR_APPLY),
            issue=tuple(style(statement) for statement in FLOOR_ISSUE),
            audit=style(FLOOR_AUDIT),
            # The app's SQLite engine takes the write lock up front (models/__init__.py).
            begin="BEGIN IMMEDIATE" if sqlite else None,
            # The service locks the voter's entry (a re-listing waits); SQLite has one writer.
            lock_voter="" if sqlite else " FOR UPDATE",
        )


def floor_transaction(
    connection: Any, sql: FloorSql, seal: ElectionSeal, desk: Desk, iin: str, sqlite: bool
) -> bool:
    """Apply + issue in two transactions and two commits, with their audit events and seal."""
    moment = Moment(NOW, "Asia/Almaty")
    stamp: Any = NOW.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else NOW
    local, zone = moment.local.isoformat(timespec="seconds"), moment.zone_name
    user, role = desk.clerk.user_id, desk.clerk.role
    cursor = connection.cursor()
    if sql.begin:
        cursor.execute(sql.begin)
    cursor.execute(sql.apply[0] + sql.lock_voter, (desk.election_id, iin, desk.precinct_id))
    (voter_id,) = cursor.fetchone()
    cursor.execute(
        sql.apply[1],
        (desk.election_id, desk.precinct_id, voter_id, iin, "ID 012345678",
         desk.stay_locality_id, user, stamp, stamp),
    )  # fmt: skip
    (case_id,) = cursor.fetchone()
    payload = {"voter": safe_iin(iin), "stay_locality_id": desk.stay_locality_id, "warnings": []}
    cursor.execute(
        sql.audit,
        (stamp, local, zone, user, role, desk.precinct_id, desk.election_id, case_id, None,
         "apply", None, "received", json.dumps(payload)),
    )  # fmt: skip
    commit(connection, sql)

    if sql.begin:
        cursor.execute(sql.begin)
    cursor.execute(sql.issue[0], (stamp, case_id))
    row = cursor.fetchone()
    if row is None:
        raise FloorConflict("the case is no longer received")
    cursor.execute(sql.issue[1], (desk.election_id, desk.precinct_id))
    row = cursor.fetchone()
    if row is None:
        raise FloorConflict("out of stock")
    serial = int(row[0])
    cursor.execute(
        sql.issue[2],
        (desk.election_id, case_id, voter_id, desk.precinct_id, serial,
         new_verification_code(), stamp, user),
    )  # fmt: skip
    (certificate_id,) = cursor.fetchone()
    cursor.execute(
        sql.audit,
        (stamp, local, zone, user, role, desk.precinct_id, desk.election_id, case_id,
         certificate_id, "issue", "received", "issued",
         json.dumps({"warnings": [], "serial": serial})),
    )  # fmt: skip
    cursor.execute(sql.issue[3], (serial, stamp, voter_id))
    if cursor.rowcount != 1:
        raise FloorConflict("the voter is already marked")
    sign_payload(
        seal.private_key,
        CertificatePayload(
            election_code=seal.election_code,
            serial=serial,
            precinct_id=desk.precinct_id,
            iin_digest=seal_iin_digest(seal.salt, iin),
            issued_at=int(NOW.timestamp()),
        ),
    )
    commit(connection, sql)
    cursor.close()
    return True


def commit(connection: Any, sql: FloorSql) -> None:
    """sqlite3 in autocommit mode (as the app's engine sets it) takes COMMIT as a statement."""
    if sql.begin:
        connection.execute("COMMIT")
    else:
        connection.commit()


@contextlib.contextmanager
def floor_client(database: Database, seal: ElectionSeal) -> Iterator[Transaction]:
    """One bare driver connection, set up as the app's engine sets up its own."""
    sqlite = not database.url.startswith("postgresql")
    connection: Any
    if sqlite:
        connection = sqlite3.connect(database.url.removeprefix("sqlite:///"), isolation_level=None)
        for pragma in ("foreign_keys = ON", "busy_timeout = 15000", "journal_mode = WAL"):
            connection.execute(f"PRAGMA {pragma}")
    else:
        url = sqlalchemy.engine.make_url(database.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        if database.schema is not None:
            dsn = psycopg.conninfo.make_conninfo(dsn, options=f"-c search_path={database.schema}")
        connection = psycopg.connect(dsn)
    sql = FloorSql.for_driver(sqlite)
    try:
        yield lambda desk, iin: floor_transaction(connection, sql, seal, desk, iin, sqlite)
    finally:
        connection.close()


@dataclass
class RunResult:
    transactions: int
    seconds: float
    latencies: list[float]
    refused: int = 0
    retryable: int = 0

    def plus(self, other: RunResult) -> RunResult:
        """Two runs of the same load as one: their transactions, seconds and latencies."""
        return RunResult(
            self.transactions + other.transactions,
            self.seconds + other.seconds,
            self.latencies + other.latencies,
            self.refused + other.refused,
            self.retryable + other.retryable,
        )

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds

    def line(self, label: str) -> str:
        p50 = statistics.median(self.latencies) * 1000
        # The 19th of 20 cut points is the 95th percentile.
        p95 = statistics.quantiles(self.latencies, n=20)[18] * 1000
        worst = max(self.latencies, default=0.0) * 1000
        extra = ""
        if self.refused or self.retryable:
            extra = f"  (refused {self.refused}, lost to a concurrent change {self.retryable})"
        return (
            f"    {label:<58} {self.per_second:>8,.0f} tx/s  "
            f"latency p50 {p50:5.1f} ms  p95 {p95:5.1f} ms  max {worst:6.1f} ms  "
            f"[{self.transactions:,} tx in {self.seconds:.1f} s]{extra}"
        )


def run_clients(
    work: list[tuple[Desk, list[str]]],
    open_client: Callable[[], contextlib.AbstractContextManager[Transaction]],
) -> RunResult:
    """One thread per (desk, voters) pair, a client each; the clock starts when all are ready."""
    start = threading.Barrier(len(work) + 1)
    latencies: list[list[float]] = [[] for _ in work]
    refused = [0] * len(work)
    retryable = [0] * len(work)

    def client(index: int) -> None:
        desk, iins = work[index]
        with open_client() as transaction:
            start.wait()
            for iin in iins:
                began = time.perf_counter()
                try:
                    if not transaction(desk, iin):
                        refused[index] += 1
                except RETRYABLE:
                    retryable[index] += 1
                latencies[index].append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    every = [latency for per_client in latencies for latency in per_client]
    return RunResult(len(every), seconds, every, sum(refused), sum(retryable))


def bench_desk(
    database: Database, counts: Counts, seal: ElectionSeal, *, concurrent: bool
) -> World:
    """Each load through the services, then the bare-SQL floor with as many clients, fresh
    voters for both; the ratio of the two is the figure that survives a noisy machine."""
    engine = database.engine()
    # Room for the project's and the floor's transactions, from each desk's one range.
    stock = 2 * (counts.desk_transactions + counts.per_client * 9 + 100)
    world = build_world(engine, stock_per_desk=stock)
    iins = iin_stream(date(1950, 1, 1))
    first = world.desks[0]

    def project() -> contextlib.AbstractContextManager[Transaction]:
        return contextlib.nullcontext(functools.partial(desk_transaction, engine, seal))

    def floor() -> contextlib.AbstractContextManager[Transaction]:
        return floor_client(database, seal)

    def compare(
        label: str, work: Callable[[int], list[tuple[Desk, list[str]]]], count: int
    ) -> None:
        # Alternating rounds, so that both see the same load of a shared machine.
        ours, bare = RunResult(0, 0.0, []), RunResult(0, 0.0, [])
        for _ in range(ROUNDS):
            ours = ours.plus(run_clients(work(count // ROUNDS), project))
            bare = bare.plus(run_clients(work(count // ROUNDS), floor))
        print(ours.line(label))
        print(bare.line(label + ", bare-SQL floor"))
        ratio = ours.per_second / bare.per_second
        print(f"    {'':<58} project / floor = {ratio:.3f}  ({ROUNDS} alternating rounds)")

    for open_client in (project, floor):
        # Connections, caches, the planner, prepared statements: not measured.
        run_clients([(first, add_voters(engine, first, iins, 20))], open_client)
    compare(
        f"{database.label}, 1 client",
        lambda n: [(first, add_voters(engine, first, iins, n))],
        counts.desk_transactions,
    )
    if concurrent:
        compare(
            f"{database.label}, {CLIENTS} clients, own precinct each",
            lambda n: [(desk, add_voters(engine, desk, iins, n)) for desk in world.desks],
            counts.per_client,
        )
        compare(
            f"{database.label}, {CLIENTS} clients, one precinct",
            lambda n: [(first, add_voters(engine, first, iins, n)) for _ in world.desks],
            counts.per_client,
        )
    engine.dispose()
    return world


# --------------------------------------------------------------------------------------------
# (d) the voter import
# --------------------------------------------------------------------------------------------


def write_voter_file(path: Path, election_code: str, rows: int, world: World) -> None:
    """A voter list in the import's documented format, spread over the world's precincts."""
    iins = iin_stream(date(1940, 1, 1))
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [
                "election_code",
                "region_kato",
                "precinct_number",
                "iin",
                "surname",
                "given_name",
                "patronymic",
                "birth_date",
                "address",
            ]
        )
        for i in range(rows):
            iin, born = next(iins)
            region, number = world.import_precincts[i % len(world.import_precincts)]
            writer.writerow(
                [
                    election_code,
                    region,
                    number,
                    iin,
                    SURNAMES[i % len(SURNAMES)],
                    GIVEN_NAMES[(i // 7) % len(GIVEN_NAMES)],
                    "Серікұлы" if i % 3 else "",
                    born.isoformat(),
                    f"ул. Абая, {i % 300 + 1}, кв. {i % 97 + 1}",
                ]
            )


def maxrss_mib() -> float:
    """ru_maxrss: Linux reports KiB, macOS bytes. Linux carries it over from the forking parent
    across exec, so in a spawned child it is at least the parent's size: read with VmHWM.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def proc_status_mib(field: str) -> float | None:
    """VmRSS or VmHWM (this process image's peak, which exec does reset) in MiB, on Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> None:
    """Make VmHWM start again from the current RSS, so the peak read later is the import's."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def import_worker(database: Database, path: str, code: str, trace: bool) -> dict[str, Any]:
    """Runs in a fresh process: one import, committed, with its time and memory."""
    from services.importing import import_voters

    engine = database.engine(pool=1)
    with engine.connect():
        pass  # connect before measuring: the driver's buffers are not the import's
    reset_peak_rss()
    baseline = proc_status_mib("VmRSS")
    if trace:
        tracemalloc.start()
    began = time.perf_counter()
    with Session(engine) as session:
        election_id = session.scalars(
            sqlalchemy.select(Election.id).where(Election.code == code)
        ).one()
        summary = import_voters(session, path, election_id=election_id, now=NOW)
        session.commit()
    seconds = time.perf_counter() - began
    traced_peak = tracemalloc.get_traced_memory()[1] / (1024 * 1024) if trace else None
    engine.dispose()
    return {
        "seconds": seconds,
        "imported": summary.imported,
        "errors": [str(error) for error in summary.errors[:3]],
        "error_count": summary.error_count,
        "baseline_mib": baseline,
        "peak_mib": proc_status_mib("VmHWM"),
        "maxrss_mib": maxrss_mib(),
        "traced_peak_mib": traced_peak,
    }


def bench_import(database: Database, world: World, rows: int, folder: Path) -> None:
    # Two elections, so the second run imports the same people again without duplicates.
    results: list[dict[str, Any]] = []
    for code, trace in (("import_a", False), ("import_b", True)):
        path = folder / f"voters_{code}.csv"
        write_voter_file(path, code, rows, world)
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            results.append(pool.submit(import_worker, database, str(path), code, trace).result())
    timed, traced = results
    size = (folder / "voters_import_a.csv").stat().st_size / (1024 * 1024)
    if timed["error_count"] or timed["imported"] != rows:
        print(f"    {database.label}: import refused rows: {timed['errors']}")
        return
    print(
        f"    {database.label + ', import_voters':<44} {rows / timed['seconds']:>8,.0f} rows/s  "
        f"[{rows:,} rows, {size:.1f} MiB of CSV, in {timed['seconds']:.1f} s]"
    )
    peak, baseline = timed["peak_mib"], timed["baseline_mib"]
    if peak is not None and baseline is not None:
        print(
            f"    {'':<44} peak RSS (VmHWM) {peak:.0f} MiB, {peak - baseline:+.0f} MiB over "
            f"the {baseline:.0f} MiB the process had before the import; "
            f"ru_maxrss {timed['maxrss_mib']:.0f} MiB (inherited from the forking bench process)"
        )
    else:
        print(f"    {'':<44} ru_maxrss {timed['maxrss_mib']:.0f} MiB")
    print(
        f"    {'':<44} tracemalloc peak {traced['traced_peak_mib']:.1f} MiB "
        f"(traced run: {rows / traced['seconds']:,.0f} rows/s)"
    )


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / (1024 * 1024):.1f} GiB"
    except OSError:
        pass
    return "unknown"


def postgres_facts(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar_one()
        sync = connection.execute(text("SHOW synchronous_commit")).scalar_one()
        fsync = connection.execute(text("SHOW fsync")).scalar_one()
    engine.dispose()
    return f"{version} (synchronous_commit={sync}, fsync={fsync})"


def print_header(pg_url: str | None, counts: Counts, quick: bool) -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("Kuelik workflow benchmark" + (" (--quick)" if quick else ""))
    print(f"  date        {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(f"  machine     {platform.node()}, {platform.machine()}, {cpu_model()}")
    print(f"  cpus        {os.cpu_count()} (usable by this process: {usable})")
    print(f"  memory      {memory_total()}")
    # Other work on the machine skews every figure below: say how busy it was at the start.
    if hasattr(os, "getloadavg"):
        print("  load avg    " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(f"  os          {platform.platform()}")
    print(f"  python      {platform.python_version()} ({platform.python_implementation()})")
    print(f"  sqlalchemy  {sqlalchemy.__version__}; sqlite {sqlite3.sqlite_version}")
    print(f"  postgresql  {postgres_facts(pg_url) if pg_url else 'not configured: skipped'}")
    print(
        f"  counts      machine {counts.machine_cycles:,} cases; desk {counts.desk_transactions:,}"
        f" tx; {CLIENTS} clients x {counts.per_client:,} tx; import {counts.import_rows:,} rows"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--pg", help="PostgreSQL URL (default: BENCH_DATABASE_URL, TEST_...)")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--import-rows", type=int, help="rows of the generated voter file")
    parser.add_argument("--desk-only", action="store_true", help="only (b) and (c)")
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    if args.import_rows:
        counts = Counts(
            counts.machine_cycles, counts.desk_transactions, counts.per_client, args.import_rows
        )
    raw_pg = (
        None
        if args.no_pg
        else (
            args.pg or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        )
    )
    pg_url = sqlalchemy_url(raw_pg) if raw_pg else None

    print_header(pg_url, counts, args.quick)
    if not args.desk_only:
        bench_machine(counts.machine_cycles)

    with tempfile.TemporaryDirectory(prefix="kuelik-bench-") as folder:
        sqlite = Database("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        migrate(sqlite)
        postgres = None
        if pg_url:
            reset_schema(pg_url)
            postgres = Database("PostgreSQL", pg_url, BENCH_SCHEMA)
            migrate(postgres)
        try:
            print("\n(b) Desk transactions (apply, commit, issue + seal, commit; fresh voter)")
            print("(c) and 8 concurrent clients, PostgreSQL only; each beside its bare-SQL floor")
            # The seal of the factory's election, in the throwaway folder.
            seal = election_seal(Path(folder), "ref2022")
            sqlite_world = bench_desk(sqlite, counts, seal, concurrent=False)
            postgres_world = None
            if postgres is not None:
                postgres_world = bench_desk(postgres, counts, seal, concurrent=True)
            if args.desk_only:
                return 0

            print(f"\n(d) Voter import, {counts.import_rows:,} generated rows, fresh process each")
            bench_import(sqlite, sqlite_world, counts.import_rows, Path(folder))
            if postgres is not None and postgres_world is not None:
                bench_import(postgres, postgres_world, counts.import_rows, Path(folder))
        finally:
            if hasattr(os, "getloadavg"):
                print("\n  load avg at the end " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
            if pg_url:
                reset_schema(pg_url, drop_only=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
