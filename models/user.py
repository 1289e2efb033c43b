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
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    precinct: Mapped[Precinct | None] = relationship()
    territorial_commission: Mapped[TerritorialCommission | None] = relationship()
