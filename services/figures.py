"""Live figures for voting day: per precinct by hour, and per territory by precinct."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Certificate, Election, Inclusion, Precinct
from workflow.calendar import zone
from workflow.states import CertificateState


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
