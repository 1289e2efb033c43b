"""Fixed-window rate limits, counted in the database so every worker shares them."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import RateCounter

FORGET_AFTER = timedelta(days=1)


def take(session: Session, key: str, now: datetime, limit: int, window: timedelta) -> int | None:
    """Count one request for `key`; None if allowed, else the seconds until the window ends.

    The key must already be a digest: client addresses are personal data too.
    """
    for _attempt in range(2):
        counter = session.get(RateCounter, key, with_for_update=True)
        if counter is None:
            # A new client: the moment to forget the ones not seen for a day.
            session.execute(
                delete(RateCounter).where(RateCounter.window_started_at < now - FORGET_AFTER)
            )
            try:
                with session.begin_nested():
                    session.add(RateCounter(key=key, window_started_at=now, hits=1))
                return None
            except IntegrityError:
                continue  # a twin request created it first: count on its row
        if now - counter.window_started_at >= window:
            counter.window_started_at = now
            counter.hits = 1
            return None
        if counter.hits >= limit:
            remaining = counter.window_started_at + window - now
            return max(1, math.ceil(remaining.total_seconds()))
        counter.hits += 1
        return None
    return None  # pragma: no cover - the row exists after a lost insert race
