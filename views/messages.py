"""Words the screens show for the workflow's codes, in the user's language."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workflow.errors import RefusalCode, RuleViolation
from workflow.states import CaseState, CertificateState

REFUSALS = {
    RefusalCode.NOT_ON_LIST: _l("The voter is not on this precinct's voter list."),
    RefusalCode.WINDOW_CLOSED: _l(
        "Certificates are issued only from the opening of the issue window until its deadline, "
        "local time of this precinct."
    ),
    RefusalCode.ALREADY_ISSUED: _l(
        "The voter already has an application or a certificate in this election."
    ),
    RefusalCode.SAME_LOCALITY: _l(
        "No certificate is issued to vote at another polling station in the same locality."
    ),
    RefusalCode.PROXY_INVALID: _l(
        "The representative cannot apply: the power of attorney's particulars are missing or "
        "wrong, or the representative is the voter."
    ),
    RefusalCode.INVALID_IIN: _l("The IIN is not valid."),
    RefusalCode.NOT_VOTING_HOURS: _l("Voters are included only during voting hours."),
    RefusalCode.NOT_FOUND: _l("No certificate has this number."),
    RefusalCode.FORGED: _l("The certificate's verification code or signature does not match."),
    RefusalCode.ALREADY_USED: _l("This certificate has already been used."),
    RefusalCode.VOID: _l("This certificate is void (lost, spoilt or handed back)."),
    RefusalCode.MISTYPED_NUMBER: _l("The number is mistyped: its check digit does not match."),
    RefusalCode.INVALID_TRANSITION: _l("This action is not possible in the case's current state."),
    RefusalCode.POLICY_FORBIDS: _l("This election's rules do not allow this."),
    RefusalCode.NO_STOCK: _l("This precinct has no unused certificate forms left."),
    RefusalCode.REASON_REQUIRED: _l("A reason is required."),
    RefusalCode.IDENTITY_NOT_CONFIRMED: _l("The applicant's identity could not be confirmed."),
    RefusalCode.OTHER: _l("Other ground (see the explanation)."),
}

CASE_STATES = {
    CaseState.RECEIVED: _l("received"),
    CaseState.REFUSED: _l("refused"),
    CaseState.WITHDRAWN: _l("withdrawn"),
    CaseState.ISSUED: _l("issued"),
    CaseState.LOST: _l("lost"),
    CaseState.CANCELLED: _l("cancelled"),
    CaseState.INCLUDED: _l("included elsewhere"),
    CaseState.RETURNED: _l("returned home"),
}

CERTIFICATE_STATES = {
    CertificateState.ISSUED: _l("issued"),
    CertificateState.SPOILT: _l("spoilt"),
    CertificateState.LOST: _l("lost"),
    CertificateState.CANCELLED: _l("cancelled"),
    CertificateState.USED: _l("used"),
    CertificateState.RETURNED: _l("returned"),
}

EVENTS = {
    "apply": _l("application"),
    "refuse": _l("refusal"),
    "withdraw": _l("withdrawal"),
    "issue": _l("issue"),
    "spoil": _l("spoilt form"),
    "report_lost": _l("reported lost"),
    "surrender": _l("handed back"),
    "include": _l("inclusion"),
    "return_home": _l("returned home"),
    "print": _l("print"),
}


def refusal_text(code: str | None) -> str:
    if code is None:
        return ""
    try:
        return str(REFUSALS[RefusalCode(code)])
    except (ValueError, KeyError):
        return code


def violation_text(violation: RuleViolation) -> str:
    return refusal_text(str(violation.code))


def state_text(state: str) -> str:
    try:
        return str(CASE_STATES[CaseState(state)])
    except ValueError:
        return state


def certificate_state_text(state: str) -> str:
    try:
        return str(CERTIFICATE_STATES[CertificateState(state)])
    except ValueError:
        return state


def event_text(event: str) -> str:
    label = EVENTS.get(event)
    return str(label) if label is not None else event


def warning_text(code: str) -> str:
    if code == "representative_threshold":
        return _(
            "Warning: this representative has already collected more certificates than the "
            "election's threshold. Check the power of attorney carefully."
        )
    return code
