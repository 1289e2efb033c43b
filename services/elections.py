"""Elections as data: create and change them (one service for the web, the API and the CLI),
their phase on every clock of their network, and which election a user's screens show.

The checks of the calendar and of what may change when are the workflow's
(`workflow.elections`); this module loads, stores and audits. Every accepted change writes one
audit event with the values before and after; a correction after the window opened carries its
written reason, and the election's page lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from models import AuditEvent, Election, Placement, Precinct, Region, Role
from seal import ELECTION_CODE_PATTERN
from services.audit import SYSTEM, Actor, record_event
from services.errors import NotFound
from workflow.calendar import ElectionRules, Moment
from workflow.elections import (
    ElectionClock,
    ElectionKind,
    ElectionPhase,
    ElectionRefused,
    FieldProblem,
    calendar_problems,
    default_election,
    election_phase,
    judge_change,
    opens_at,
)
from workflow.numbers import SERIES_DIGITS, is_number_series

# The capital's clock: the zone of an election whose network is still empty, and of the
# central commission's own actions.
CAPITAL_ZONE = "Asia/Almaty"
NAME_LENGTH = 300
CORRECTION_EVENT = "election_corrected"


@dataclass(frozen=True, slots=True)
class ElectionInput:
    """An election as its administrator describes it; every Policy with its default (§6)."""

    code: str
    name_kk: str
    name_ru: str
    name_en: str
    voting_day: date
    issue_opens_on: date | None
    issue_deadline_on: date | None
    kind: str = ElectionKind.REFERENDUM.value
    issue_opens_at: time = time(0, 0)
    issue_deadline_at: time = time(18, 0)
    voting_opens_at: time = time(7, 0)
    voting_closes_at: time = time(20, 0)
    # None: the service picks one (the voting day's YYMM, or the next free series).
    number_series: str | None = None
    allow_surrender: bool = True
    allow_return_home: bool = True
    proxy_warning_threshold: int = 3
    refuse_inclusion_in_home_locality: bool = True


# Everything an administrator may set, in the order screens and audit events show them.
ELECTION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ElectionInput))


def _plain(value: Any) -> Any:
    return (
        value.isoformat(timespec="minutes")
        if isinstance(value, time)
        else (value.isoformat() if isinstance(value, date) else value)
    )


def _rules(values: Mapping[str, Any]) -> ElectionRules:
    kind = values["kind"]
    return ElectionRules(
        issue_opens_on=values["issue_opens_on"],
        issue_deadline_on=values["issue_deadline_on"],
        voting_day=values["voting_day"],
        issue_opens_at=values["issue_opens_at"],
        issue_deadline_at=values["issue_deadline_at"],
        voting_opens_at=values["voting_opens_at"],
        voting_closes_at=values["voting_closes_at"],
        allow_surrender=values["allow_surrender"],
        allow_return_home=values["allow_return_home"],
        proxy_warning_threshold=values["proxy_warning_threshold"],
        refuse_inclusion_in_home_locality=values["refuse_inclusion_in_home_locality"],
        certificates=ElectionKind(kind).has_certificates if kind in _KINDS else True,
    )


_KINDS = frozenset(kind.value for kind in ElectionKind)


def _problems(
    session: Session, values: Mapping[str, Any], election_id: int | None
) -> list[FieldProblem]:
    """Every reason these values cannot be stored, field by field."""
    problems: list[FieldProblem] = []
    code = str(values["code"])
    if not ELECTION_CODE_PATTERN.fullmatch(code):
        problems.append(FieldProblem("code", "code_format"))
    elif session.scalar(
        select(Election.id).where(
            func.lower(Election.code) == code.lower(), Election.id != (election_id or 0)
        )
    ):
        problems.append(FieldProblem("code", "code_taken"))
    for name in ("name_kk", "name_ru", "name_en"):
        text = str(values[name])
        if not text.strip():
            problems.append(FieldProblem(name, "required"))
        elif len(text) > NAME_LENGTH:
            problems.append(FieldProblem(name, "too_long", {"limit": str(NAME_LENGTH)}))
    if values["kind"] not in _KINDS:
        problems.append(FieldProblem("kind", "unknown_kind"))
    series = values["number_series"]
    if series is not None:
        if not is_number_series(str(series)):
            problems.append(
                FieldProblem("number_series", "series_format", {"digits": str(SERIES_DIGITS)})
            )
        elif session.scalar(
            select(Election.id).where(
                Election.number_series == series, Election.id != (election_id or 0)
            )
        ):
            problems.append(FieldProblem("number_series", "series_taken"))
    threshold = values["proxy_warning_threshold"]
    if not isinstance(threshold, int) or not 0 <= threshold <= 1000:
        problems.append(
            FieldProblem("proxy_warning_threshold", "out_of_range", {"first": "0", "last": "1000"})
        )
        return problems
    problems.extend(calendar_problems(_rules(values)))
    return problems


def _free_series(session: Session, voting_day: date) -> str:
    """The voting day's YYMM, or the next free four digits after it."""
    taken = set(
        session.scalars(select(Election.number_series).where(Election.number_series.is_not(None)))
    )
    start = int(voting_day.strftime("%y%m"))
    for step in range(10**SERIES_DIGITS):
        candidate = f"{(start + step) % 10**SERIES_DIGITS:0{SERIES_DIGITS}d}"
        if candidate not in taken:
            return candidate
    raise RuntimeError("every number series is taken")  # pragma: no cover - 10,000 elections


def require_admin(actor: Actor) -> None:
    if actor.role not in (Role.ADMIN.value, SYSTEM.role):
        raise NotFound("election")


def create_election(session: Session, actor: Actor, data: ElectionInput, now: datetime) -> Election:
    """A new election, preparing; ElectionRefused (every field at fault) stores nothing."""
    require_admin(actor)
    values = {name: getattr(data, name) for name in ELECTION_FIELDS}
    if isinstance(values["code"], str):
        values["code"] = values["code"].strip()
    if values["number_series"] is None and isinstance(values["voting_day"], date):
        values["number_series"] = _free_series(session, values["voting_day"])
    if problems := _problems(session, values, None):
        raise ElectionRefused(problems)
    election = Election(**values, created_at=now)
    session.add(election)
    session.flush()
    record_event(
        session,
        actor=actor,
        moment=Moment(now, CAPITAL_ZONE),
        event="election_created",
        outcome="accepted",
        election_id=election.id,
        payload={name: _plain(value) for name, value in values.items()},
    )
    return election


def network_zones(session: Session, election_id: int) -> tuple[str, ...]:
    """Every clock the election's network reads deadlines on (the capital's while it is empty)."""
    zones = session.scalars(
        union(
            select(Region.time_zone).where(Region.election_id == election_id),
            select(Precinct.time_zone_override).where(
                Precinct.election_id == election_id, Precinct.time_zone_override.is_not(None)
            ),
        )
    ).all()
    return tuple(sorted({str(name) for name in zones if name})) or (CAPITAL_ZONE,)


def phase_of(session: Session, election: Election, now: datetime) -> ElectionPhase:
    return election_phase(election.rules(), network_zones(session, election.id), now)


def change_election(
    session: Session,
    actor: Actor,
    election_id: int,
    changes: Mapping[str, Any],
    now: datetime,
    *,
    reason: str = "",
) -> Election:
    """Edit while preparing; afterwards only a correction with its reason (never the code,
    series or kind); never once closed. ElectionRefused changes nothing."""
    require_admin(actor)
    election = session.scalar(select(Election).where(Election.id == election_id).with_for_update())
    if election is None:
        raise NotFound("election")
    unknown = sorted(set(changes) - set(ELECTION_FIELDS))
    if unknown:
        raise ElectionRefused([FieldProblem(name, "unknown_field") for name in unknown])
    before = {name: getattr(election, name) for name in ELECTION_FIELDS}
    after = {**before, **changes}
    if isinstance(after["code"], str):
        after["code"] = after["code"].strip()
    changed = sorted(name for name in ELECTION_FIELDS if after[name] != before[name])
    if not changed:
        return election
    if problems := _problems(session, after, election.id):
        raise ElectionRefused(problems)
    zones = network_zones(session, election.id)
    verdict = judge_change(
        election_phase(election.rules(), zones, now),
        changed,
        reason,
        new_opens_at=opens_at(_rules(after), zones),
        now=now,
    )
    for name in changed:
        setattr(election, name, after[name])
    payload: dict[str, Any] = {
        "changed": {name: [_plain(before[name]), _plain(after[name])] for name in changed}
    }
    if verdict.correction:
        payload["reason"] = reason.strip()[:1000]
    record_event(
        session,
        actor=actor,
        moment=Moment(now, CAPITAL_ZONE),
        event=CORRECTION_EVENT if verdict.correction else "election_updated",
        outcome="accepted",
        election_id=election.id,
        payload=payload,
    )
    session.flush()
    return election


def corrections(session: Session, election_id: int) -> list[AuditEvent]:
    """Every correction made after the window opened, oldest first, with its reason."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.election_id == election_id, AuditEvent.event == CORRECTION_EVENT)
            .order_by(AuditEvent.id)
        )
    )


# --------------------------------------------------------------------------------------------
# Which elections a user sees, and which one their screens open on
# --------------------------------------------------------------------------------------------


def visible_elections(session: Session, actor: Actor) -> list[Election]:
    """Staff see the elections they are placed in; the central commission and observers all."""
    statement = select(Election).order_by(Election.voting_day.desc(), Election.id.desc())
    if actor.role not in (Role.ADMIN.value, Role.OBSERVER.value, SYSTEM.role):
        statement = statement.where(
            Election.id.in_(select(Placement.election_id).where(Placement.user_id == actor.user_id))
        )
    return list(session.scalars(statement))


def default_election_for(
    session: Session, actor: Actor, now: datetime, visible: list[Election] | None = None
) -> Election | None:
    """The election whose voting day or window is current, among those the actor sees
    (`visible`, when the caller already has them)."""
    elections = visible_elections(session, actor) if visible is None else visible
    if len(elections) == 1:
        # No choice to make, so no clocks to read (a desk's every request comes this way).
        return elections[0]
    chosen = default_election(
        [ElectionClock(e.id, e.rules(), network_zones(session, e.id)) for e in elections], now
    )
    return next((e for e in elections if e.id == chosen), None)


def election_for(
    session: Session,
    actor: Actor,
    election_id: int | None,
    now: datetime,
    visible: list[Election] | None = None,
) -> Election:
    """The named election if the actor sees it, else their default; NotFound when none.

    `visible`: the actor's elections, when the caller already has them (one query less).
    """
    elections = visible_elections(session, actor) if visible is None else visible
    if election_id is None:
        election = default_election_for(session, actor, now, elections)
    else:
        election = next((e for e in elections if e.id == election_id), None)
    if election is None:
        raise NotFound("election")
    return election
