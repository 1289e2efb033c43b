"""Users and their roles."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utc_now
from models.reference import Precinct, TerritorialCommission


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
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(
            "role NOT IN ('clerk', 'checkin') OR precinct_id IS NOT NULL", name="precinct_role"
        ),
        CheckConstraint(
            "role <> 'territorial' OR territorial_commission_id IS NOT NULL",
            name="territorial_role",
        ),
    )

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
    precinct_id: Mapped[int | None] = mapped_column(ForeignKey("precinct.id"), index=True)
    territorial_commission_id: Mapped[int | None] = mapped_column(
        ForeignKey("territorial_commission.id")
    )
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str | None] = mapped_column(String(2))
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    precinct: Mapped[Precinct | None] = relationship()
    territorial_commission: Mapped[TerritorialCommission | None] = relationship()

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
