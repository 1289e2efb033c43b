"""Users, their roles, and where each works in each election (placements)."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utc_now
from models.election import Election
from models.reference import Precinct, TerritorialCommission, same_election


class Role(StrEnum):
    ADMIN = "admin"  # central commission: everything
    TERRITORIAL = "territorial"  # its territory: users, precincts, stock, reports; cases read-only
    CLERK = "clerk"  # own precinct: applications, issue, corrections, registers
    CHECKIN = "checkin"  # own precinct: voting day only
    OBSERVER = "observer"  # aggregate figures, no personal data


PRECINCT_ROLES = frozenset({Role.CLERK, Role.CHECKIN})


def new_session_token() -> str:
    """Rotated on logout, password change, deactivation or move: old cookies stop working."""
    return secrets.token_urlsafe(24)


class User(Base):
    """A person's account. The role is theirs in every election; where they work is per
    election (a `Placement`), because each election has its own network of precincts.
    """

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            create_constraint=True,
            name="role",
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        )
    )
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str | None] = mapped_column(String(2))
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    placements: Mapped[list[Placement]] = relationship(
        back_populates="user", lazy="selectin", order_by="Placement.election_id"
    )

    def placement_in(self, election_id: int) -> Placement | None:
        """Where this user works in one election, if anywhere."""
        for placement in self.placements:
            if placement.election_id == election_id:
                return placement
        return None

    # Flask-Login's protocol, written out so the model does not import the web layer.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session cookie names the user AND the current token: rotate it, and it dies."""
        return f"{self.id}:{self.session_token}"


class Placement(Base):
    """Where a user works in one election: a precinct (clerks, check-in staff) or a territorial
    commission. At most one per user and election; precinct and commission are of that election.
    """

    __tablename__ = "placement"
    __table_args__ = (
        UniqueConstraint("user_id", "election_id"),
        CheckConstraint(
            "(precinct_id IS NULL) <> (territorial_commission_id IS NULL)", name="one_place"
        ),
        same_election("placement", "precinct_id", "precinct"),
        same_election("placement", "territorial_commission_id", "territorial_commission"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id"), index=True)
    precinct_id: Mapped[int | None] = mapped_column(ForeignKey("precinct.id"), index=True)
    territorial_commission_id: Mapped[int | None] = mapped_column(
        ForeignKey("territorial_commission.id"), index=True
    )
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    user: Mapped[User] = relationship(back_populates="placements")
    election: Mapped[Election] = relationship()
    precinct: Mapped[Precinct | None] = relationship(foreign_keys=[precinct_id])
    territorial_commission: Mapped[TerritorialCommission | None] = relationship(
        foreign_keys=[territorial_commission_id]
    )


class LoginThrottle(Base):
    """Failed sign-ins per account key (a digest of the username), to slow down guessing."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FormSubmission(Base):
    """A one-time key per rendered form: a double click or a replay acts once, then redirects."""

    __tablename__ = "form_submission"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    result_url: Mapped[str] = mapped_column(String(500))
