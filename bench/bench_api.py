"""What the API adds to a desk action. Prints figures, asserts only that the work got done.

    python -m bench.bench_api [--cases 300]

One SQLite file, one process, no network: the same apply + issue done (1) by calling the services
directly, one transaction each as the web does, and (2) through /api/v1 with a bearer token,
JSON bodies, an Idempotency-Key per POST and the problem/answer serialisation. The ratio of the
two, measured in one run, is the API's own cost (token lookup, validation, the stored answer);
a replayed POST and the OpenAPI document are timed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade
from sqlalchemy.orm import Session

from app import create_app
from models import db
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.clock import FixedClock
from services.tokens import create_token
from tests.factories import make_voter, make_world

NOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)


def _require(condition: bool, message: str) -> None:
    """The work must have been done, or the figures mean nothing."""
    if not condition:
        raise SystemExit(f"bench failed: {message}")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kuelik-bench-api-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
            "SECRET_KEY": "bench",
            "KUELIK_CLOCK_START": FixedClock(NOW),
            "KUELIK_INSTANCE_PATH": str(folder),
        }
    )
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[1] / "migrations"))
        engine = db.engine
    with Session(engine) as session:
        world = make_world(session, stock=2 * args.cases + 10)
        direct_iins = [
            make_voter(session, world, world.almaty_almaly).iin for _ in range(args.cases)
        ]
        api_iins = [make_voter(session, world, world.almaty_almaly).iin for _ in range(args.cases)]
        clerk = world.actor("clerk_almaly")
        secret = create_token(
            session, clerk, owner_id=clerk.user_id or 0, name="bench", now=NOW
        ).secret
        election_id, precinct_id, stay_id = world.election.id, world.almaty_almaly.id, world.oral.id
        session.commit()

    direct: list[float] = []
    with Session(engine) as session:
        for iin in direct_iins:
            started = time.perf_counter()
            outcome = apply_for_certificate(
                session,
                clerk,
                ApplicationInput(election_id, precinct_id, iin, "ID 1", stay_id),
                NOW,
            )
            session.commit()
            issued = issue_certificate(session, clerk, outcome.case.id, NOW)
            session.commit()
            direct.append(time.perf_counter() - started)
            _require(issued.certificate is not None, "unexpected answer")

    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    through_api: list[float] = []
    replays: list[float] = []
    for number, iin in enumerate(api_iins):
        body = {"voter_iin": iin, "applicant_document": "ID 1", "stay_locality_id": stay_id}
        started = time.perf_counter()
        applied = client.post(
            "/api/v1/cases", json=body, headers={**headers, "Idempotency-Key": f"a{number}"}
        )
        case_id = applied.get_json()["id"]
        issued_answer = client.post(
            f"/api/v1/cases/{case_id}/issue",
            json={},
            headers={**headers, "Idempotency-Key": f"i{number}"},
        )
        through_api.append(time.perf_counter() - started)
        _require(applied.status_code == 201, applied.get_data(as_text=True))
        _require(issued_answer.status_code == 200, issued_answer.get_data(as_text=True))
        started = time.perf_counter()
        replay = client.post(
            f"/api/v1/cases/{case_id}/issue",
            json={},
            headers={**headers, "Idempotency-Key": f"i{number}"},
        )
        replays.append(time.perf_counter() - started)
        _require(replay.headers.get("Idempotent-Replayed") == "true", "unexpected answer")

    started = time.perf_counter()
    for _ in range(20):
        _require(client.get("/api/v1/openapi.json").status_code == 200, "unexpected answer")
    document = (time.perf_counter() - started) / 20

    def line(name: str, values: list[float]) -> str:
        rate = len(values) / sum(values)
        p50, p95 = statistics.median(values) * 1e3, _percentile(values, 0.95) * 1e3
        return f"{name:<28} {rate:7.1f}/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"

    print(f"apply + issue, {args.cases} cases each way, SQLite, one process")
    print(line("services directly", direct))
    print(line("through /api/v1", through_api))
    print(line("replayed issue (stored)", replays))
    ratio = statistics.median(through_api) / statistics.median(direct)
    print(f"API / direct (p50 ratio):    {ratio:.2f}x")
    print(f"openapi.json:                {document * 1e3:.1f} ms per document")


if __name__ == "__main__":
    main()
