"""Elections and per-precinct figures for the screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, Certificate, CertificateCase, Election, Precinct
from workflow.calendar import Moment, zone
from workflow.states import CaseState, CertificateState


def current_election(session: Session) -> Election | None:
    """The election being run: the one with the latest voting day."""
    return session.scalar(select(Election).order_by(Election.voting_day.desc()).limit(1))


@dataclass(frozen=True, slots=True)
class DeskDay:
    """A precinct's day at the desk, on its own wall clock."""

    local_now: datetime
    opens: datetime
    deadline: datetime
    window_open: bool
    time_left: timedelta | None
    applications_today: int
    issued_today: int
    refused_today: int
    issued_total: int
    live_received: int


def desk_day(session: Session, election: Election, precinct: Precinct, now: datetime) -> DeskDay:
    moment = Moment(now, precinct.time_zone)
    opens, deadline = election.rules().issue_window(precinct.time_zone)
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
    window_open = opens <= now < deadline
    return DeskDay(
        local_now=local,
        opens=opens,
        deadline=deadline,
        window_open=window_open,
        time_left=deadline - now if window_open else None,
        applications_today=count_events("apply", "accepted") + count_events("apply", "refused"),
        issued_today=count_events("issue", "accepted"),
        refused_today=count_events("apply", "refused") + count_events("refuse", "accepted"),
        issued_total=int(issued_total or 0),
        live_received=int(received or 0),
    )
