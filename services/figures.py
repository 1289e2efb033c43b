"""Figures for the screens: a precinct's day at the desk, voting day by hour and by territory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Certificate, CertificateCase, Election, Inclusion, Precinct
from workflow.calendar import Moment, zone
from workflow.states import CaseState, CertificateState


@dataclass(frozen=True, slots=True)
class HourlyFigures:
    total: int
    by_hour: list[tuple[int, int]]  # (local hour, inclusions)


def inclusions_by_hour(session: Session, election: Election, precinct: Precinct) -> HourlyFigures:
    """Inclusions at this precinct so far, by hour of its own wall clock.

    The database counts per UTC hour (at most 24 rows a day, however long the list grows); each
    UTC hour is one local hour wherever the offset is whole hours, as in every zone of Kazakhstan.
    """
    dialect = session.get_bind().dialect.name
    hour: ColumnElement[Any] = (
        func.date_trunc("hour", func.timezone("UTC", Inclusion.included_at))
        if dialect == "postgresql"
        else func.strftime("%Y-%m-%d %H:00:00", Inclusion.included_at)
    )
    where = (Inclusion.election_id == election.id, Inclusion.precinct_id == precinct.id)
    rows = session.execute(select(hour, func.count()).where(*where).group_by(hour)).all()
    tz = zone(precinct.time_zone)
    hours: Counter[int] = Counter()
    for start, count in rows:
        instant = _utc(start).astimezone(tz)
        if instant.minute or instant.second:
            # A zone off the whole hour: count this UTC hour's inclusions one by one.
            times = session.scalars(
                select(Inclusion.included_at).where(
                    *where,
                    Inclusion.included_at >= _utc(start),
                    Inclusion.included_at < _utc(start) + timedelta(hours=1),
                )
            )
            hours.update(moment.astimezone(tz).hour for moment in times)
        else:
            hours[instant.hour] += int(count)
    return HourlyFigures(sum(hours.values()), sorted(hours.items()))


def _utc(value: datetime | str) -> datetime:
    """An hour as the database returns it (naive UTC, or text on SQLite), made aware."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PrecinctFigures:
    precinct: Precinct
    issued: int
    included_elsewhere: int
    included_here: int
    refused_attempts: int
    alerts: int


def territory_figures(
    session: Session, election: Election, precincts: list[Precinct]
) -> list[PrecinctFigures]:
    """Per precinct of a territory: what it issued, where those went, what it took in."""
    ids = [precinct.id for precinct in precincts]
    issued = dict(
        session.execute(
            select(Certificate.precinct_id, func.count())
            .where(
                Certificate.election_id == election.id,
                Certificate.precinct_id.in_(ids),
                Certificate._state != CertificateState.SPOILT,
            )
            .group_by(Certificate.precinct_id)
        ).all()
    )
    included_elsewhere = dict(
        session.execute(
            select(Certificate.precinct_id, func.count())
            .join(Inclusion, Inclusion.certificate_id == Certificate.id)
            .where(Certificate.election_id == election.id, Certificate.precinct_id.in_(ids))
            .group_by(Certificate.precinct_id)
        ).all()
    )
    included_here = dict(
        session.execute(
            select(Inclusion.precinct_id, func.count())
            .where(Inclusion.election_id == election.id, Inclusion.precinct_id.in_(ids))
            .group_by(Inclusion.precinct_id)
        ).all()
    )

    def events(event: str, outcome: str) -> dict[int, int]:
        return {
            int(precinct_id): int(count)
            for precinct_id, count in session.execute(
                select(AuditEvent.precinct_id, func.count())
                .where(
                    AuditEvent.election_id == election.id,
                    AuditEvent.precinct_id.in_(ids),
                    AuditEvent.event == event,
                    AuditEvent.outcome == outcome,
                )
                .group_by(AuditEvent.precinct_id)
            ).all()
            if precinct_id is not None
        }

    refused = events("include", "refused")
    alerts = events("alert_repeated_use", "alert")
    return [
        PrecinctFigures(
            precinct=precinct,
            issued=issued.get(precinct.id, 0),
            included_elsewhere=included_elsewhere.get(precinct.id, 0),
            included_here=included_here.get(precinct.id, 0),
            refused_attempts=refused.get(precinct.id, 0),
            alerts=alerts.get(precinct.id, 0),
        )
        for precinct in precincts
    ]


@dataclass(frozen=True, slots=True)
class DeskDay:
    """A precinct's day at the desk, on its own wall clock."""

    local_now: datetime
    # None in an election without absentee certificates.
    opens: datetime | None
    deadline: datetime | None
    window_open: bool
    time_left: timedelta | None
    applications_today: int
    issued_today: int
    refused_today: int
    issued_total: int
    live_received: int


def desk_day(session: Session, election: Election, precinct: Precinct, now: datetime) -> DeskDay:
    moment = Moment(now, precinct.time_zone)
    rules = election.rules()
    opens, deadline = rules.issue_window(precinct.time_zone) if rules.has_window else (None, None)
    local = moment.local
    day_start = datetime.combine(local.date(), time(0), tzinfo=zone(precinct.time_zone))
    day_end = day_start + timedelta(days=1)

    def count_events(event: str, outcome: str) -> int:
        return int(
            session.scalar(
                select(func.count()).where(
                    AuditEvent.precinct_id == precinct.id,
                    AuditEvent.election_id == election.id,
                    AuditEvent.event == event,
                    AuditEvent.outcome == outcome,
                    AuditEvent.occurred_at >= day_start,
                    AuditEvent.occurred_at < day_end,
                )
            )
            or 0
        )

    issued_total = session.scalar(
        select(func.count()).where(
            Certificate.precinct_id == precinct.id,
            Certificate.election_id == election.id,
            Certificate._state != CertificateState.SPOILT,
        )
    )
    received = session.scalar(
        select(func.count()).where(
            CertificateCase.precinct_id == precinct.id,
            CertificateCase.election_id == election.id,
            CertificateCase._state == CaseState.RECEIVED,
        )
    )
    window_open = opens is not None and deadline is not None and opens <= now < deadline
    return DeskDay(
        local_now=local,
        opens=opens,
        deadline=deadline,
        window_open=window_open,
        time_left=deadline - now if window_open and deadline is not None else None,
        applications_today=count_events("apply", "accepted") + count_events("apply", "refused"),
        issued_today=count_events("issue", "accepted"),
        refused_today=count_events("apply", "refused") + count_events("refuse", "accepted"),
        issued_total=int(issued_total or 0),
        live_received=int(received or 0),
    )
