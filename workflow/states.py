"""States of a certificate case and of a certificate number, and the events between them."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class CaseState(StrEnum):
    """State of one application (domain.md §6)."""

    RECEIVED = "received"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    ISSUED = "issued"
    LOST = "lost"
    CANCELLED = "cancelled"
    INCLUDED = "included"
    RETURNED = "returned"


# A live case blocks another application by the same voter in the same election.
LIVE_CASE_STATES: frozenset[CaseState] = frozenset(
    {CaseState.RECEIVED, CaseState.ISSUED, CaseState.LOST, CaseState.INCLUDED, CaseState.RETURNED}
)


class CertificateState(StrEnum):
    """What became of one serial number once it was put on a form (domain.md §7)."""

    ISSUED = "issued"
    SPOILT = "spoilt"
    LOST = "lost"
    CANCELLED = "cancelled"
    USED = "used"
    RETURNED = "returned"


# A live certificate is the one that counts for the voter: at most one per voter per election.
LIVE_CERTIFICATE_STATES: frozenset[CertificateState] = frozenset(
    {
        CertificateState.ISSUED,
        CertificateState.LOST,
        CertificateState.USED,
        CertificateState.RETURNED,
    }
)


class Event(StrEnum):
    """Events of the case machine."""

    APPLY = "apply"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"
    ISSUE = "issue"
    SPOIL = "spoil"
    REPORT_LOST = "report_lost"
    SURRENDER = "surrender"
    INCLUDE = "include"
    RETURN_HOME = "return_home"


class ApplicantKind(StrEnum):
    """Who stood at the desk: the voter, or a representative with a power of attorney."""

    VOTER = "voter"
    REPRESENTATIVE = "representative"


# Where the case goes for each accepted event; a pair not listed is an invalid transition.
TRANSITIONS: dict[tuple[CaseState | None, Event], CaseState] = {
    (None, Event.APPLY): CaseState.RECEIVED,
    (CaseState.RECEIVED, Event.REFUSE): CaseState.REFUSED,
    (CaseState.RECEIVED, Event.WITHDRAW): CaseState.WITHDRAWN,
    (CaseState.RECEIVED, Event.ISSUE): CaseState.ISSUED,
    (CaseState.ISSUED, Event.SPOIL): CaseState.RECEIVED,
    (CaseState.ISSUED, Event.REPORT_LOST): CaseState.LOST,
    (CaseState.ISSUED, Event.SURRENDER): CaseState.CANCELLED,
    (CaseState.ISSUED, Event.INCLUDE): CaseState.INCLUDED,
    (CaseState.ISSUED, Event.RETURN_HOME): CaseState.RETURNED,
}

# What the certificate in hand becomes with each event that touches it.
CERTIFICATE_TARGETS: dict[Event, CertificateState] = {
    Event.ISSUE: CertificateState.ISSUED,
    Event.SPOIL: CertificateState.SPOILT,
    Event.REPORT_LOST: CertificateState.LOST,
    Event.SURRENDER: CertificateState.CANCELLED,
    Event.INCLUDE: CertificateState.USED,
    Event.RETURN_HOME: CertificateState.RETURNED,
}


PublicStatus = Literal["valid", "used", "void"]

# What anyone checking a certificate learns: it still gives a vote elsewhere (valid), it was
# taken in, at another precinct or back home (used), or it was voided (lost, spoilt, cancelled).
PUBLIC_STATUS: dict[CertificateState, PublicStatus] = {
    CertificateState.ISSUED: "valid",
    CertificateState.USED: "used",
    CertificateState.RETURNED: "used",
    CertificateState.LOST: "void",
    CertificateState.SPOILT: "void",
    CertificateState.CANCELLED: "void",
}
