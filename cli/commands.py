"""The `flask` commands: demo data, CSV imports, user accounts.

Each command runs in one transaction: commit at the end, rollback on any error. Mistakes in the
input end as a one-line message (a `click.ClickException`), never a traceback; database errors
are reported without their detail, which could quote a row's personal data.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from cryptography.hazmat.primitives import serialization
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import Election, Precinct, Region, Role, TerritorialCommission, User, db
from models.user import PRECINCT_ROLES
from seed.demo import DEFAULT_VOTER_COUNT, DEMO_ELECTIONS, seed_demo
from services.accounts import UserInput, create_user
from services.audit import SYSTEM
from services.errors import InvalidInput, NotFound
from services.importing import ImportAborted, ImportSummary, import_precincts, import_voters
from services.network import require_preparing
from services.passwords import check_password_strength
from services.sealing import election_seal
from services.tokens import create_token

if TYPE_CHECKING:
    # Click exports the class only to type checkers.
    from click._termui_impl import ProgressBar

_USERNAME_LENGTH = 80
_FULL_NAME_LENGTH = 300


def _now() -> datetime:
    """The app's clock: the only clock a deadline or an audit time is read from."""
    now: datetime = current_app.extensions["kuelik_clock"].now()
    return now


@contextmanager
def _transaction() -> Iterator[Session]:
    """Commit when the block ends normally; otherwise roll back and explain in one line."""
    session = db.session()
    try:
        yield session
        session.commit()
    except click.ClickException:
        session.rollback()
        raise
    except InvalidInput as error:
        session.rollback()
        raise click.ClickException(error.message) from None
    except NotFound as error:
        session.rollback()
        raise click.ClickException(f"Not found, or not yours to change: {error}.") from None
    except ImportAborted as error:
        session.rollback()
        raise click.ClickException(f"{error}; nothing was imported.") from None
    except SQLAlchemyError:
        session.rollback()
        # The driver's message may quote the offending row (an IIN, a name): leave it out.
        raise click.ClickException(
            "The database refused the change (a rule of its own, or another session changing "
            "the same data); nothing was saved."
        ) from None


# --------------------------------------------------------------------------------------------
# flask seed-demo
# --------------------------------------------------------------------------------------------


@click.command("seed-demo")
@click.option(
    "--election",
    "election_code",
    type=click.Choice(sorted(DEMO_ELECTIONS)),
    default="ref2022",
    show_default=True,
    help="Which shipped calendar: the 5 June 2022 referendum, or the 15 March 2026 one.",
)
@click.option(
    "--voters",
    "voter_count",
    type=click.IntRange(0, 200_000),
    default=DEFAULT_VOTER_COUNT,
    show_default=True,
    help="How many demo voters to create.",
)
@with_appcontext
def seed_demo_command(election_code: str, voter_count: int) -> None:
    """Create a demo election: its map, precincts, voters, stock, and one user per role."""
    started = time.perf_counter()
    with _transaction() as session:
        summary = seed_demo(session, _now(), voter_count=voter_count, election_code=election_code)
    if not summary.created:
        click.echo(f"Demo data already present (election {election_code}): nothing changed.")
        return
    click.echo(
        f"Created election {election_code} in {time.perf_counter() - started:.1f} s: "
        f"{summary.regions} regions, {summary.localities} localities, "
        f"{summary.districts} city districts, {summary.commissions} territorial commissions, "
        f"{summary.precincts} precincts, {summary.voters} voters, "
        f"{summary.stock_ranges} stock ranges."
    )
    if summary.passwords:
        click.echo("Demo accounts; the passwords are shown this once and stored only hashed:")
        for username, password in summary.passwords.items():
            click.echo(f"  {username:<12} {password}")


# --------------------------------------------------------------------------------------------
# flask import-precincts / import-voters
# --------------------------------------------------------------------------------------------


_PHASE_LABELS = {"check": "Checking rows ", "import": "Importing rows"}


class _PhaseBars:
    """One progress bar per pass of an import: checking the rows, then writing them."""

    def __init__(self, length: int) -> None:
        self.length = max(length, 1)
        self.phase: str | None = None
        self.bar: ProgressBar[int] | None = None

    def __call__(self, phase: str, rows: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = click.progressbar(
                length=self.length, label=_PHASE_LABELS.get(phase, phase), file=sys.stderr
            )
            self.bar.__enter__()
        if self.bar is not None:
            self.bar.update(rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _count_data_lines(path: Path) -> int:
    """Lines after the header, for the progress bar (a quoted line break counts one more)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


ImportFunction = Callable[..., ImportSummary]


def _run_import(
    run: ImportFunction, path: Path, election_code: str, mode: str, skip_errors: bool
) -> ImportSummary:
    bars = _PhaseBars(_count_data_lines(path))
    try:
        with _transaction() as session:
            election = election_named(session, election_code)
            require_preparing(session, election, _now())
            summary = run(
                session,
                path,
                election_id=election.id,
                now=_now(),
                mode=mode,
                skip_errors=skip_errors,
                progress=bars,
            )
    finally:
        bars.close()
    for error in summary.errors:
        click.echo(str(error), err=True)
    if summary.unreported_errors:
        click.echo(f"... and {summary.unreported_errors} more errors not listed.", err=True)
    if summary.file_unreadable:
        raise click.ClickException("The file cannot be read as this import's CSV format.")
    if summary.error_count and not skip_errors:
        raise click.ClickException(
            f"{summary.error_count} errors in {summary.invalid} of {summary.read} rows: nothing "
            "was imported. Correct the file, or pass --skip-errors to import the good rows."
        )
    changed = ""
    if summary.updated or summary.removed:
        changed = f", updated {summary.updated}, cleared {summary.removed} before the import"
    click.echo(
        f"Read {summary.read} rows: imported {summary.imported}{changed}, "
        f"skipped {summary.skipped}."
    )
    return summary


_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_SKIP = click.option(
    "--skip-errors",
    is_flag=True,
    help="Import the good rows and skip the bad ones (they are still listed).",
)
_ELECTION = click.option(
    "--election",
    "election_code",
    required=True,
    metavar="CODE",
    help="The election whose network or list this is (it must still be being prepared).",
)


def _mode(choices: tuple[str, ...]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--mode",
        type=click.Choice(choices),
        default="add",
        show_default=True,
        help="add: new rows only; amend: also change existing rows"
        + ("; replace: the file becomes the list." if "replace" in choices else "."),
    )


@click.command("import-precincts")
@click.argument("file", type=_FILE)
@_ELECTION
@_mode(("add", "amend"))
@_SKIP
@with_appcontext
def import_precincts_command(file: Path, election_code: str, mode: str, skip_errors: bool) -> None:
    """Import an election's precincts (and their localities, districts, commissions) from FILE."""
    summary = _run_import(import_precincts, file, election_code, mode, skip_errors)
    created = summary.created
    click.echo(
        f"Created {created.get('localities', 0)} localities, {created.get('districts', 0)} city "
        f"districts and {created.get('commissions', 0)} territorial commissions."
    )


@click.command("import-voters")
@click.argument("file", type=_FILE)
@_ELECTION
@_mode(("add", "amend", "replace"))
@_SKIP
@with_appcontext
def import_voters_command(file: Path, election_code: str, mode: str, skip_errors: bool) -> None:
    """Import an election's voter list entries from a CSV FILE."""
    _run_import(import_voters, file, election_code, mode, skip_errors)


# --------------------------------------------------------------------------------------------
# flask create-user
# --------------------------------------------------------------------------------------------


def _placement(
    session: Session,
    role: Role,
    election_code: str | None,
    region_kato: str | None,
    precinct_number: int | None,
    commission_id: int | None,
) -> tuple[Precinct | None, TerritorialCommission | None]:
    """The precinct or commission (of the named election) the role needs, and only that."""
    precinct_given = region_kato is not None or precinct_number is not None
    if role in PRECINCT_ROLES:
        if region_kato is None or precinct_number is None or election_code is None:
            raise click.UsageError(
                f"A {role.value} account works at a precinct: give --election CODE, "
                "--precinct-region KATO and --precinct-number N."
            )
        if commission_id is not None:
            raise click.UsageError(
                f"A {role.value} account belongs to a precinct, not to a territorial commission."
            )
        election = election_named(session, election_code)
        kato = region_kato.strip()
        region = session.scalar(
            select(Region).where(Region.election_id == election.id, Region.kato == kato)
        )
        if region is None:
            raise click.ClickException(f"No region of {election.code} has the KATO code {kato!r}.")
        precinct = session.scalar(
            select(Precinct).where(
                Precinct.region_id == region.id, Precinct.number == precinct_number
            )
        )
        if precinct is None:
            raise click.ClickException(f"No precinct {precinct_number} in region {kato}.")
        return precinct, None
    if precinct_given:
        raise click.UsageError(
            f"Only clerk and checkin accounts work at a precinct, not {role.value} accounts."
        )
    if role is Role.TERRITORIAL:
        if commission_id is None:
            raise click.UsageError(
                "A territorial account belongs to a commission: give --territorial-commission-id."
            )
        commission = session.get(TerritorialCommission, commission_id)
        if commission is None or (
            election_code is not None
            and commission.election_id != election_named(session, election_code).id
        ):
            where = "" if election_code is None else f" in {election_code.strip()}"
            raise click.ClickException(
                f"No territorial commission has the id {commission_id}{where}."
            )
        return None, commission
    if commission_id is not None:
        raise click.UsageError(
            f"Only territorial accounts belong to a commission, not {role.value} accounts."
        )
    if election_code is not None:
        raise click.UsageError(
            f"A {role.value} account works in every election: it takes no --election."
        )
    return None, None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line: a trailing newline from `echo` or a file is not part of the password.
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("No password on standard input.")
    else:
        password = str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    if problem := check_password_strength(password):
        raise click.ClickException(problem)
    return password


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role", type=click.Choice([role.value for role in Role]), required=True, help="The role."
)
@click.option("--full-name", required=True, help="The person's full name, as shown in the app.")
@click.option("--election", "election_code", metavar="CODE", help="The election of the precinct.")
@click.option("--precinct-region", metavar="KATO", help="Region of the precinct (9 digits).")
@click.option("--precinct-number", type=click.IntRange(min=1), help="Precinct number.")
@click.option(
    "--territorial-commission-id", type=click.IntRange(min=1), help="For territorial accounts."
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@with_appcontext
def create_user_command(
    username: str,
    role: str,
    full_name: str,
    election_code: str | None,
    precinct_region: str | None,
    precinct_number: int | None,
    territorial_commission_id: int | None,
    password_stdin: bool,
) -> None:
    """Create a user account; the password is asked for (or read from stdin), never an option."""
    username = username.strip()
    full_name = full_name.strip()
    if not username or len(username) > _USERNAME_LENGTH or any(c.isspace() for c in username):
        raise click.UsageError(f"A username has 1 to {_USERNAME_LENGTH} characters and no spaces.")
    if not full_name or len(full_name) > _FULL_NAME_LENGTH:
        raise click.UsageError(f"A full name has 1 to {_FULL_NAME_LENGTH} characters.")
    account_role = Role(role)
    # Everything that can be checked is checked before asking for a password.
    with _transaction() as session:
        precinct, commission = _placement(
            session,
            account_role,
            election_code,
            precinct_region,
            precinct_number,
            territorial_commission_id,
        )
    password = _read_password(password_stdin)
    with _transaction() as session:
        user = create_user(
            session,
            SYSTEM,
            UserInput(
                username=username,
                full_name=full_name,
                role=account_role,
                precinct_id=None if precinct is None else precinct.id,
                territorial_commission_id=None if commission is None else commission.id,
            ),
            password,
            _now(),
        )
        where = ""
        if precinct is not None:
            where = f" at precinct {precinct.number} ({precinct.locality.name_ru})"
        elif commission is not None:
            where = f" in {commission.name_ru}"
        message = f"Created user {user.username!r} ({account_role.value}){where}."
    click.echo(message)


@click.command("export-public-key")
@click.argument("election_code")
@with_appcontext
def export_public_key_command(election_code: str) -> None:
    """Print the election's seal public key (PEM), for precincts that check certificates offline."""
    election = db.session.scalar(select(Election).where(Election.code == election_code))
    if election is None:
        raise click.ClickException(f"No election with the code {election_code!r}.")
    seal = election_seal(Path(current_app.instance_path), election.code)
    click.echo(
        seal.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii"),
        nl=False,
    )


@click.command("create-token")
@click.argument("username")
@click.option("--name", required=True, help="What will use the token, e.g. 'nightly import'.")
@click.option("--days", type=click.IntRange(1, 366), default=90, show_default=True)
@with_appcontext
def create_token_command(username: str, name: str, days: int) -> None:
    """Create an API token for a user and print it: it is shown this once, stored only hashed."""
    with _transaction() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None or not user.active:
            raise click.ClickException(f"No active user is called {username.strip()!r}.")
        created = create_token(
            session,
            SYSTEM,
            owner_id=user.id,
            name=name,
            now=_now(),
            lifetime=timedelta(days=days),
        )
    click.echo(created.secret)


def election_named(session: Session, code: str) -> Election:
    """The election with this code, or a one-line error."""
    election = session.scalar(select(Election).where(Election.code == code.strip()))
    if election is None:
        raise click.ClickException(f"No election has the code {code.strip()!r}.")
    return election


commands: list[click.Command] = [
    export_public_key_command,
    seed_demo_command,
    import_precincts_command,
    import_voters_command,
    create_user_command,
    create_token_command,
]
