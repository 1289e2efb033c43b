"""Words the screens show for the workflow's codes, in the user's language."""

from __future__ import annotations

from collections.abc import Mapping

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
    RefusalCode.WRONG_ELECTION: _l("This certificate is for another election."),
    RefusalCode.NO_CERTIFICATES: _l("This election has no absentee certificates."),
    RefusalCode.HOLDS_CERTIFICATE: _l(
        "The voter has an application or a certificate in this election: the list entry cannot "
        "move."
    ),
    RefusalCode.RELISTING_CLOSED: _l("Voting has begun: the voter lists can no longer change."),
    RefusalCode.OTHER: _l("Other ground (see the explanation)."),
}

# Why an election's data or a change to it was refused, by the workflow's code.
ELECTION_PROBLEMS = {
    "required": _l("This field is required."),
    "too_long": _l("At most %(limit)s characters."),
    "code_format": _l("1 to 40 Latin letters, digits, hyphens or underscores."),
    "code_taken": _l("Another election already has this code."),
    "unknown_kind": _l("Choose a kind of election from the list."),
    "series_format": _l("A number series is %(digits)s digits."),
    "series_taken": _l("Another election already prints this number series."),
    "out_of_range": _l("A whole number from %(first)s to %(last)s."),
    "day_out_of_range": _l("Choose a date between %(first)s and %(last)s."),
    "hours_order": _l("Voting closes after it opens, on the same day."),
    "window_order": _l("The issue deadline comes after the window opens."),
    "deadline_after_voting": _l("The issue deadline is no later than the opening of voting."),
    "window_without_certificates": _l(
        "This kind of election has no absentee certificates: leave the issue window empty."
    ),
    "election_closed": _l("Voting is over: a closed election stays as it was, for ever."),
    "frozen_once_open": _l(
        "The issue window has opened: this is printed on issued certificates and no longer changes."
    ),
    "correction_needs_reason": _l(
        "The issue window has opened: a change is a correction and needs its written reason "
        "(a court's decision, the commission's resolution)."
    ),
    "window_already_open": _l(
        "The issue window has already opened: a correction cannot move its opening back into "
        "the future."
    ),
    "unknown_field": _l("This field cannot be changed."),
}

ELECTION_KINDS = {
    "referendum": _l("referendum"),
    "presidential": _l("presidential election"),
    "mazhilis": _l("Mazhilis election"),
    "maslikhat": _l("maslikhat election"),
    "by_election": _l("by-election"),
    "senate": _l("Senate election (indirect: no absentee certificates)"),
}

MAP_LABELS = {
    "kz-2022": _l("The regions as of June 2022 (17, with Nur-Sultan)"),
    "kz-2026": _l("The regions as of March 2026 (20, with Astana)"),
}

IMPORT_WORDS = {
    "precincts": _l("precincts"),
    "voters": _l("voter list"),
    "add": _l("add"),
    "amend": _l("amend"),
    "replace": _l("replace"),
    "queued": _l("queued"),
    "running": _l("running"),
    "done": _l("done"),
    "failed": _l("failed"),
}

ELECTION_PHASES = {
    "preparing": _l("being prepared"),
    "issuing": _l("issue window open"),
    "awaiting_vote": _l("issue closed, voting not yet begun"),
    "voting": _l("voting under way"),
    "closed": _l("closed"),
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


def election_problem_text(code: str, params: Mapping[str, str]) -> str:
    label = ELECTION_PROBLEMS.get(code)
    if label is None:
        return _("This value is not accepted.")
    return str(label) % dict(params) if params else str(label)


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
