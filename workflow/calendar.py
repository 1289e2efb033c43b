"""An election's dates, hours and policies, and the local time of the precinct that acts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """IANA zone by name (cached: ZoneInfo objects are immutable)."""
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Moment:
    """When and where an action happens: the server's aware `now` and the acting precinct's zone."""

    now: datetime
    zone_name: str

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("Moment.now must be timezone-aware")

    @property
    def local(self) -> datetime:
        """The same instant on the acting precinct's wall clock."""
        return self.now.astimezone(zone(self.zone_name))


@dataclass(frozen=True, slots=True)
class ElectionRules:
    """Every date, hour and policy of one election: data, never formulas (domain.md §1, §6).

    Wall-clock times are local to the precinct that acts, so one election has as many real
    deadlines as it has time zones.
    """

    # None for an election without absentee certificates (the indirect Senate vote).
    issue_opens_on: date | None
    issue_deadline_on: date | None
    voting_day: date
    issue_opens_at: time = time(0, 0)
    issue_deadline_at: time = time(18, 0)
    voting_opens_at: time = time(7, 0)
    voting_closes_at: time = time(20, 0)
    # Policy: a certificate may be handed back to the issuing commission before the deadline.
    allow_surrender: bool = True
    # Policy: a voter may surrender the certificate at the home precinct and vote there.
    allow_return_home: bool = True
    # Policy: warn (never refuse) when one representative collects more than this many.
    proxy_warning_threshold: int = 3
    # Policy: inclusion at another precinct of the home locality is refused.
    refuse_inclusion_in_home_locality: bool = True
    # False for a kind of election that has no absentee certificates: nothing is issued in it.
    certificates: bool = True

    @property
    def has_window(self) -> bool:
        return self.certificates and self.issue_opens_on is not None

    def issue_window(self, zone_name: str) -> tuple[datetime, datetime]:
        """[opens, deadline) as aware datetimes in the given precinct's zone.

        ValueError for an election without certificates: ask `has_window` first.
        """
        if self.issue_opens_on is None or self.issue_deadline_on is None:
            raise ValueError("this election has no issue window")
        tz = zone(zone_name)
        return (
            datetime.combine(self.issue_opens_on, self.issue_opens_at, tzinfo=tz),
            datetime.combine(self.issue_deadline_on, self.issue_deadline_at, tzinfo=tz),
        )

    def voting_hours(self, zone_name: str) -> tuple[datetime, datetime]:
        """[opens, closes) on voting day as aware datetimes in the given precinct's zone."""
        tz = zone(zone_name)
        return (
            datetime.combine(self.voting_day, self.voting_opens_at, tzinfo=tz),
            datetime.combine(self.voting_day, self.voting_closes_at, tzinfo=tz),
        )
