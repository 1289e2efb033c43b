"""The certificate case, the certificates printed for it, and voting-day inclusions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, in_clause, utc_now
from models.election import Election
from models.reference import Locality, Precinct, same_election
from models.voter import VoterEntry
from workflow.numbers import format_certificate_number
from workflow.states import (
    LIVE_CASE_STATES,
    LIVE_CERTIFICATE_STATES,
    ApplicantKind,
    CaseState,
    CertificateState,
)


def _enum_column(enum: type[CaseState] | type[CertificateState] | type[ApplicantKind]) -> Enum:
    """Stored as its values with a CHECK: valid states only, on every database."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=True,
        name=enum.__name__.lower(),
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


_LIVE_CASE = in_clause("state", frozenset(LIVE_CASE_STATES))
_LIVE_CERTIFICATE = in_clause("state", frozenset(LIVE_CERTIFICATE_STATES))


class CertificateCase(Base):
    """One application (заявление / өтініш) and its life. Its state is the machine's alone:
    `_state` is written by `workflow.machine.CaseMachine`, read through `state`.
    """

    __tablename__ = "certificate_case"
    __table_args__ = (
        # One live case per voter per election, anywhere: the law's "no second certificate".
        Index(
            "uq_certificate_case_live_voter",
            "election_id",
            "voter_id",
            unique=True,
            sqlite_where=text(_LIVE_CASE),
            postgresql_where=text(_LIVE_CASE),
        ),
        CheckConstraint("state = 'refused' OR voter_id IS NOT NULL", name="voter_unless_refused"),
        CheckConstraint(
            "(state = 'refused') = (refusal_code IS NOT NULL)", name="refusal_code_iff_refused"
        ),
        same_election("certificate_case", "precinct_id", "precinct"),
        same_election("certificate_case", "stay_locality_id", "locality"),
        CheckConstraint(
            "state = 'refused' OR applicant_kind = 'voter' OR ("
            "representative_iin IS NOT NULL AND power_of_attorney_number IS NOT NULL "
            "AND power_of_attorney_date IS NOT NULL)",
            name="representative_particulars",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precinct.id"), index=True)
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("voter_entry.id"), index=True)
    # As presented, so a refused application (maybe not on any list) is still on record.
    voter_iin: Mapped[str] = mapped_column(String(12))
    applicant_kind: Mapped[ApplicantKind] = mapped_column(_enum_column(ApplicantKind))
    applicant_document: Mapped[str] = mapped_column(String(200))
    representative_iin: Mapped[str | None] = mapped_column(String(12), index=True)
    representative_name: Mapped[str | None] = mapped_column(String(300))
    power_of_attorney_number: Mapped[str | None] = mapped_column(String(100))
    power_of_attorney_date: Mapped[date | None]
    stay_locality_id: Mapped[int] = mapped_column(ForeignKey("locality.id"))
    # None only between construction and the machine's first event; the column is NOT NULL.
    _state: Mapped[CaseState | None] = mapped_column(
        "state", _enum_column(CaseState), index=True, nullable=False
    )
    refusal_code: Mapped[str | None] = mapped_column(String(32))
    refusal_note: Mapped[str | None] = mapped_column(String(1000))
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
    # Optimistic lock: a concurrent writer that read an older version fails instead of winning.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own protocol

    precinct: Mapped[Precinct] = relationship(foreign_keys=[precinct_id])
    election: Mapped[Election] = relationship()
    voter: Mapped[VoterEntry | None] = relationship()
    stay_locality: Mapped[Locality] = relationship(foreign_keys=[stay_locality_id])
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="case", order_by="Certificate.id"
    )

    @property
    def state(self) -> CaseState:
        if self._state is None:
            raise ValueError("the case machine has not fired yet")
        return self._state

    @property
    def live_certificate(self) -> Certificate | None:
        """The certificate that is not spoilt, if any (spoilt forms stay on record)."""
        for certificate in self.certificates:
            if certificate.state is not CertificateState.SPOILT:
                return certificate
        return None


class Certificate(Base):
    """One printed form with its serial number: a strict-accountability document."""

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("election_id", "serial"),
        Index(
            "uq_certificate_live_voter",
            "election_id",
            "voter_id",
            unique=True,
            sqlite_where=text(_LIVE_CERTIFICATE),
            postgresql_where=text(_LIVE_CERTIFICATE),
        ),
        CheckConstraint("serial >= 1", name="serial_positive"),
        same_election("certificate", "precinct_id", "precinct"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("certificate_case.id"), index=True)
    voter_id: Mapped[int] = mapped_column(ForeignKey("voter_entry.id"), index=True)
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precinct.id"), index=True)
    serial: Mapped[int]
    verification_code: Mapped[str] = mapped_column(String(16))
    _state: Mapped[CertificateState] = mapped_column(
        "state", _enum_column(CertificateState), index=True
    )
    handed_to: Mapped[ApplicantKind] = mapped_column(_enum_column(ApplicantKind))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[CertificateCase] = relationship(back_populates="certificates")
    precinct: Mapped[Precinct] = relationship(foreign_keys=[precinct_id])
    voter: Mapped[VoterEntry] = relationship()
    election: Mapped[Election] = relationship()

    @property
    def state(self) -> CertificateState:
        return self._state

    @property
    def number(self) -> str:
        """The printed number, with this election's series (none for the 2022 referendum)."""
        return format_certificate_number(self.serial, self.election.number_series)


class SupplementaryList(Base):
    """The receiving precinct's supplementary list: a counter that numbers its lines."""

    __tablename__ = "supplementary_list"

    __table_args__ = (same_election("supplementary_list", "precinct_id", "precinct"),)

    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), primary_key=True)
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precinct.id"), primary_key=True)
    last_line: Mapped[int] = mapped_column(default=0)


class Inclusion(Base):
    """A certificate taken in on voting day: once per certificate, numbered per precinct."""

    __tablename__ = "inclusion"
    __table_args__ = (
        UniqueConstraint("certificate_id"),
        UniqueConstraint("election_id", "precinct_id", "line_number"),
        CheckConstraint("line_number >= 1", name="line_positive"),
        same_election("inclusion", "precinct_id", "precinct"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"))
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precinct.id"), index=True)
    line_number: Mapped[int]
    included_at: Mapped[datetime] = mapped_column(UTCDateTime)
    included_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    certificate: Mapped[Certificate] = relationship()
    precinct: Mapped[Precinct] = relationship(foreign_keys=[precinct_id])
