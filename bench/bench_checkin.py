"""Voting-day check-in under load over HTTP. Prints figures, asserts only that the work got done.

    python -m bench.bench_checkin [--pg URL | --no-pg] [--no-sqlite] [--clients 50]
                                  [--per-client 10] [--workers 4] [--threads 2] [--quick]

What it measures: `--clients` browsers (threads with a urllib cookie jar each, default 50), each a
check-in user signed in at one of eight receiving precincts, against one gunicorn server
(`--workers 4 --threads 2`, loopback only). Every client checks in its own certificates, one
after another: POST the typed number and code (the preview), then POST the confirm (and follow
the redirect to the "Included on line" page). Printed per database:

  - latency of the scan, of the confirm (with its redirect), and of the whole check-in,
    p50 / p95 / p99 / max, as the client sees it;
  - throughput: check-ins completed per second of wall time, and HTTP requests per second.

Before the clock starts: a fresh schema (`kuelik_bench_checkin`, PostgreSQL) or a temporary file
(SQLite), migrated through the app; the world and clients x per-client issued certificates
through the services; the server started; every client signed in and shown its check-in screen
once (so every worker has warmed up). Afterwards every certificate must be used, with one
inclusion each and the supplementary lists numbered without gaps, or the run fails.

PostgreSQL comes from --pg, else BENCH_DATABASE_URL, else TEST_DATABASE_URL; the bench works in
its own schema, dropped at the end. Clients, server and database share this machine's CPUs: the
figures are for the whole stack on one box, client overhead included.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy
from flask_migrate import upgrade
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

# Run as a script, the project root is not on sys.path; as `-m bench.bench_checkin` it is.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app
from models import Certificate, Inclusion, SupplementaryList, db
from services.passwords import hash_password
from tests.races.checkin_support import (
    PASSWORD,
    CheckinWorld,
    Issued,
    WebClient,
    build_checkin_world,
    classify,
    gunicorn_server,
    issue_certificates,
    percentile,
    schema_options,
    url_with_search_path,
)
from workflow.states import CertificateState

BENCH_SCHEMA = "kuelik_bench_checkin"
# Bounds: no single request may hang the run, nor the run itself go on for ever.
REQUEST_TIMEOUT = 60.0
RUN_LIMIT = 1800.0
# scrypt at N=2**16 costs ~0.2 s and 64 MiB per sign-in: a few at a time.
SIGN_IN_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class Target:
    label: str
    sqlalchemy_url: str  # for set-up and checks, in this process
    server_url: str  # DATABASE_URL as the server gets it
    schema: str | None = None

    def engine(self) -> Engine:
        if self.schema is None:
            return create_engine(self.sqlalchemy_url)
        return create_engine(self.sqlalchemy_url, connect_args=schema_options(self.schema))


@dataclass(slots=True)
class Measured:
    scan_ms: list[float] = field(default_factory=list)
    confirm_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, scan: float, confirm: float, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            if outcome == "included":
                self.scan_ms.append(scan * 1000)
                self.confirm_ms.append(confirm * 1000)
                self.total_ms.append((scan + confirm) * 1000)


# --------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@contextmanager
def quiet_alembic() -> Iterator[None]:
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def migrate(target: Target) -> None:
    options = {} if target.schema is None else {"connect_args": schema_options(target.schema)}
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": target.sqlalchemy_url,
            "SQLALCHEMY_ENGINE_OPTIONS": options,
            "SECRET_KEY": "bench",
            "TESTING": True,
        }
    )
    with quiet_alembic(), app.app_context():
        upgrade()
        db.engine.dispose()


def reset_schema(url: str, *, drop_only: bool = False, schema: str = BENCH_SCHEMA) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        if not drop_only:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


def prepare(target: Target, clients: int, per_client: int) -> tuple[CheckinWorld, list[Issued]]:
    """The world with enough check-in users, and clients x per_client issued certificates."""
    engine = target.engine()
    with Session(engine) as session:
        world = build_checkin_world(
            session,
            desks_per_precinct=math.ceil(clients / 8),
            stock=min(clients * per_client, 1000),
            password_hash=hash_password(PASSWORD),
        )
        certificates = issue_certificates(session, world, clients * per_client, commit_every=200)
    engine.dispose()
    return world, certificates


def verify(target: Target, certificates: list[Issued]) -> list[str]:
    """Every certificate used once, every list numbered 1..n with its counter at n."""
    problems: list[str] = []
    engine = target.engine()
    with Session(engine) as session:
        ids = [issued.certificate_id for issued in certificates]
        used = session.scalar(
            select(func.count()).where(
                Certificate.id.in_(ids), Certificate._state == CertificateState.USED
            )
        )
        included = session.scalar(
            select(func.count(func.distinct(Inclusion.certificate_id))).where(
                Inclusion.certificate_id.in_(ids)
            )
        )
        rows = session.scalar(select(func.count()).select_from(Inclusion))
        if used != len(ids) or included != len(ids) or rows != len(ids):
            problems.append(f"{len(ids)} certificates: {used} used, {included} included, {rows}")
        lists = session.execute(
            select(Inclusion.precinct_id, func.count(), func.max(Inclusion.line_number)).group_by(
                Inclusion.precinct_id
            )
        ).all()
        counters = dict(
            session.execute(
                select(SupplementaryList.precinct_id, SupplementaryList.last_line)
            ).all()
        )
        for precinct_id, count, top in lists:
            if top != count or counters.get(precinct_id) != count:
                problems.append(
                    f"precinct {precinct_id}: {count} lines, top {top}, "
                    f"counter {counters.get(precinct_id)}"
                )
    engine.dispose()
    return problems


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def run(
    target: Target,
    *,
    clients: int,
    per_client: int,
    workers: int,
    threads: int,
    instance: Path,
) -> None:
    started = time.perf_counter()
    world, certificates = prepare(target, clients, per_client)
    prepared = time.perf_counter() - started
    desks = world.desks[:clients]
    measured = Measured()
    with gunicorn_server(
        database_url=target.server_url,
        instance_path=instance,
        workers=workers,
        threads=threads,
    ) as server:
        browsers = [WebClient(server.base_url, timeout=REQUEST_TIMEOUT) for _ in desks]
        with ThreadPoolExecutor(SIGN_IN_CONCURRENCY) as pool:
            list(
                pool.map(
                    lambda pair: pair[0].sign_in(pair[1].username),
                    zip(browsers, desks, strict=True),
                )
            )
        for browser in browsers:
            browser.get("/checkin/")
        barrier = threading.Barrier(clients + 1, timeout=REQUEST_TIMEOUT)

        def client(index: int) -> None:
            browser = browsers[index]
            mine = certificates[index * per_client : (index + 1) * per_client]
            barrier.wait()
            for issued in mine:
                t0 = time.perf_counter()
                preview = browser.scan(issued.typed)
                t1 = time.perf_counter()
                if classify(preview) != "preview":
                    measured.add(t1 - t0, 0.0, f"scan: {classify(preview)}")
                    continue
                result = browser.confirm(preview)
                t2 = time.perf_counter()
                measured.add(t1 - t0, t2 - t1, classify(result))

        pool_threads = [
            threading.Thread(target=client, args=(index,), daemon=True) for index in range(clients)
        ]
        for thread in pool_threads:
            thread.start()
        barrier.wait()
        begun = time.perf_counter()
        deadline = begun + RUN_LIMIT
        for thread in pool_threads:
            thread.join(max(0.0, deadline - time.perf_counter()))
        wall = time.perf_counter() - begun
        if any(thread.is_alive() for thread in pool_threads):
            raise RuntimeError(f"clients still running after {RUN_LIMIT} s")
        log = server.log_tail(20)
    problems = verify(target, certificates)
    done = len(measured.total_ms)
    # Per check-in: the scan POST, the confirm POST, the redirect's GET.
    requests = done * 3
    print(
        f"\n  {target.label}: {done:,} check-ins by {clients} clients in {wall:.1f} s "
        f"(set-up {prepared:.1f} s); outcomes {dict(measured.outcomes)}"
    )
    if done:
        print(
            f"    throughput   {done / wall:8.1f} check-ins/s   {requests / wall:8.1f} requests/s"
        )
        for label, values in (
            ("scan", measured.scan_ms),
            ("confirm", measured.confirm_ms),
            ("check-in", measured.total_ms),
        ):
            print(
                f"    {label:<12} p50 {percentile(values, 0.50):7.0f} ms   "
                f"p95 {percentile(values, 0.95):7.0f} ms   "
                f"p99 {percentile(values, 0.99):7.0f} ms   max {max(values):7.0f} ms"
            )
    if problems or measured.outcomes["included"] != len(certificates):
        print("    PROBLEMS: " + "; ".join(problems or ["not every check-in was included"]))
        print("    gunicorn log tail:\n" + log)
        raise SystemExit(1)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def postgres_facts(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar_one()
        sync = connection.execute(text("SHOW synchronous_commit")).scalar_one()
        fsync = connection.execute(text("SHOW fsync")).scalar_one()
    engine.dispose()
    return f"{version} (synchronous_commit={sync}, fsync={fsync})"


def print_header(pg_url: str | None, args: argparse.Namespace) -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("Kuelik check-in benchmark (HTTP, gunicorn, loopback)")
    print(f"  date        {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(f"  machine     {platform.machine()}, {os.cpu_count()} CPUs (usable {usable})")
    if hasattr(os, "getloadavg"):
        print("  load avg    " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(f"  python      {platform.python_version()}; sqlalchemy {sqlalchemy.__version__}")
    print(f"  sqlite      {sqlite3.sqlite_version}")
    print(f"  postgresql  {postgres_facts(pg_url) if pg_url else 'not configured: skipped'}")
    print(
        f"  server      gunicorn --workers {args.workers} --threads {args.threads}; "
        f"{args.clients} clients x {args.per_client} check-ins (scan + confirm + redirect)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pg", help="PostgreSQL URL (default: BENCH_DATABASE_URL, TEST_...)")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="3 check-ins per client")
    args = parser.parse_args(argv)
    if args.quick:
        args.per_client = 3
    if not 1 <= args.clients <= 200 or not 1 <= args.per_client <= 1000:
        parser.error("clients 1..200, per-client 1..1000")
    raw_pg = (
        None
        if args.no_pg
        else (
            args.pg or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        )
    )
    pg_url = sqlalchemy_url(raw_pg) if raw_pg else None
    print_header(pg_url, args)
    settings = {
        "clients": args.clients,
        "per_client": args.per_client,
        "workers": args.workers,
        "threads": args.threads,
    }
    with tempfile.TemporaryDirectory(prefix="kuelik-bench-checkin-") as folder:
        if pg_url:
            reset_schema(pg_url)
            try:
                target = Target(
                    "PostgreSQL",
                    pg_url,
                    url_with_search_path(pg_url, BENCH_SCHEMA),
                    BENCH_SCHEMA,
                )
                migrate(target)
                run(target, instance=Path(folder) / "instance-pg", **settings)
            finally:
                reset_schema(pg_url, drop_only=True)
        if not args.no_sqlite:
            path = Path(folder) / "bench.sqlite"
            target = Target(
                "SQLite (WAL, BEGIN IMMEDIATE)", f"sqlite:///{path}", f"sqlite:///{path}"
            )
            migrate(target)
            run(target, instance=Path(folder) / "instance-sqlite", **settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
