"""An election (its kind, dates, hours and policies) and the certificate number stock."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, in_clause, utc_now
from models.reference import Precinct, same_election
from workflow.calendar import ElectionRules
from workflow.elections import ElectionKind

_KINDS = frozenset(kind.value for kind in ElectionKind)


class Election(Base):
    """One election or referendum: every date and hour is data here, never a formula in code.

    Created and edited by its administrator through `services.elections`; the checks of the
    calendar are the workflow's, the CHECKs below are the last line of defence.
    """

    __tablename__ = "election"
    __table_args__ = (
        CheckConstraint("issue_opens_on <= issue_deadline_on", name="window_ordered"),
        CheckConstraint("issue_deadline_on <= voting_day", name="deadline_before_voting"),
        CheckConstraint("voting_opens_at < voting_closes_at", name="hours_ordered"),
        CheckConstraint("proxy_warning_threshold >= 0", name="threshold_non_negative"),
        CheckConstraint(
            "(issue_opens_on IS NULL) = (issue_deadline_on IS NULL)", name="window_complete"
        ),
        CheckConstraint(in_clause("kind", _KINDS), name="kind"),
        CheckConstraint("number_series IS NULL OR length(number_series) = 4", name="series_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default=ElectionKind.REFERENDUM.value)
    # Printed before every certificate number of this election (None: the 2022 referendum).
    number_series: Mapped[str | None] = mapped_column(String(4), unique=True)
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    voting_day: Mapped[date]
    # None only for a kind of election without absentee certificates.
    issue_opens_on: Mapped[date | None]
    issue_opens_at: Mapped[time] = mapped_column(Time, default=time(0, 0))
    issue_deadline_on: Mapped[date | None]
    issue_deadline_at: Mapped[time] = mapped_column(Time, default=time(18, 0))
    voting_opens_at: Mapped[time] = mapped_column(Time, default=time(7, 0))
    voting_closes_at: Mapped[time] = mapped_column(Time, default=time(20, 0))
    allow_surrender: Mapped[bool] = mapped_column(default=True)
    allow_return_home: Mapped[bool] = mapped_column(default=True)
    proxy_warning_threshold: Mapped[int] = mapped_column(default=3)
    refuse_inclusion_in_home_locality: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utc_now)

    @property
    def election_kind(self) -> ElectionKind:
        return ElectionKind(self.kind)

    def rules(self) -> ElectionRules:
        """The workflow's view of this election."""
        return ElectionRules(
            issue_opens_on=self.issue_opens_on,
            issue_deadline_on=self.issue_deadline_on,
            voting_day=self.voting_day,
            issue_opens_at=self.issue_opens_at,
            issue_deadline_at=self.issue_deadline_at,
            voting_opens_at=self.voting_opens_at,
            voting_closes_at=self.voting_closes_at,
            allow_surrender=self.allow_surrender,
            allow_return_home=self.allow_return_home,
            proxy_warning_threshold=self.proxy_warning_threshold,
            refuse_inclusion_in_home_locality=self.refuse_inclusion_in_home_locality,
            certificates=self.election_kind.has_certificates,
        )


class StockRange(Base):
    """A range of serial numbers [first, last] handed to a precinct; `next_serial` is the cursor.

    Allocation is one conditional UPDATE of `next_serial`, so two issues never share a number;
    the certificate table's unique (election, serial) stands behind it.
    """

    __tablename__ = "stock_range"
    __table_args__ = (
        same_election("stock_range", "precinct_id", "precinct"),
        CheckConstraint("first_serial >= 1", name="first_positive"),
        CheckConstraint("last_serial >= first_serial", name="range_ordered"),
        CheckConstraint(
            "next_serial >= first_serial AND next_serial <= last_serial + 1", name="cursor_inside"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precinct.id"), index=True)
    first_serial: Mapped[int]
    last_serial: Mapped[int]
    next_serial: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    precinct: Mapped[Precinct] = relationship(foreign_keys=[precinct_id])

    @property
    def size(self) -> int:
        return self.last_serial - self.first_serial + 1

    @property
    def unused(self) -> int:
        return self.last_serial - self.next_serial + 1
