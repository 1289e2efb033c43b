"""Setting up a national election from nothing, through the commands an administrator runs.

    python -m bench.bench_setup [--precincts N] [--voters N] [--no-pg | --pg URL] [--quick]
                                [--no-sqlite] [--keep-database]

Each step is the real `flask` command in a process of its own (time and peak memory are its own):
`create-election --map kz-2026`, `import-precincts` (N precincts over the 20 regions),
`import-voters` (generated voters with valid, unique IINs), `allot-stock` (one range per
precinct), then `import-voters` once more with 10% more voters, into the full list (the path of
every later import). The floors, measured in the same run on the same database, load the same
voter file plainly: COPY of its bytes (FORMAT csv) into a bare table of text columns, and into
one with the list's five indexes, on PostgreSQL; csv rows into one executemany INSERT on SQLite.
Then `bench_lookup` times look-ups by IIN and by name on the full list (its own docstring says
how). Voters' names come from `bench.names`: a few thousand surnames, the commonest on one voter
in fifty, as a country's are. Compare the ratios, not the seconds: the machine is shared and noisy.

Defaults: 10,000 precincts and 1,000,000 voters (the issue's setup); `--quick` is 500 and
20,000; `--voters 12000000` is the national list (files are written as they are generated, so
the bench's own memory stays small). PostgreSQL comes from --pg, else BENCH_DATABASE_URL, else
TEST_DATABASE_URL: the bench creates a database of its own beside it and drops it at the end.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.names import voter_name  # noqa: E402
from maps import REGIONS_2026  # noqa: E402
from services.importing import PRECINCT_COLUMNS, VOTER_COLUMNS  # noqa: E402
from workflow.iin import build_iin  # noqa: E402

LOCALITIES_PER_REGION = 40
# Regions whose KATO code is a republican city: one locality each, under the city's own code.
CITIES = {"710000000", "750000000", "790000000"}


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    seconds: float
    peak_mib: float
    rows: int

    def rate(self, startup: float = 0.0) -> float:
        working = self.seconds - startup
        return self.rows / working if working > 0 else 0.0


def precinct_rows(count: int) -> list[list[str]]:
    """`count` precincts spread over the 2026 regions, ~40 localities per oblast."""
    rows = []
    regions = list(REGIONS_2026)
    for index in range(count):
        region = regions[index % len(regions)]
        number = index // len(regions) + 1
        if region.kato in CITIES:
            locality = region.kato
            name = region.name_ru.replace("город ", "")
            kind = "city"
        else:
            place = number % LOCALITIES_PER_REGION + 1
            locality = f"{region.kato[:2]}{place:04d}100"
            name = f"Село {place} ({region.name_ru})"
            kind = "village"
        commission = f"Территориальная комиссия {region.kato[:2]}-{number % 20 + 1}"
        rows.append(
            [
                region.kato,
                locality,
                name,
                name,
                kind,
                "",
                "",
                "",
                str(number),
                f"{number} мекенжай",
                f"адрес {number}",
                commission,
                commission,
            ]
        )
    return rows


def write_voters(path: Path, count: int, precincts: list[list[str]], first: int = 0) -> int:
    """`count` voters with valid IINs, written as they are made (12 million rows must not sit in
    memory). Voter number i is born on day i mod 25,000 after 1 January 1935 with serial
    i // 25,000, so IINs never repeat; the next file starts at the number returned."""
    start = date(1935, 1, 1)
    number = first
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(VOTER_COLUMNS)
        made = 0
        while made < count:
            born = start + timedelta(days=number % 25_000)
            male = number % 2 == 0
            iin = build_iin(born, male, number // 25_000)
            names = voter_name(number, male)
            number += 1
            if iin is None:
                continue
            precinct = precincts[made % len(precincts)]
            writer.writerow(
                [
                    precinct[0],
                    precinct[8],
                    iin,
                    *names,
                    born.isoformat(),
                    f"ул. Абая, {number % 199 + 1}",
                ]
            )
            made += 1
    return number


def write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def flask(database_url: str, instance: Path, *args: str) -> Step:
    """One `flask` command in a fresh process: wall time and the child's peak RSS."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KUELIK_INSTANCE_PATH": str(instance),
        "KUELIK_CLOCK_START": "2026-01-10T10:00:00+05:00",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("FLASK_APP", None)
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and commands
            [sys.executable, "-m", "flask", *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        # The child's own high-water mark, read while it runs: rusage would count the pages
        # of this (large) bench process that the child was forked from.
        peak_kib = 0
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(status))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            output.seek(0)
            raise SystemExit(f"flask {' '.join(args[:2])} failed:\n{output.read().decode()}")
    return Step(args[0], seconds, peak_kib / 1024, 0)


def _high_water_kib(status: Path) -> int:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def floor_sqlite(path: Path, voters: Path) -> float:
    """The plainest load of the same file: csv rows into one executemany INSERT, bare table."""
    connection = sqlite3.connect(path)
    connection.execute(f"CREATE TABLE bare ({', '.join(c + ' TEXT' for c in VOTER_COLUMNS)})")
    marks = ", ".join("?" for _ in VOTER_COLUMNS)
    started = time.perf_counter()
    with connection, voters.open(encoding="utf-8", newline="") as stream:
        rows = csv.reader(stream)
        next(rows)
        connection.executemany(f"INSERT INTO bare VALUES ({marks})", rows)
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


# The voter list's own indexes, on a copy of its columns: what any load into it must maintain.
_LIST_INDEXES = (
    "CREATE UNIQUE INDEX ON {table} (iin)",
    "CREATE INDEX ON {table} (precinct_number)",
    "CREATE INDEX ON {table} (region_kato, precinct_number, surname)",
    # The name's word beginnings (the function is migration 0009's, in the bench's database).
    "CREATE INDEX ON {table} USING gin (kuelik_name_prefixes(1, "
    "lower(surname || ' ' || given_name || ' ' || coalesce(patronymic, ''))))",
)


def floor_postgres(url: str, voters: Path, indexed: bool = False) -> float:
    """COPY of the same file's bytes (FORMAT csv) into a bare table of text columns, or, with
    `indexed`, into one with a primary key and the list's four other indexes."""
    import psycopg

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    table = "floor_indexed" if indexed else "floor_bare"
    with psycopg.connect(plain) as connection:
        key = "id bigserial PRIMARY KEY, " if indexed else ""
        columns = ", ".join(c + " text" for c in VOTER_COLUMNS)
        connection.execute(f"CREATE TABLE {table} ({key}{columns})")
        for statement in _LIST_INDEXES if indexed else ():
            connection.execute(statement.format(table=table))
        connection.commit()
        started = time.perf_counter()
        statement = f"COPY {table} ({', '.join(VOTER_COLUMNS)}) FROM STDIN (FORMAT csv, HEADER)"
        with connection.cursor().copy(statement) as copy, voters.open("rb") as stream:
            while block := stream.read(1 << 20):
                copy.write(block)
        connection.commit()
        seconds = time.perf_counter() - started
        connection.execute(f"DROP TABLE {table}")
        connection.commit()
        return seconds


def setup_election(label: str, url: str, folder: Path, precincts: int, voters: int) -> None:
    instance = folder / f"instance-{label}"
    instance.mkdir()
    precinct_data = precinct_rows(precincts)
    # The later file continues the numbering, so its IINs are new to the list.
    later = max(1, voters // 10)
    precinct_file = write_csv(folder / "precincts.csv", PRECINCT_COLUMNS, precinct_data)
    voter_file = folder / "voters.csv"
    next_number = write_voters(voter_file, voters, precinct_data)
    later_file = folder / "later.csv"
    write_voters(later_file, later, precinct_data, first=next_number)
    load_before = os.getloadavg()[0]
    steps = [
        flask(url, instance, "db", "upgrade"),
        # How long a command takes to start the app and stop, doing nothing: part of every
        # step below, and left out of the rates.
        flask(url, instance, "routes"),
        flask(
            url,
            instance,
            "create-election",
            "nat2026",
            "--kind",
            "mazhilis",
            "--name-kk",
            "Мәжіліс сайлауы",
            "--name-ru",
            "Выборы в Мажилис",
            "--name-en",
            "Mazhilis election",
            "--voting-day",
            "2026-04-19",
            "--opens",
            "2026-04-03",
            "--deadline",
            "2026-04-18",
            "--map",
            "kz-2026",
        ),
        flask(url, instance, "import-precincts", "--election", "nat2026", str(precinct_file)),
        flask(url, instance, "import-voters", "--election", "nat2026", str(voter_file)),
        flask(url, instance, "allot-stock", "--election", "nat2026", "--per-precinct", "100"),
    ]
    # The same command once the list is full: the path every later import takes.
    again = flask(url, instance, "import-voters", "--election", "nat2026", str(later_file))
    load_after = os.getloadavg()[0]
    lookups = run_lookups(url, instance)
    rows = {"import-precincts": precincts, "import-voters": voters, "allot-stock": precincts}
    steps = [
        Step(step.label, step.seconds, step.peak_mib, rows.get(step.label, 0)) for step in steps
    ]
    indexed_floor = None
    if label == "SQLite":
        floor = floor_sqlite(folder / "floor.sqlite", voter_file)
    else:
        floor = floor_postgres(url, voter_file)
        indexed_floor = floor_postgres(url, voter_file, indexed=True)
    setup = sum(step.seconds for step in steps[2:])
    startup = steps[1].seconds
    print(f"\n{label}: {precincts:,} precincts, {voters:,} voters")
    for step in steps:
        rate = f"{step.rate(startup):>12,.0f} rows/s" if step.rows else " " * 19
        print(
            f"  {step.label:<18} {step.seconds:>8.1f} s {rate}   peak RSS {step.peak_mib:>6.0f} MiB"
        )
    print(
        f"  {'setup in all':<18} {setup:>8.1f} s (create-election to allot-stock; rates leave "
        f"out the {startup:.1f} s each command takes to start)"
    )
    voter_step = next(step for step in steps if step.label == "import-voters")
    print(
        f"  floor: bare bulk load of the voter rows {floor:.1f} s = {voters / floor:,.0f} rows/s;"
        f" import-voters (less start-up) / floor = {(voter_step.seconds - startup) / floor:.1f}x"
    )
    if indexed_floor is not None:
        print(
            f"  floor with the list's five indexes: {indexed_floor:.1f} s = "
            f"{voters / indexed_floor:,.0f} rows/s; import-voters / that floor = "
            f"{(voter_step.seconds - startup) / indexed_floor:.1f}x"
        )
    again_rate = later / (again.seconds - startup) if again.seconds > startup else 0.0
    print(
        f"  then {later:,} more voters into the full list: {again.seconds:.1f} s = "
        f"{again_rate:,.0f} rows/s (first import: {voter_step.rate(startup):,.0f} rows/s)"
    )
    print(f"  load average (1 min) {load_before:.2f} before, {load_after:.2f} after")
    print(lookups, end="")
    save_result(
        {
            "database": label,
            "voters": voters,
            "precincts": precincts,
            "import_s": round(voter_step.seconds - startup, 2),
            "import_peak_mib": round(voter_step.peak_mib),
            "floor_bare_s": round(floor, 2),
            "floor_indexed_s": None if indexed_floor is None else round(indexed_floor, 2),
            "later_rows_per_s": round(again_rate),
            "load": [round(load_before, 2), round(load_after, 2)],
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


def save_result(record: dict[str, object]) -> None:
    """Append this run's figures to bench/results/import.json, which bench.plots draws."""
    path = RESULTS / "import.json"
    path.parent.mkdir(exist_ok=True)
    records = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps([*records, record], indent=1) + "\n")


def run_lookups(database_url: str, instance: Path) -> str:
    """bench_lookup on the list just imported, in a process of its own; what it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FLASK_APP", None)
    command = [sys.executable, "-m", "bench.bench_lookup", "--url", database_url]
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [*command, "--instance", str(instance), "--election", "nat2026"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench_lookup failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def postgres_url(given: str | None) -> str | None:
    return given or os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precincts", type=int)
    parser.add_argument("--voters", type=int)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep-database", action="store_true", help="keep the PostgreSQL one")
    args = parser.parse_args()
    precincts = args.precincts or (500 if args.quick else 10_000)
    voters = args.voters or (20_000 if args.quick else 1_000_000)
    machine = f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} CPUs"
    print(f"bench_setup on {machine}")
    with tempfile.TemporaryDirectory(prefix="kuelik-bench-setup-") as scratch:
        folder = Path(scratch)
        if not args.no_sqlite:
            sqlite_folder = folder / "sqlite"
            sqlite_folder.mkdir()
            setup_election(
                "SQLite",
                f"sqlite:///{sqlite_folder / 'bench.sqlite'}",
                sqlite_folder,
                precincts,
                voters,
            )
        server = None if args.no_pg else postgres_url(args.pg)
        if server is None:
            return
        base = make_url(server.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"kuelik_bench_setup_{secrets.token_hex(3)}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            pg_folder = folder / "postgres"
            pg_folder.mkdir()
            url = base.set(database=name).render_as_string(hide_password=False)
            setup_election("PostgreSQL", url, pg_folder, precincts, voters)
        finally:
            if args.keep_database:
                # For more look-ups on the same list: python -m bench.bench_lookup --url ...
                print(f"  kept: {base.set(database=name).render_as_string(hide_password=True)}")
            else:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
