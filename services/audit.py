"""Writing audit events: every transition, refusal and access decision leaves exactly one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import AuditEvent, CertificateCase
from models.base import table_of
from workflow.calendar import Moment
from workflow.iin import mask_iin
from workflow.machine import Transition


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a signed-in user (or the system, id None), the role, and where they work.

    A user works at one precinct or commission per election; precinct and commission ids are
    unique across elections, so the sets below scope every election at once.
    """

    user_id: int | None
    role: str
    precinct_ids: frozenset[int] = frozenset()
    territorial_commission_ids: frozenset[int] = frozenset()
    # Set when the user acts through the API: the audit trail names the token used.
    api_token_id: int | None = None


SYSTEM = Actor(user_id=None, role="system")


# Keyed, because IINs are few (~10^9, and ~2,000 once the masked form is known): an unkeyed hash
# would be reversed by brute force. create_app sets a stable key; otherwise one per process.
_digest_key: bytes = secrets.token_bytes(32)


def configure_iin_digest(key: str) -> None:
    """Set the server secret behind IIN digests (kept out of the database, never rotated)."""
    global _digest_key  # one process-wide secret, set once at start-up
    _digest_key = hashlib.sha256(key.encode()).digest()


def iin_digest(iin: str) -> str:
    """A stable handle for an IIN in logs and payloads that cannot be turned back into it."""
    return hmac.new(_digest_key, iin.encode(), hashlib.sha256).hexdigest()[:16]


def safe_iin(iin: str) -> dict[str, str]:
    """What an audit payload may say about an IIN: masked form and digest."""
    return {"iin_masked": mask_iin(iin), "iin_digest": iin_digest(iin)}


def audit_values(
    *,
    actor: Actor,
    moment: Moment,
    event: str,
    outcome: str,
    precinct_id: int | None = None,
    election_id: int | None = None,
    case_id: int | None = None,
    certificate_id: int | None = None,
    code: str | None = None,
    before: str | None = None,
    after: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit event's columns: what the ORM and the desk's Core writers both insert."""
    return {
        "occurred_at": moment.now,
        "local_time": moment.local.isoformat(timespec="seconds"),
        "time_zone": moment.zone_name,
        "actor_id": actor.user_id,
        "actor_role": actor.role,
        "precinct_id": precinct_id,
        "election_id": election_id,
        "case_id": case_id,
        "certificate_id": certificate_id,
        "event": event,
        "outcome": outcome,
        "code": code,
        "before_state": before,
        "after_state": after,
        "payload": _with_channel(actor, payload),
    }


def record_event(
    session: Session,
    *,
    actor: Actor,
    moment: Moment,
    event: str,
    outcome: str,
    precinct_id: int | None = None,
    election_id: int | None = None,
    case: CertificateCase | None = None,
    certificate_id: int | None = None,
    code: str | None = None,
    before: str | None = None,
    after: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session's transaction (the caller's commit keeps it)."""
    values = audit_values(
        actor=actor,
        moment=moment,
        event=event,
        outcome=outcome,
        precinct_id=precinct_id,
        election_id=election_id,
        certificate_id=certificate_id,
        code=code,
        before=before,
        after=after,
        payload=payload,
    )
    del values["case_id"]  # the relationship below orders a new case's insert before its event
    audit = AuditEvent(**values, case=case)
    session.add(audit)
    return audit


def _with_channel(actor: Actor, payload: Mapping[str, Any] | None) -> dict[str, Any]:
    values = dict(payload or {})
    if actor.api_token_id is not None:
        values["api_token_id"] = actor.api_token_id
    return values


@dataclass
class TransitionAuditor:
    """The machine's listener: one audit event per fired event, accepted or refused, and the
    case's created/updated stamps on the server clock."""

    session: Session
    actor: Actor
    case: CertificateCase
    election_id: int
    precinct_id: int
    payload: dict[str, Any]
    certificate_id: int | None = None
    last_event: AuditEvent | None = None

    def __call__(self, transition: Transition) -> None:
        refusal = transition.refusal
        if refusal is None or transition.source is None:
            # The case's own times come from the server clock of the transition, never the
            # database's or the machine's wall clock (a demonstration clock must show too).
            if self.case.created_at is None:
                self.case.created_at = transition.moment.now
            self.case.updated_at = transition.moment.now
        values = transition_values(
            transition,
            self.actor,
            election_id=self.election_id,
            precinct_id=self.precinct_id,
            payload=self.payload,
        )
        values["certificate_id"] = self.certificate_id
        del values["case_id"]  # the relationship orders a new case's insert before its event
        self.last_event = AuditEvent(**values, case=self.case)
        self.session.add(self.last_event)


def transition_values(
    transition: Transition,
    actor: Actor,
    *,
    election_id: int,
    precinct_id: int,
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    """The audit event of one fired event, accepted or refused, without its case id yet."""
    refusal = transition.refusal
    return audit_values(
        actor=actor,
        moment=transition.moment,
        event=str(transition.event),
        outcome="accepted" if refusal is None else "refused",
        precinct_id=precinct_id,
        election_id=election_id,
        code=None if refusal is None else str(refusal.code),
        before=None if transition.source is None else str(transition.source),
        after=None if transition.target is None else str(transition.target),
        payload={**payload, "warnings": list(transition.warnings)},
    )


@dataclass
class PendingAudit:
    """The machine's listener on the desk's hot paths (apply, issue): it keeps each fired event
    as column values, and `write` inserts them with one Core statement once the case (and the
    certificate) have their ids. No ORM unit of work: it cost more than the round trips."""

    actor: Actor
    election_id: int
    precinct_id: int
    payload: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, transition: Transition) -> None:
        self.rows.append(
            transition_values(
                transition,
                self.actor,
                election_id=self.election_id,
                precinct_id=self.precinct_id,
                payload=self.payload,
            )
        )

    def name_certificate(self, certificate_id: int, serial: int) -> None:
        """The last event produced this certificate: it names it, and its serial."""
        if not self.rows:
            raise RuntimeError("name a certificate only after the machine has fired")
        last = self.rows[-1]
        last["certificate_id"] = certificate_id
        last["payload"] = {**last["payload"], "serial": serial}

    def write(self, session: Session, case_id: int) -> None:
        """Insert the pending events of this case, in the order they fired; then none pend."""
        if not self.rows:
            return
        for row in self.rows:
            row["case_id"] = case_id
        # One event is the common case: a single execute, not the driver's executemany.
        rows = self.rows[0] if len(self.rows) == 1 else self.rows
        session.connection().execute(_INSERT_AUDIT_EVENT, rows)
        self.rows = []


_INSERT_AUDIT_EVENT = insert(table_of(AuditEvent))
