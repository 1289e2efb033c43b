"""A check-in's own cost, in process: no HTTP, no other client, one thread.

    python -m bench.bench_inprocess [--count 300] [--pg URL] [--profile FILE]

Through the Flask test client on PostgreSQL (--pg, else BENCH_DATABASE_URL, else TEST_...), in
a schema of its own dropped at the end: `--count` API pairs (POST /api/v1/checkin/preview, then
POST /api/v1/checkin) and as many web check-ins (scan, confirm, the result page), each after 20
unmeasured ones. Printed per kind: wall and CPU milliseconds per check-in, and SQL statements
per check-in. What the open-loop bench (`bench_load`) cannot separate, this does: the Python a
check-in costs before any queueing. `--profile` writes cProfile statistics of the measured runs
(read them with `python -m pstats FILE`); with it the times grow, so read them apart.
"""

from __future__ import annotations

import argparse
import cProfile
import html
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app
from bench.bench_checkin import Target, migrate, reset_schema, sqlalchemy_url
from bench.bench_load import prepare
from models import db
from tests.races.checkin_support import (
    PASSWORD,
    VOTING_MORNING,
    Issued,
    Page,
    hidden_fields,
    schema_options,
)

SCHEMA = "kuelik_bench_inprocess"
WARM_UP = 20
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def api_checkin(client: FlaskClient, secret: str, issued: Issued) -> None:
    body = {"number": issued.number, "verification_code": issued.code}
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": f"p{issued.case_id}"}
    looked = client.post("/api/v1/checkin/preview", json=body, headers=headers)
    headers["Idempotency-Key"] = f"c{issued.case_id}"
    taken = client.post("/api/v1/checkin", json=body, headers=headers)
    if (looked.status_code, taken.status_code) != (200, 201):
        raise RuntimeError(f"API check-in answered {looked.status_code}, {taken.status_code}")


class Browser:
    """The test client with the CSRF token of the last page, as a signed-in browser."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str) -> str:
        return self._keep(self.client.get(path, follow_redirects=True).get_data(as_text=True))

    def post(self, path: str, fields: dict[str, str]) -> str:
        answer = self.client.post(
            path, data={"csrf_token": self.csrf, **fields}, follow_redirects=True
        )
        return self._keep(answer.get_data(as_text=True))

    def _keep(self, text: str) -> str:
        if match := _CSRF.search(text):
            self.csrf = html.unescape(match.group(1))
        return text

    def sign_in(self, username: str) -> None:
        self.get("/login")
        self.post("/language/en", {"next": "/login"})
        self.post("/login", {"username": username, "password": PASSWORD})

    def check_in(self, issued: Issued) -> None:
        preview = self.post("/checkin/", {"scan": issued.typed})
        if "Confirm: include" not in preview:
            raise RuntimeError("the scan did not show the holder")
        done = self.post("/checkin/confirm", hidden_fields(Page(200, "", preview)))
        if "Included on line" not in done:
            raise RuntimeError("the confirm did not include the holder")


def measure(
    label: str,
    work: Callable[[Issued], None],
    batch: list[Issued],
    statements: list[str],
    profile: cProfile.Profile | None,
) -> None:
    for issued in batch[:WARM_UP]:
        work(issued)
    measured = batch[WARM_UP:]
    statements.clear()
    started, cpu = time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    for issued in measured:
        work(issued)
    if profile is not None:
        profile.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    count = len(measured)
    print(
        f"  {label:<28} {wall / count * 1000:7.2f} ms wall  {cpu / count * 1000:7.2f} ms CPU"
        f"  {len(statements) / count:5.1f} statements   [{count} check-ins]"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--pg", help="PostgreSQL URL (default: BENCH_DATABASE_URL, TEST_...)")
    parser.add_argument("--profile", type=Path, help="write cProfile statistics here")
    args = parser.parse_args(argv)
    raw = args.pg or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not raw:
        print("bench_inprocess: skipped, it needs PostgreSQL (--pg, BENCH_DATABASE_URL, TEST_...)")
        return 0
    if args.count < 1:
        parser.error("--count: at least 1")
    url = sqlalchemy_url(raw)
    print("Kuelik check-in in process (Flask test client, one thread, PostgreSQL)")
    print(f"  load avg    {os.getloadavg()[0]:.2f} before the set-up")
    reset_schema(url, schema=SCHEMA)
    try:
        target = Target("PostgreSQL", url, url, SCHEMA)
        migrate(target)
        per_kind = args.count + WARM_UP
        world, certificates, secrets = prepare(target, 8, 2 * per_kind)
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": schema_options(SCHEMA)},
                "SECRET_KEY": "bench",
                "KUELIK_CLOCK_START": VOTING_MORNING.isoformat(),
            }
        )
        statements: list[str] = []
        with app.app_context():
            event.listen(
                db.engine,
                "before_cursor_execute",
                lambda _c, _cur, statement, *_rest: statements.append(statement),
            )
        profile = cProfile.Profile() if args.profile else None
        api = app.test_client()
        measure(
            "API preview + check-in",
            lambda issued: api_checkin(api, secrets[0], issued),
            certificates[:per_kind],
            statements,
            profile,
        )
        browser = Browser(app.test_client())
        browser.sign_in(world.desks[1].username)
        measure(
            "web scan + confirm + page",
            browser.check_in,
            certificates[per_kind:],
            statements,
            profile,
        )
        if profile is not None:
            profile.dump_stats(args.profile)
            print(f"  profile     {args.profile}")
        with app.app_context():
            db.engine.dispose()
    finally:
        reset_schema(url, drop_only=True, schema=SCHEMA)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
