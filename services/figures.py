"""Figures for the screens: a precinct's day at the desk, voting day by hour and by territory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Certificate, CertificateCase, Election, Inclusion, Precinct
from workflow.calendar import Moment, zone
from workflow.states import CaseState, CertificateState


@dataclass(frozen=True, slots=True)
class HourlyFigures:
    total: int
    by_hour: list[tuple[int, int]]  # (local hour, inclusions)


def inclusions_by_hour(session: Session, election: Election, precinct: Precinct) -> HourlyFigures:
    """Inclusions at this precinct so far, by hour of its own wall clock."""
    times = session.scalars(
        select(Inclusion.included_at).where(
            Inclusion.election_id == election.id, Inclusion.precinct_id == precinct.id
        )
    ).all()
    tz = zone(precinct.time_zone)
    hours = Counter(instant.astimezone(tz).hour for instant in times)
    return HourlyFigures(len(times), sorted(hours.items()))


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
