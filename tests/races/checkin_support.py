"""What the check-in race tests and the check-in bench share.

- a world of eight receiving precincts in six regions, none in the voters' home locality (Almaty),
  with check-in users at each;
- certificates issued through the services, as the desk issues them;
- schemas of their own in the test database, migrated through the app;
- a gunicorn server in a subprocess, on loopback only, always stopped;
- a stdlib web client (urllib with a cookie jar, no proxies) that reads CSRF tokens and the hidden
  fields of the check-in forms out of the HTML.

Not a test module: pytest collects nothing here. Helpers raise RuntimeError, never
AssertionError: a test marked xfail(raises=AssertionError) must still fail on a broken set-up.
"""

from __future__ import annotations

import html
import itertools
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import TypeVar

from flask_migrate import upgrade
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from app import create_app
from models import (
    Locality,
    Placement,
    Precinct,
    Region,
    Role,
    StockRange,
    TerritorialCommission,
    User,
    VoterEntry,
    db,
)
from services.audit import Actor
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.search import voter_search_key
from tests.factories import make_world
from workflow.iin import build_iin
from workflow.numbers import format_certificate_number

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
# Noon in Almaty on 25 May 2022: the issue window is open.
ISSUE_NOW = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
# Voting day, 09:00 at UTC+5 (Oral, Aktobe, Atyrau) and 10:00 at UTC+6 (the rest): every receiving
# precinct of the world is open, so only the race can refuse.
VOTING_MORNING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)
# The same instant on the receiving precincts' wall clock (West Kazakhstan), for the server's clock.
CLOCK_START = "2022-06-05T09:00:00+05:00"
# Anything longer is a hang (a lock nobody releases, a server that does not answer): fail.
WAIT_LIMIT = 60.0
# "x" is no werkzeug hash: an account that cannot sign in (the factory's placeholder).
UNUSABLE_HASH = "x"
# The servers' fixed secrets: every worker must sign and read the same cookies.
SERVER_SECRET_KEY = "kuelik-race-secret"
SERVER_AUDIT_KEY = "kuelik-race-audit"

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A region, one of its cities and a precinct there (2022 names, zones and KATO codes)."""

    region_kato: str
    region_name: str
    time_zone: str
    locality_kato: str
    locality_name: str
    precinct_number: int


# Six receiving places besides the factory's Oral and Derkul: five more regions, two clocks.
EXTRA_PLACES: tuple[Place, ...] = (
    Place("150000000", "Aktobe", "Asia/Aqtobe", "151010000", "Aktobe", 401),
    Place("230000000", "Atyrau", "Asia/Atyrau", "231010000", "Atyrau", 402),
    Place("350000000", "Karaganda", "Asia/Almaty", "351010000", "Karaganda", 403),
    Place("390000000", "Kostanay", "Asia/Qostanay", "391010000", "Kostanay", 404),
    Place("710000000", "Nur-Sultan", "Asia/Almaty", "710000000", "Nur-Sultan", 405),
    Place("270000000", "West Kazakhstan", "Asia/Oral", "271010000", "Oral", 302),
)


@dataclass(frozen=True, slots=True)
class Desk:
    """A check-in user at a receiving precinct."""

    precinct_id: int
    precinct_number: int
    username: str
    actor: Actor


@dataclass(frozen=True, slots=True)
class CheckinWorld:
    """Ids only, so threads and other sessions can use it."""

    election_id: int
    election_code: str
    home_precinct_id: int
    clerk: Actor
    stay_locality_id: int
    # Ordered by round, then precinct: desks[:8] are at eight different precincts.
    desks: list[Desk]

    def desks_at_distinct_precincts(self, count: int) -> list[Desk]:
        chosen = self.desks[:count]
        if len({desk.precinct_id for desk in chosen}) != count:
            raise ValueError(f"fewer than {count} precincts have desks")
        return chosen


def build_checkin_world(
    session: Session,
    *,
    desks_per_precinct: int = 1,
    stock: int = 1000,
    password_hash: str = UNUSABLE_HASH,
) -> CheckinWorld:
    """The factory's 2022 world plus six receiving precincts, and check-in users at eight."""
    world = make_world(session, stock=stock)
    election_id = world.election.id
    regions = {
        region.kato: region
        for region in session.scalars(select(Region).where(Region.election_id == election_id))
    }
    localities = {
        locality.kato: locality
        for locality in session.scalars(select(Locality).where(Locality.election_id == election_id))
    }
    commissions = {
        commission.region_id: commission
        for commission in session.scalars(
            select(TerritorialCommission).where(TerritorialCommission.election_id == election_id)
        )
    }
    receiving: list[Precinct] = [world.oral_precinct, world.derkul_precinct]
    for place in EXTRA_PLACES:
        region = regions.get(place.region_kato)
        if region is None:
            region = Region(
                election_id=election_id,
                kato=place.region_kato,
                name_kk=place.region_name,
                name_ru=place.region_name,
                name_en=place.region_name,
                time_zone=place.time_zone,
            )
            session.add(region)
            session.flush()
            regions[region.kato] = region
        locality = localities.get(place.locality_kato)
        if locality is None:
            locality = Locality(
                election_id=election_id,
                kato=place.locality_kato,
                region_id=region.id,
                name_kk=place.locality_name,
                name_ru=place.locality_name,
                kind="city",
            )
            session.add(locality)
            session.flush()
            localities[locality.kato] = locality
        commission = commissions.get(region.id)
        if commission is None:
            commission = TerritorialCommission(
                election_id=election_id,
                region_id=region.id,
                name_kk=f"{place.region_name} ТК",
                name_ru=f"{place.region_name} ТК",
            )
            session.add(commission)
            session.flush()
            commissions[region.id] = commission
        precinct = Precinct(
            election_id=election_id,
            number=place.precinct_number,
            region_id=region.id,
            locality_id=locality.id,
            territorial_commission_id=commission.id,
            address_kk=f"{place.precinct_number} учаске",
            address_ru=f"участок {place.precinct_number}",
        )
        session.add(precinct)
        receiving.append(precinct)
    session.flush()
    home_locality = world.almaty_almaly.locality_id
    if any(precinct.locality_id == home_locality for precinct in receiving):
        raise RuntimeError("a receiving precinct is in the voters' home locality")
    desks: list[Desk] = []
    for round_number in range(desks_per_precinct):
        for precinct in receiving:
            user = User(
                username=f"checkin_{precinct.number}_{round_number}",
                full_name=f"Check-in {precinct.number}/{round_number}",
                password_hash=password_hash,
                role=Role.CHECKIN,
            )
            session.add(user)
            session.flush()
            session.add(
                Placement(user_id=user.id, election_id=election_id, precinct_id=precinct.id)
            )
            desks.append(
                Desk(
                    precinct.id,
                    precinct.number,
                    user.username,
                    Actor(user.id, Role.CHECKIN.value, frozenset({precinct.id})),
                )
            )
    clerk = world.actor("clerk_almaly")
    built = CheckinWorld(
        election_id=world.election.id,
        election_code=world.election.code,
        home_precinct_id=world.almaty_almaly.id,
        clerk=clerk,
        stay_locality_id=world.oral.id,
        desks=desks,
    )
    session.commit()
    return built


_iin_numbers = itertools.count()


def fresh_iin() -> str:
    """A valid IIN never handed out before in this process (births from 1960, not the factory's
    1990, so the two never collide).
    """
    while True:
        number = next(_iin_numbers)
        birth = date(1960, 1, 1) + timedelta(days=number // 10000)
        iin = build_iin(birth, True, number % 10000)
        if iin is not None:
            return iin


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate as the voter carries it: number and verification code."""

    certificate_id: int
    case_id: int
    serial: int
    code: str

    @property
    def number(self) -> str:
        return format_certificate_number(self.serial)

    @property
    def typed(self) -> str:
        """What staff type at the desk: the number, a space, the verification code."""
        return f"{self.number} {self.code}"


def ensure_stock(session: Session, world: CheckinWorld, needed: int) -> None:
    """Add a range past every other when the home precinct has fewer than `needed` numbers."""
    free = session.scalar(
        select(func.coalesce(func.sum(StockRange.last_serial - StockRange.next_serial + 1), 0))
        .where(StockRange.election_id == world.election_id)
        .where(StockRange.precinct_id == world.home_precinct_id)
    )
    missing = needed - int(free or 0)
    if missing > 0:
        top = int(session.scalar(select(func.max(StockRange.last_serial))) or 0)
        session.add(
            StockRange(
                election_id=world.election_id,
                precinct_id=world.home_precinct_id,
                first_serial=top + 1,
                last_serial=top + missing,
                next_serial=top + 1,
            )
        )
    session.commit()


def issue_certificates(
    session: Session, world: CheckinWorld, count: int, *, commit_every: int = 50
) -> list[Issued]:
    """`count` voters of the Almaty home precinct, each with an issued certificate for Oral,
    through the services (apply, issue) as the desk does it.
    """
    ensure_stock(session, world, count)
    issued: list[Issued] = []
    for index in range(count):
        iin = fresh_iin()
        session.add(
            VoterEntry(
                election_id=world.election_id,
                precinct_id=world.home_precinct_id,
                iin=iin,
                surname="Нұрланов",
                given_name="Асқар",
                patronymic="Серікұлы",
                birth_date=date(1960, 1, 1),
                address="ул. Абая, 1",
                search_key=voter_search_key("Нұрланов", "Асқар", "Серікұлы"),
            )
        )
        session.flush()
        applied = apply_for_certificate(
            session,
            world.clerk,
            ApplicationInput(
                world.election_id,
                world.home_precinct_id,
                iin,
                "ID 012345678",
                world.stay_locality_id,
            ),
            ISSUE_NOW,
        )
        if not applied.accepted:
            raise RuntimeError(f"application refused: {applied.refusal}")
        outcome = issue_certificate(session, world.clerk, applied.case.id, ISSUE_NOW)
        certificate = outcome.certificate
        if certificate is None:
            raise RuntimeError(f"issue refused: {outcome.refusal}")
        issued.append(
            Issued(
                certificate.id, applied.case.id, certificate.serial, certificate.verification_code
            )
        )
        if (index + 1) % commit_every == 0:
            session.commit()
    session.commit()
    return issued


# --------------------------------------------------------------------------------------------
# Schemas of our own
# --------------------------------------------------------------------------------------------


def schema_options(schema: str) -> dict[str, object]:
    return {"options": f"-c search_path={schema}"}


def schema_engine(url: str, schema: str, pool_size: int = 12) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        connect_args=schema_options(schema),
    )


def create_migrated_schema(url: str, schema: str) -> None:
    """A fresh schema, migrated through the app as production is (alembic, not create_all)."""
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": schema_options(schema)},
            "TESTING": True,
            "SECRET_KEY": "migrate",
        }
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()


def drop_schema(url: str, schema: str) -> None:
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def url_with_search_path(url: str, schema: str) -> str:
    """A plain libpq-style URL (as DATABASE_URL is given) whose connections use `schema`."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    options = urllib.parse.quote(f"-csearch_path={schema}", safe="")
    return f"{plain}{'&' if '?' in plain else '?'}options={options}"


# --------------------------------------------------------------------------------------------
# Threads released together
# --------------------------------------------------------------------------------------------


def run_together(count: int, work: Callable[[int, threading.Barrier], T]) -> list[T]:
    """Run `work(index, barrier)` in `count` threads; each prepares, waits on the barrier, acts.

    An exception is re-raised here (after every thread ended); a thread still running after
    `WAIT_LIMIT` fails the caller rather than hanging it.
    """
    barrier = threading.Barrier(count, timeout=WAIT_LIMIT)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def main(index: int) -> None:
        try:
            results[index] = work(index, barrier)
        except BaseException as error:  # handed to the caller, never lost in a thread
            barrier.abort()
            errors.append(error)

    threads = [threading.Thread(target=main, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2 * WAIT_LIMIT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError("a thread is still running: a lock or a request never finished")
    if errors:
        raise errors[0]
    return [result for result in results if result is not None]


# --------------------------------------------------------------------------------------------
# A gunicorn server
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(slots=True)
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def gunicorn_server(
    *,
    database_url: str,
    instance_path: Path,
    workers: int = 4,
    threads: int = 1,
    clock_start: str = CLOCK_START,
    secret_key: str = SERVER_SECRET_KEY,
    audit_key: str | None = SERVER_AUDIT_KEY,
    extra_env: dict[str, str] | None = None,
    app_spec: str = "app:create_app()",
) -> Iterator[Server]:
    """`gunicorn 'app:create_app()'` (or `app_spec`) on a free loopback port; stopped (TERM,
    then KILL) on exit.

    The workers share `instance_path`, so they share the seal keys they create on first use.
    The audit key is passed in the environment: `app._secret_file` is not safe against workers
    creating it at once (see the report), and that race is not what these tests are about.
    """
    instance_path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "KUELIK_PRODUCTION", "KUELIK_AUDIT_KEY", "SECRET_KEY"}
    }
    env.update(
        DATABASE_URL=database_url,
        KUELIK_CLOCK_START=clock_start,
        SECRET_KEY=secret_key,
        KUELIK_INSTANCE_PATH=str(instance_path),
        PYTHONDONTWRITEBYTECODE="1",
    )
    if audit_key is not None:
        env["KUELIK_AUDIT_KEY"] = audit_key
    env.update(extra_env or {})
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]
    if threads > 1:
        command += ["--threads", str(threads)]
    command.append(app_spec)
    log_path = instance_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_serving(server, workers)
        yield server
    finally:
        stop_process(process)


def _wait_until_serving(server: Server, workers: int) -> None:
    """Until the sign-in page answers (bounded); the workers boot on their own meanwhile."""
    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{server.log_tail()}")
        try:
            if WebClient(server.base_url, timeout=5).get("/login").status == 200:
                # Every worker boots its own app; give the others their moment too.
                time.sleep(0.2 * workers)
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within {WAIT_LIMIT} s:\n{server.log_tail()}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """TERM the one process we started (gunicorn's master stops its workers), KILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


# --------------------------------------------------------------------------------------------
# A browser without a browser
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    url: str
    text: str

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    @property
    def title(self) -> str:
        match = re.search(r"<h1[^>]*>(.*?)</h1>", self.text, re.S)
        return html.unescape(match.group(1)).strip() if match else ""


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_HIDDEN = re.compile(r'id="(scan|form_key)" name="\1" type="hidden" value="([^"]*)"')


def csrf_token(page: Page) -> str:
    match = _CSRF.search(page.text)
    if match is None:
        raise RuntimeError(f"no CSRF token on {page.url} ({page.status}): {page.title!r}")
    return html.unescape(match.group(1))


def hidden_fields(page: Page) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}


@dataclass
class WebClient:
    """One staff member's browser: cookies kept, redirects followed, loopback only (no proxy)."""

    base_url: str
    timeout: float = 30.0
    jar: CookieJar = field(default_factory=CookieJar)
    csrf: str = ""

    def __post_init__(self) -> None:
        if not self.base_url.startswith("http://127.0.0.1:"):
            raise ValueError("loopback only")
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar)
        )

    def get(self, path: str, headers: dict[str, str] | None = None) -> Page:
        request = urllib.request.Request(self.base_url + path)  # noqa: S310 - loopback
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        return self._open(request)

    def post(self, path: str, fields: dict[str, str]) -> Page:
        body = urllib.parse.urlencode({"csrf_token": self.csrf, **fields}).encode()
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            self.base_url + path, data=body, method="POST"
        )
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> Page:
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                page = Page(response.status, response.geturl(), response.read().decode())
        except urllib.error.HTTPError as error:
            with error:
                page = Page(error.code, error.geturl() or request.full_url, error.read().decode())
        if match := _CSRF.search(page.text):
            self.csrf = html.unescape(match.group(1))
        return page

    def sign_in(self, username: str, password: str = PASSWORD) -> Page:
        """English first (the pages are read in English), then the sign-in form."""
        self.get("/login")
        self.post("/language/en", {"next": "/login"})
        page = self.post("/login", {"username": username, "password": password})
        if page.status != 200 or page.path != "/checkin/":
            raise RuntimeError(f"{username} did not sign in: {page.status} {page.title!r}")
        return page

    def scan(self, text: str) -> Page:
        return self.post("/checkin/", {"scan": text})

    def confirm(self, preview: Page) -> Page:
        return self.post("/checkin/confirm", hidden_fields(preview))


def classify(page: Page) -> str:
    """What a check-in page says, in one word."""
    if page.status == 503 and "The database is not answering" in page.text:
        return "db_unavailable"
    if page.status != 200:
        return f"http_{page.status}"
    if "Included on line" in page.text:
        return "included"
    if "already been used" in page.text:
        return "already_used"
    if "Confirm: include" in page.text:
        return "preview"
    if "signature does not match" in page.text or "disagrees with the record" in page.text:
        return "forged"
    return f"other:{page.title!r}"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of non-empty `values`."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
