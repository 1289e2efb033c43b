"""Check-in under open-loop load: a fixed arrival rate, latency from the scheduled start.

    python -m bench.bench_load [--rates 10,25,50,100,200] [--duration 10] [--quick]
                               [--modes web,api,floor] [--workers 2] [--threads 4] [--pg URL]
                               [--out bench/results/checkin_load.json]

A closed loop (N clients, each waiting for its answer before the next request) slows its own
arrivals when the server slows, and so hides queueing. Here a scheduler starts check-in number
i at `t0 + i / rate` whatever happened to the earlier ones, and each check-in's latency runs
from its scheduled start to its last byte: time spent waiting for a free client thread, a
gunicorn worker or a database connection all counts, as it would for a queue of voters.

Per rate, for each mode:
  - web: one signed-in browser (cookie jar, CSRF) per check-in in flight: POST the typed number
    and code (the preview), POST the confirm, follow the redirect to "Included on line";
  - api: a bearer token per check-in desk: POST /api/v1/checkin/preview, then POST
    /api/v1/checkin, each with JSON and an Idempotency-Key;
  - floor: the api mode's requests, answered by `bench/floor_checkin.py` (same HTTP contract,
    same rows, bare psycopg) on a second gunicorn with the same settings: what any Flask
    server must spend on this machine, so `api / floor` prices the project's own work.
Rate by rate, the modes run one after another.
Printed: p50 / p95 / p99 / max of the whole check-in, achieved throughput (check-ins completed
per second, from the first scheduled start to the last answer), failures, and the 1-minute load
average before and after. The points go to `--out` (JSON) for plotting latency against rate.

Against one gunicorn (`--workers 2 --threads 4` by default, loopback) on PostgreSQL (--pg, else
BENCH_DATABASE_URL, else TEST_DATABASE_URL) in a schema of its own, dropped at the end. Every
certificate must end used, with one inclusion each and gap-free lists, or the run fails.
Client, server and database share this machine's CPUs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.bench_checkin import (
    SIGN_IN_CONCURRENCY,
    Target,
    migrate,
    postgres_facts,
    reset_schema,
    sqlalchemy_url,
    verify,
)
from services.passwords import hash_password
from services.tokens import create_token
from tests.races.checkin_support import (
    PASSWORD,
    VOTING_MORNING,
    CheckinWorld,
    Issued,
    WebClient,
    build_checkin_world,
    classify,
    gunicorn_server,
    issue_certificates,
    percentile,
    url_with_search_path,
)

REQUEST_TIMEOUT = 30.0
# Client threads: enough that the client is not the queue at 200/s with 250 ms answers.
CLIENT_THREADS = 96
WEB_BROWSERS = 96
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "checkin_load.json"
# Not bench_checkin's schema: the two may run at once.
BENCH_SCHEMA = "kuelik_bench_load"


@dataclass(slots=True)
class Point:
    """One (mode, rate) run, as printed and as written for plotting."""

    mode: str
    rate: float
    duration_s: float
    scheduled: int
    completed: int
    failed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    throughput_per_s: float
    load_before: float
    load_after: float
    outcomes: dict[str, int] = field(default_factory=dict)


def load1() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def open_loop(
    rate: float, jobs: list[Callable[[], str]]
) -> tuple[list[float], dict[str, int], float]:
    """Start job i at t0 + i/rate; latency (ms) from that moment to the job's end."""
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    ends: list[float] = []

    def timed(job: Callable[[], str], scheduled: float) -> None:
        try:
            outcome = job()
        except (OSError, RuntimeError) as error:
            outcome = f"error:{type(error).__name__}"
        finished = time.perf_counter()
        with lock:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            ends.append(finished)
            if outcome == "included":
                latencies.append((finished - scheduled) * 1000)

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        start = time.perf_counter() + 0.05
        for index, job in enumerate(jobs):
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(timed, job, scheduled)
    span = (max(ends) - start) if ends else float("nan")
    return latencies, outcomes, span


# --------------------------------------------------------------------------------------------
# The two kinds of check-in
# --------------------------------------------------------------------------------------------


def web_jobs(browsers: queue.Queue[WebClient], batch: list[Issued]) -> list[Callable[[], str]]:
    def job(issued: Issued) -> str:
        browser = browsers.get()
        try:
            preview = browser.scan(issued.typed)
            if classify(preview) != "preview":
                return f"scan:{classify(preview)}"
            return classify(browser.confirm(preview))
        finally:
            browsers.put(browser)

    return [partial(job, issued) for issued in batch]


def _post_json(url: str, secret: str, body: dict[str, object], key: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback only, checked by the caller
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=REQUEST_TIMEOUT) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        with error:
            error.read()
            return int(error.code)


def api_jobs(base_url: str, secrets: list[str], batch: list[Issued]) -> list[Callable[[], str]]:
    if not base_url.startswith("http://127.0.0.1:"):
        raise ValueError("loopback only")

    def job(index: int, issued: Issued) -> str:
        secret = secrets[index % len(secrets)]
        body: dict[str, object] = {"number": issued.number, "verification_code": issued.code}
        looked = _post_json(
            f"{base_url}/api/v1/checkin/preview", secret, body, f"p{issued.certificate_id}"
        )
        if looked != 200:
            return f"preview:{looked}"
        taken = _post_json(f"{base_url}/api/v1/checkin", secret, body, f"c{issued.certificate_id}")
        return "included" if taken == 201 else f"checkin:{taken}"

    return [partial(job, index, issued) for index, issued in enumerate(batch)]


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def prepare(target: Target, desks: int, count: int) -> tuple[CheckinWorld, list[Issued], list[str]]:
    engine = target.engine()
    with Session(engine) as session:
        world = build_checkin_world(
            session,
            desks_per_precinct=max(1, -(-desks // 8)),
            stock=1000,
            password_hash=hash_password(PASSWORD),
        )
        certificates = issue_certificates(session, world, count, commit_every=500)
        secrets = [
            create_token(
                session,
                desk.actor,
                owner_id=desk.actor.user_id or 0,
                name="bench",
                now=VOTING_MORNING,
            ).secret
            for desk in world.desks[:desks]
        ]
        session.commit()
    engine.dispose()
    return world, certificates, secrets


def run(args: argparse.Namespace, target: Target, instance: Path) -> list[Point]:
    rates: list[float] = args.rates
    modes: list[str] = args.modes
    per_mode = sum(int(rate * args.duration) for rate in rates)
    started = time.perf_counter()
    world, certificates, secrets = prepare(target, WEB_BROWSERS, per_mode * len(modes))
    print(
        f"  set-up      {len(certificates):,} certificates in {time.perf_counter() - started:.0f} s"
    )
    points: list[Point] = []
    with contextlib.ExitStack() as servers:
        server = servers.enter_context(
            gunicorn_server(
                database_url=target.server_url,
                instance_path=instance,
                workers=args.workers,
                threads=args.threads,
            )
        )
        # The floor on the same settings, started beside it (idle, it takes no CPU).
        floor = (
            servers.enter_context(
                gunicorn_server(
                    database_url=target.server_url,
                    instance_path=instance.parent / "floor",
                    workers=args.workers,
                    threads=args.threads,
                    app_spec="bench.floor_checkin:create_floor_app()",
                )
            )
            if "floor" in modes
            else None
        )
        browsers: queue.Queue[WebClient] = queue.Queue()
        if "web" in modes:
            signed = [
                WebClient(server.base_url, timeout=REQUEST_TIMEOUT) for _ in range(WEB_BROWSERS)
            ]
            with ThreadPoolExecutor(SIGN_IN_CONCURRENCY) as pool:
                list(
                    pool.map(
                        lambda pair: pair[0].sign_in(pair[1].username),
                        zip(signed, world.desks[:WEB_BROWSERS], strict=True),
                    )
                )
            for browser in signed:
                browser.get("/checkin/")
                browsers.put(browser)
        offset = 0
        # Rate by rate, the modes one after another: a floor and its project meet the same
        # machine, give or take a few seconds.
        for rate in rates:
            for mode in modes:
                batch = certificates[offset : offset + int(rate * args.duration)]
                offset += len(batch)
                if mode == "web":
                    jobs = web_jobs(browsers, batch)
                else:
                    serving = floor if mode == "floor" and floor is not None else server
                    jobs = api_jobs(serving.base_url, secrets, batch)
                before = load1()
                latencies, outcomes, span = open_loop(rate, jobs)
                after = load1()
                completed = outcomes.get("included", 0)
                point = Point(
                    mode=mode,
                    rate=rate,
                    duration_s=args.duration,
                    scheduled=len(batch),
                    completed=completed,
                    failed=len(batch) - completed,
                    p50_ms=percentile(latencies, 0.50) if latencies else float("nan"),
                    p95_ms=percentile(latencies, 0.95) if latencies else float("nan"),
                    p99_ms=percentile(latencies, 0.99) if latencies else float("nan"),
                    max_ms=max(latencies) if latencies else float("nan"),
                    throughput_per_s=completed / span if span else float("nan"),
                    load_before=before,
                    load_after=after,
                    outcomes=outcomes,
                )
                points.append(point)
                print(
                    f"  {mode:<5} {rate:6.1f}/s  p50 {point.p50_ms:7.1f}  p95 {point.p95_ms:7.1f}"
                    f"  p99 {point.p99_ms:7.1f}  max {point.max_ms:7.1f} ms   "
                    f"done {point.throughput_per_s:6.1f}/s   failed {point.failed:4d}   "
                    f"load {before:.2f} -> {after:.2f}",
                    flush=True,
                )
                if point.failed:
                    log = (floor if mode == "floor" and floor else server).log_tail(10)
                    print(f"       outcomes {outcomes}\n{log}")
                # Let the queue drain and the load settle a little between runs.
                time.sleep(args.pause)
    used = certificates[:offset]
    problems = verify(target, used) if all(p.failed == 0 for p in points) else []
    if problems:
        print("  PROBLEMS: " + "; ".join(problems))
        raise SystemExit(1)
    return points


def commit_id() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - a fixed, harmless command
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pg", help="PostgreSQL URL (default: BENCH_DATABASE_URL, TEST_...)")
    parser.add_argument("--rates", default="10,25,50,100,200", help="arrivals per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate")
    parser.add_argument("--modes", default="web,api,floor")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between rates")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--quick", action="store_true", help="rates 10,25 for 4 s each")
    args = parser.parse_args(argv)
    if args.quick:
        args.rates, args.duration = "10,25", 4.0
    try:
        args.rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    except ValueError:
        parser.error("--rates: numbers separated by commas")
    args.modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not args.rates or any(not 0 < rate <= 1000 for rate in args.rates):
        parser.error("--rates: each in (0, 1000]")
    if not set(args.modes) <= {"web", "api", "floor"} or not args.modes:
        parser.error("--modes: any of web, api, floor")
    raw = args.pg or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not raw:
        # `make bench` runs on machines without a server too: say so, and let the others run.
        print("bench_load: skipped, it needs PostgreSQL (--pg, BENCH_DATABASE_URL or TEST_...)")
        return 0
    pg_url = sqlalchemy_url(raw)
    print("Kuelik check-in under open-loop load (HTTP, gunicorn, loopback, PostgreSQL)")
    print(f"  date        {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, commit {commit_id()}")
    print(f"  machine     {platform.machine()}, {os.cpu_count()} CPUs; load avg {load1():.2f}")
    print(f"  postgresql  {postgres_facts(pg_url)}")
    print(
        f"  server      gunicorn --workers {args.workers} --threads {args.threads}; "
        f"{args.duration:g} s per rate; latency from the scheduled start (ms)"
    )
    reset_schema(pg_url, schema=BENCH_SCHEMA)
    try:
        target = Target(
            "PostgreSQL", pg_url, url_with_search_path(pg_url, BENCH_SCHEMA), BENCH_SCHEMA
        )
        migrate(target)
        with tempfile.TemporaryDirectory(prefix="kuelik-bench-load-") as folder:
            points = run(args, target, Path(folder) / "instance")
    finally:
        reset_schema(pg_url, drop_only=True, schema=BENCH_SCHEMA)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit_id(),
        "workers": args.workers,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "points": [asdict(point) for point in points],
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"  written     {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
