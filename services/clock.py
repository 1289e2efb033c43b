"""The server clock, injected so tests and demonstrations can set it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


class Clock:
    """The only clock a deadline is read from: the server's, never a client's."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class ShiftedClock(Clock):
    """A clock that runs from a chosen instant (demonstrations and tests only)."""

    start: datetime
    _real_start: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("the demonstration clock needs an aware start")

    def now(self) -> datetime:
        elapsed: timedelta = datetime.now(UTC) - self._real_start
        return self.start + elapsed


@dataclass
class FixedClock(Clock):
    """A clock that stands still until moved (tests)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant

    def advance(self, delta: timedelta) -> None:
        self.instant += delta
