"""Refusal codes and the one exception the rules raise."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class RefusalCode(StrEnum):
    """Stable snake_case codes; the first eleven are the ones named in domain.md §6."""

    NOT_ON_LIST = "not_on_list"
    WINDOW_CLOSED = "window_closed"
    ALREADY_ISSUED = "already_issued"
    SAME_LOCALITY = "same_locality"
    PROXY_INVALID = "proxy_invalid"
    INVALID_IIN = "invalid_iin"
    NOT_VOTING_HOURS = "not_voting_hours"
    NOT_FOUND = "not_found"
    FORGED = "forged"
    ALREADY_USED = "already_used"
    VOID = "void"
    # Ours: outcomes the law implies but does not name.
    MISTYPED_NUMBER = "mistyped_number"
    INVALID_TRANSITION = "invalid_transition"
    POLICY_FORBIDS = "policy_forbids"
    NO_STOCK = "no_stock"
    REASON_REQUIRED = "reason_required"
    IDENTITY_NOT_CONFIRMED = "identity_not_confirmed"
    # A certificate of another election presented here (its number or seal names that election).
    WRONG_ELECTION = "wrong_election"
    # This kind of election has no absentee certificates at all (the indirect Senate vote).
    NO_CERTIFICATES = "no_certificates"
    # Re-listing (the akimat moves a voter to another list): refused while the voter holds a
    # live application or certificate, and once voting day has begun.
    HOLDS_CERTIFICATE = "holds_certificate"
    RELISTING_CLOSED = "relisting_closed"
    OTHER = "other"


# Codes a commission may pick when it refuses an application it has received.
MANUAL_REFUSAL_CODES: frozenset[RefusalCode] = frozenset(
    {
        RefusalCode.NOT_ON_LIST,
        RefusalCode.WINDOW_CLOSED,
        RefusalCode.ALREADY_ISSUED,
        RefusalCode.SAME_LOCALITY,
        RefusalCode.PROXY_INVALID,
        RefusalCode.INVALID_IIN,
        RefusalCode.IDENTITY_NOT_CONFIRMED,
        RefusalCode.OTHER,
    }
)


class RuleViolation(Exception):
    """A legal rule said no: `code` is stable, `message` is English, `params` feed translations."""

    def __init__(
        self, code: RefusalCode, message: str, params: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.params: Mapping[str, str] = MappingProxyType(dict(params or {}))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleViolation) and (
            self.code,
            self.message,
            dict(self.params),
        ) == (other.code, other.message, dict(other.params))

    def __hash__(self) -> int:
        return hash((self.code, self.message))
