"""The voter list: one entry per voter per election, at exactly one home precinct."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import POSTGRESQL_ONLY, Base, UTCDateTime
from models.election import Election
from models.reference import Precinct, same_election
from workflow.numbers import format_certificate_number


class VoterEntry(Base):
    """A line of a precinct's voter list. `mark_serial` is the home-list mark ("certificate No.
    X issued"): it is what stops a second vote at home, so it is set by one conditional UPDATE.
    """

    __tablename__ = "voter_entry"
    __table_args__ = (
        UniqueConstraint("election_id", "iin"),
        CheckConstraint("length(iin) = 12", name="iin_length"),
        CheckConstraint("(mark_serial IS NULL) = (marked_at IS NULL)", name="mark_complete"),
        Index("ix_voter_entry_search", "election_id", "precinct_id", "search_key"),
        # The beginnings of the name's words (migration 0009's function): a territorial or
        # national search finds "Жанұз Айг" without reading the whole list (SQLite scans, its
        # lists are small).
        Index(
            "ix_voter_entry_search_prefixes",
            text("kuelik_name_prefixes(election_id, search_key)"),
            postgresql_using="gin",
            info=POSTGRESQL_ONLY,
        ).ddl_if(dialect="postgresql"),
        same_election("voter_entry", "precinct_id", "precinct"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Both columns are held by the composite key to the precinct (same_election above) alone: a
    # key of their own each would add two more triggers to every row of a national import.
    election_id: Mapped[int]
    precinct_id: Mapped[int] = mapped_column(index=True)
    iin: Mapped[str] = mapped_column(String(12))
    surname: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str] = mapped_column(String(200))
    patronymic: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date]
    address: Mapped[str] = mapped_column(String(500))
    # Folded name for forgiving search (case, spacing, Kazakh letters typed as Russian ones).
    search_key: Mapped[str] = mapped_column(String(600))
    mark_serial: Mapped[int | None]
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    precinct: Mapped[Precinct] = relationship(foreign_keys=[precinct_id])
    election: Mapped[Election] = relationship(
        primaryjoin="foreign(VoterEntry.election_id) == Election.id"
    )

    @property
    def mark_number(self) -> str | None:
        """The number the home-list mark names, as printed, or None when unmarked."""
        if self.mark_serial is None:
            return None
        return format_certificate_number(self.mark_serial, self.election.number_series)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.given_name, self.patronymic) if p)
