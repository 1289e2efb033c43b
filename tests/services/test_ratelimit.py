"""Fixed-window counting shared through the database, and old clients forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import RateCounter
from services.ratelimit import take

NOW = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_the_limit_holds_within_a_window_and_resets_after_it(session: Session) -> None:
    answers = [take(session, "client-a", NOW, 3, MINUTE) for _ in range(4)]
    assert answers[:3] == [None, None, None]
    assert answers[3] == 60
    assert take(session, "client-a", NOW + timedelta(seconds=45), 3, MINUTE) == 15
    assert take(session, "client-a", NOW + MINUTE, 3, MINUTE) is None


def test_clients_not_seen_for_a_day_are_forgotten_when_a_new_one_comes(
    session: Session,
) -> None:
    take(session, "old", NOW - timedelta(days=2), 3, MINUTE)
    take(session, "recent", NOW - timedelta(hours=2), 3, MINUTE)
    session.commit()

    take(session, "new", NOW, 3, MINUTE)
    session.commit()

    kept = set(session.scalars(select(RateCounter.key)))
    assert kept == {"recent", "new"}
