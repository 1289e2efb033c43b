"""What the JSON API keeps: bearer tokens, idempotent responses, rate counters, import jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, in_clause, utc_now
from models.user import User

IMPORT_KINDS = frozenset({"precincts", "voters"})
# add: new rows only; amend: new rows and changes to existing ones; replace: the file is the list.
IMPORT_MODES = frozenset({"add", "amend", "replace"})
IMPORT_STATES = frozenset({"queued", "running", "done", "failed"})


class ApiToken(Base):
    """A bearer token: only its SHA-256 is kept; the token itself is shown once, at creation."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters, so a user can tell their tokens apart without the secret.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class IdempotentRequest(Base):
    """The first answer to a POST with an Idempotency-Key, replayed to any retry of it."""

    __tablename__ = "idempotent_request"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    status_code: Mapped[int] = mapped_column(default=0)
    content_type: Mapped[str] = mapped_column(String(100), default="")
    location: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")

    __table_args__ = (Index("ix_idempotent_request_created_at", "created_at"),)


class RateCounter(Base):
    """Requests per client and fixed window, shared by every worker through the database."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hits: Mapped[int] = mapped_column(default=0)


class ImportJob(Base):
    """A CSV import sent over the API: queued, running (with progress), done or failed."""

    __tablename__ = "import_job"
    __table_args__ = (
        CheckConstraint(in_clause("kind", IMPORT_KINDS), name="kind"),
        CheckConstraint(in_clause("status", IMPORT_STATES), name="status"),
        CheckConstraint(in_clause("mode", IMPORT_MODES), name="mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # None only for jobs queued before elections carried their own networks.
    election_id: Mapped[int | None] = mapped_column(ForeignKey("election.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="add")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    file_name: Mapped[str] = mapped_column(String(200))
    skip_errors: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rows_checked: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    # Counts and error lines (English, no names or clear IINs), as the CLI prints them.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure: Mapped[str | None] = mapped_column(Text)
