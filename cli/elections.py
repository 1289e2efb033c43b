"""`flask` commands that set up an election: create and change it, its network, staff and stock.

They translate arguments into the same services the web screens and the API call.
"""

from __future__ import annotations

from datetime import date, time

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import select

from cli.commands import _now, _transaction, election_named
from maps import MAPS
from models import Precinct, Region, TerritorialCommission, User
from services.accounts import place_user
from services.audit import SYSTEM
from services.elections import ELECTION_FIELDS, ElectionInput, change_election, create_election
from services.network import NetworkSummary, carry_over_staff, copy_network, load_map
from services.stock import allot_stock
from views.messages import election_problem_text
from workflow.elections import ElectionKind, ElectionRefused


def _explain(refused: ElectionRefused) -> click.ClickException:
    """Every field at fault, one per line, in English."""
    with force_locale("en"):
        lines = [
            f"  {problem.name}: {election_problem_text(problem.code, problem.params)}"
            for problem in refused.problems
        ]
    return click.ClickException(
        "The election is not accepted; nothing was stored:\n" + "\n".join(lines)
    )


def _day(value: str | None) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a real date YYYY-MM-DD") from None


def _clock(value: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time HH:MM") from None
    return parsed.replace(second=0, microsecond=0)


def _hours(value: str) -> tuple[time, time]:
    opens, sep, closes = value.partition("-")
    try:
        if not sep:
            raise click.BadParameter("")
        return _clock(opens), _clock(closes)
    except click.BadParameter:
        raise click.BadParameter(
            f"{value!r}: voting hours are HH:MM-HH:MM, e.g. 07:00-20:00"
        ) from None


def _report(summary: NetworkSummary) -> str:
    counts = summary.counts()
    return ", ".join(f"{value} {name}" for name, value in counts.items() if value)


@click.command("create-election")
@click.argument("code")
@click.option(
    "--kind",
    type=click.Choice([kind.value for kind in ElectionKind]),
    default=ElectionKind.REFERENDUM.value,
    show_default=True,
)
@click.option("--name-kk", required=True, help="The name in Kazakh, as printed.")
@click.option("--name-ru", required=True, help="The name in Russian, as printed.")
@click.option("--name-en", required=True, help="The name in English.")
@click.option("--voting-day", required=True, metavar="YYYY-MM-DD")
@click.option("--opens", "opens_on", metavar="YYYY-MM-DD", help="First day of the issue window.")
@click.option("--opens-at", default="00:00", show_default=True, metavar="HH:MM")
@click.option("--deadline", "deadline_on", metavar="YYYY-MM-DD", help="Last day of issue.")
@click.option("--deadline-at", default="18:00", show_default=True, metavar="HH:MM")
@click.option("--voting-hours", default="07:00-20:00", show_default=True, metavar="HH:MM-HH:MM")
@click.option("--series", help="Four digits before every number (default: chosen for you).")
@click.option(
    "--map",
    "map_code",
    type=click.Choice(sorted(MAPS)),
    help="Start the network from a shipped map of regions.",
)
@click.option("--copy-from", metavar="CODE", help="Copy another election's whole network.")
@click.option("--no-staff", is_flag=True, help="With --copy-from: do not place its staff here.")
@click.option("--no-surrender", is_flag=True, help="Policy: no handing a certificate back.")
@click.option("--no-return-home", is_flag=True, help="Policy: no voting at home after all.")
@click.option(
    "--allow-home-locality",
    is_flag=True,
    help="Policy: include also at other precincts of the voter's home locality.",
)
@click.option("--proxy-threshold", type=click.IntRange(0, 1000), default=3, show_default=True)
@with_appcontext
def create_election_command(
    code: str,
    kind: str,
    name_kk: str,
    name_ru: str,
    name_en: str,
    voting_day: str,
    opens_on: str | None,
    opens_at: str,
    deadline_on: str | None,
    deadline_at: str,
    voting_hours: str,
    series: str | None,
    map_code: str | None,
    copy_from: str | None,
    no_staff: bool,
    no_surrender: bool,
    no_return_home: bool,
    allow_home_locality: bool,
    proxy_threshold: int,
) -> None:
    """Create an election CODE with its calendar and policies, and give it a network."""
    if map_code is not None and copy_from is not None:
        raise click.UsageError("Give --map or --copy-from, not both.")
    day = _day(voting_day)
    assert day is not None  # noqa: S101 - required option
    opens, closes = _hours(voting_hours)
    data = ElectionInput(
        code=code,
        kind=kind,
        name_kk=name_kk,
        name_ru=name_ru,
        name_en=name_en,
        voting_day=day,
        issue_opens_on=_day(opens_on),
        issue_opens_at=_clock(opens_at),
        issue_deadline_on=_day(deadline_on),
        issue_deadline_at=_clock(deadline_at),
        voting_opens_at=opens,
        voting_closes_at=closes,
        number_series=series,
        allow_surrender=not no_surrender,
        allow_return_home=not no_return_home,
        refuse_inclusion_in_home_locality=not allow_home_locality,
        proxy_warning_threshold=proxy_threshold,
    )
    with _transaction() as session:
        try:
            election = create_election(session, SYSTEM, data, _now())
        except ElectionRefused as refused:
            raise _explain(refused) from None
        network = ""
        if map_code is not None:
            network = _report(load_map(session, SYSTEM, election.id, map_code, _now()))
        elif copy_from is not None:
            source = election_named(session, copy_from)
            summary = copy_network(
                session,
                SYSTEM,
                source_id=source.id,
                target_id=election.id,
                now=_now(),
                with_staff=not no_staff,
            )
            network = _report(summary)
        message = (
            f"Created election {election.code} (id {election.id}, number series "
            f"{election.number_series})" + (f" with {network}." if network else ".")
        )
    click.echo(message)


@click.command("change-election")
@click.argument("code")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A field to change, e.g. --set issue_deadline_on=2026-03-14 (repeatable).",
)
@click.option("--reason", default="", help="Needed once the window has opened (a correction).")
@with_appcontext
def change_election_command(code: str, assignments: tuple[str, ...], reason: str) -> None:
    """Change an election; after its window opened, only a correction with --reason."""
    changes: dict[str, object] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or name not in ELECTION_FIELDS:
            raise click.BadParameter(
                f"{assignment!r}: FIELD=VALUE with one of {', '.join(ELECTION_FIELDS)}"
            )
        changes[name] = _parse_field(name, value)
    with _transaction() as session:
        election = election_named(session, code)
        try:
            change_election(session, SYSTEM, election.id, changes, _now(), reason=reason)
        except ElectionRefused as refused:
            raise _explain(refused) from None
    click.echo(f"Election {code} changed: {', '.join(sorted(changes)) or 'nothing'}.")


def _parse_field(name: str, value: str) -> object:
    if name in ("voting_day", "issue_opens_on", "issue_deadline_on"):
        return _day(value)
    if name.endswith("_at"):
        return _clock(value)
    if name in ("allow_surrender", "allow_return_home", "refuse_inclusion_in_home_locality"):
        if value not in ("true", "false"):
            raise click.BadParameter(f"{name} is true or false")
        return value == "true"
    if name == "proxy_warning_threshold":
        if not value.isdigit():
            raise click.BadParameter(f"{name} is a whole number")
        return int(value)
    if name == "number_series":
        return value or None
    return value


@click.command("place-user")
@click.argument("username")
@click.option("--election", "election_code", required=True, metavar="CODE")
@click.option("--precinct-region", metavar="KATO", help="Region of the precinct (9 digits).")
@click.option("--precinct-number", type=click.IntRange(min=1))
@click.option("--territorial-commission-id", type=click.IntRange(min=1))
@with_appcontext
def place_user_command(
    username: str,
    election_code: str,
    precinct_region: str | None,
    precinct_number: int | None,
    territorial_commission_id: int | None,
) -> None:
    """Place an account at a precinct or commission of one more election."""
    with _transaction() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            raise click.ClickException(f"No user is called {username.strip()!r}.")
        election = election_named(session, election_code)
        precinct_id = None
        if precinct_region is not None or precinct_number is not None:
            precinct_id = session.scalar(
                select(Precinct.id)
                .join(Region, Region.id == Precinct.region_id)
                .where(
                    Region.election_id == election.id,
                    Region.kato == (precinct_region or "").strip(),
                    Precinct.number == precinct_number,
                )
            )
            if precinct_id is None:
                raise click.ClickException(
                    f"No precinct {precinct_number} in region {precinct_region} of {election.code}."
                )
        if territorial_commission_id is not None:
            commission = session.get(TerritorialCommission, territorial_commission_id)
            if commission is None or commission.election_id != election.id:
                raise click.ClickException(
                    f"No territorial commission {territorial_commission_id} in {election.code}."
                )
        placement = place_user(
            session,
            SYSTEM,
            user.id,
            precinct_id=precinct_id,
            territorial_commission_id=territorial_commission_id,
            now=_now(),
        )
        where = (
            f"precinct {precinct_number}"
            if placement.precinct_id
            else f"commission {placement.territorial_commission_id}"
        )
    click.echo(f"Placed {username.strip()!r} at {where} in {election_code}.")


@click.command("carry-over-staff")
@click.option("--from", "source_code", required=True, metavar="CODE")
@click.option("--to", "target_code", required=True, metavar="CODE")
@with_appcontext
def carry_over_staff_command(source_code: str, target_code: str) -> None:
    """Place the staff of one election at the same precincts and commissions of another."""
    with _transaction() as session:
        source = election_named(session, source_code)
        target = election_named(session, target_code)
        summary = carry_over_staff(
            session, SYSTEM, source_id=source.id, target_id=target.id, now=_now()
        )
    click.echo(f"Placed {summary.placements} users in {target_code}.")
    if summary.unmatched_staff:
        click.echo(
            "No matching precinct or commission for: " + ", ".join(summary.unmatched_staff),
            err=True,
        )


@click.command("allot-stock")
@click.option("--election", "election_code", required=True, metavar="CODE")
@click.option("--per-precinct", type=click.IntRange(1, 100_000), required=True)
@click.option("--first", "first_serial", type=click.IntRange(1, 99_999_999))
@with_appcontext
def allot_stock_command(election_code: str, per_precinct: int, first_serial: int | None) -> None:
    """Hand the same count of numbers to every precinct of the election that holds none yet."""
    with _transaction() as session:
        election = election_named(session, election_code)
        done = allot_stock(
            session,
            SYSTEM,
            election_id=election.id,
            per_precinct=per_precinct,
            first_serial=first_serial,
            now=_now(),
        )
    if not done.ranges:
        click.echo("Every precinct already holds stock: nothing handed down.")
    else:
        click.echo(f"Handed down {done.ranges} ranges, serials {done.first} to {done.last}.")


commands: list[click.Command] = [
    create_election_command,
    change_election_command,
    place_user_command,
    carry_over_staff_command,
    allot_stock_command,
]
