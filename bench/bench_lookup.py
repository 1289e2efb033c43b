"""Voter look-ups on a full list, through the service the desk and the API call.

    python -m bench.bench_lookup --url DATABASE_URL --instance DIR --election CODE [--samples N]

`bench_setup` runs it on the list it has just imported (1,000,000 voters by default, 12,000,000
with `--voters 12000000`); it works on any migrated database holding an election with voters.
Voters are sampled at random from the list, and each is looked for the way staff look:

  - by IIN, as a precinct clerk of the voter's precinct (the desk's first step);
  - by name within the clerk's precinct: the surname and the given name as typed, in full or
    their first letters ("Жанұз Айг");
  - by name across the voter's territorial commission, the same queries;
  - by name nationally, as the central commission: surname and given name, and the full name.

Each query runs once to warm the caches, then `--samples` times in random order, each in a
session of its own like a request; printed are p50 / p95 / p99 / max in milliseconds and the
mean number of rows found, then `EXPLAIN (ANALYZE, BUFFERS)` of the slowest query of each kind
(PostgreSQL), captured as the service sent it. The floor is the IIN look-up as one bare SQL
statement on the driver's connection, in the same run. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Connection

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app
from models import Election, Precinct, Role, VoterEntry, db
from services.audit import Actor
from services.voters import search_voters

WARM_UP = 20
SQLITE_WIDE_SAMPLES = 40


@dataclass(frozen=True, slots=True)
class Sample:
    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    precinct_id: int
    commission_id: int


@dataclass(frozen=True, slots=True)
class Kind:
    label: str
    actor: Callable[[Sample], Actor]
    query: Callable[[Sample, random.Random], str]
    # Beyond one precinct SQLite reads the whole list (it has no trigram index): fewer samples.
    wide: bool = False


def _typed_name(sample: Sample, chance: random.Random) -> str:
    """Surname and given name, in full or by their first letters, as a clerk types them."""
    if chance.random() < 0.5:
        return f"{sample.surname} {sample.given_name}"
    return f"{sample.surname[: chance.randint(4, 6)]} {sample.given_name[:3]}"


def _full_name(sample: Sample, chance: random.Random) -> str:
    return " ".join(p for p in (sample.surname, sample.given_name, sample.patronymic) if p)


def _clerk(sample: Sample) -> Actor:
    return Actor(user_id=None, role=Role.CLERK.value, precinct_ids=frozenset({sample.precinct_id}))


def _territorial(sample: Sample) -> Actor:
    return Actor(
        user_id=None,
        role=Role.TERRITORIAL.value,
        territorial_commission_ids=frozenset({sample.commission_id}),
    )


def _admin(sample: Sample) -> Actor:
    return Actor(user_id=None, role=Role.ADMIN.value)


KINDS = (
    Kind("IIN, clerk's precinct", _clerk, lambda sample, chance: sample.iin),
    Kind("name, clerk's precinct", _clerk, _typed_name),
    Kind("name, territorial commission", _territorial, _typed_name, wide=True),
    Kind("name, national (surname + given)", _admin, _typed_name, wide=True),
    Kind("name, national (full name)", _admin, _full_name, wide=True),
)


def _samples(election_id: int, count: int, chance: random.Random) -> list[Sample]:
    """Random voters of the election: ids drawn between the smallest and the largest (no scan
    of the whole list, which ORDER BY random() would need)."""
    low, high = db.session.execute(
        select(func.min(VoterEntry.id), func.max(VoterEntry.id)).where(
            VoterEntry.election_id == election_id
        )
    ).one()
    wanted = sorted({chance.randint(low, high) for _ in range(count * 2)})
    rows = db.session.execute(
        select(
            VoterEntry.iin,
            VoterEntry.surname,
            VoterEntry.given_name,
            VoterEntry.patronymic,
            VoterEntry.precinct_id,
            Precinct.territorial_commission_id,
        )
        .join(Precinct, Precinct.id == VoterEntry.precinct_id)
        .where(VoterEntry.election_id == election_id, VoterEntry.id.in_(wanted))
    ).all()
    found = [Sample(*row) for row in rows]
    chance.shuffle(found)
    return found[:count]


@contextmanager
def _captured(connection: Connection) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent on this connection while the block runs, with their parameters."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", record)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _time_kind(kind: Kind, election_id: int, samples: list[Sample], seed: int) -> None:
    chance = random.Random(seed)
    if kind.wide and db.engine.dialect.name == "sqlite":
        samples = samples[:SQLITE_WIDE_SAMPLES]
    queries = [(kind.actor(s), kind.query(s, chance)) for s in samples]
    for actor, query in queries[:WARM_UP]:
        search_voters(db.session, actor, election_id, query)
        db.session.rollback()
    timings: list[tuple[float, int, Actor, str]] = []
    for actor, query in queries:
        started = time.perf_counter()
        found = search_voters(db.session, actor, election_id, query)
        elapsed = (time.perf_counter() - started) * 1000
        db.session.rollback()
        timings.append((elapsed, len(found.voters), actor, query))
    ms = [t[0] for t in timings]
    rows = sum(t[1] for t in timings) / len(timings)
    print(
        f"  {kind.label:<34} n={len(ms):<4} p50 {_percentile(ms, 0.5):7.2f}"
        f"  p95 {_percentile(ms, 0.95):7.2f}  p99 {_percentile(ms, 0.99):7.2f}"
        f"  max {max(ms):7.2f} ms   {rows:5.1f} rows found"
    )
    if db.engine.dialect.name == "postgresql":
        _explain_slowest(election_id, max(timings, key=lambda t: t[0]))


def _explain_slowest(election_id: int, slowest: tuple[float, int, Actor, str]) -> None:
    _, _, actor, query = slowest
    connection = db.session.connection()
    with _captured(connection) as sent:
        search_voters(db.session, actor, election_id, query)
    searched = [s for s in sent if "FROM voter_entry" in s[0]]
    if searched:
        statement, parameters = searched[0]
        plan = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
        ).scalars()
        print("      " + "\n      ".join(plan))
    db.session.rollback()


def _floor(election_id: int, samples: list[Sample]) -> None:
    """The IIN look-up as one bare statement on the driver's own connection."""
    raw = db.session.connection().connection.driver_connection
    cursor = raw.cursor()
    mark = "%s" if db.engine.dialect.name == "postgresql" else "?"
    statement = (
        f"SELECT id, precinct_id, surname, given_name FROM voter_entry "
        f"WHERE election_id = {mark} AND iin = {mark}"
    )
    ms: list[float] = []
    for sample in samples[:WARM_UP] + samples:
        started = time.perf_counter()
        cursor.execute(statement, (election_id, sample.iin))
        cursor.fetchall()
        ms.append((time.perf_counter() - started) * 1000)
    ms = ms[WARM_UP:]
    print(
        f"  {'floor: IIN, bare SQL':<34} n={len(ms):<4} p50 {_percentile(ms, 0.5):7.2f}  "
        f"p95 {_percentile(ms, 0.95):7.2f}  p99 {_percentile(ms, 0.99):7.2f}  "
        f"max {max(ms):7.2f} ms"
    )
    db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--election", required=True)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    os.environ["KUELIK_INSTANCE_PATH"] = args.instance
    os.environ["DATABASE_URL"] = args.url
    app = create_app()
    with app.app_context():
        election = db.session.scalar(select(Election).where(Election.code == args.election))
        if election is None:
            raise SystemExit(f"no election {args.election!r}")
        listed = db.session.scalar(
            select(func.count())
            .select_from(VoterEntry)
            .where(VoterEntry.election_id == election.id)
        )
        chance = random.Random(args.seed)
        samples = _samples(election.id, args.samples, chance)
        print(
            f"  look-ups on {listed:,} listed voters, {len(samples)} sampled voters per kind"
            f" ({db.engine.dialect.name}; milliseconds, as the service answers):"
        )
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE voter_entry"))
            db.session.commit()
        for number, kind in enumerate(KINDS):
            _time_kind(kind, election.id, samples, args.seed + number)
        _floor(election.id, samples)


if __name__ == "__main__":
    main()
