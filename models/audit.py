"""The audit trail: append-only, one event per state change or refusal, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, UTCDateTime, utc_now
from models.case import Certificate, CertificateCase


class AuditEvent(Base):
    """Who did what, where, when (UTC and the precinct's local time), from which state to which.

    The payload never holds a clear IIN: services mask or digest it before writing.
    """

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    # Wall-clock time at the acting precinct, ISO 8601 with offset, and the zone it was read in.
    local_time: Mapped[str] = mapped_column(String(40))
    time_zone: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    actor_role: Mapped[str] = mapped_column(String(20))
    precinct_id: Mapped[int | None] = mapped_column(ForeignKey("precinct.id"), index=True)
    election_id: Mapped[int | None] = mapped_column(ForeignKey("election.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_case.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(40))
    before_state: Mapped[str | None] = mapped_column(String(16))
    after_state: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Lets a new case and its first event be flushed together, in the right order.
    case: Mapped[CertificateCase | None] = relationship()
    certificate: Mapped[Certificate | None] = relationship()


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, flush_context: object, instances: object) -> None:
    """The trail is append-only in the ORM too (the database triggers refuse raw SQL)."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("audit events are append-only")
