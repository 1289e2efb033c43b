"""The legal rules as plain checks. Each raises RuleViolation with a stable code, or returns."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date

from workflow.calendar import ElectionRules, Moment
from workflow.errors import MANUAL_REFUSAL_CODES, RefusalCode, RuleViolation
from workflow.iin import parse_iin
from workflow.locality import same_locality
from workflow.states import CertificateState


@dataclass(frozen=True, slots=True)
class Representative:
    """A proxy (представитель / өкіл) and the particulars of the power of attorney.

    The power of attorney needs no notarisation: its number and date are recorded, nothing more.
    """

    iin: str
    full_name: str
    identity_document: str
    power_of_attorney_number: str
    power_of_attorney_date: date | None


@dataclass(frozen=True, slots=True)
class PrecinctRef:
    """A precinct as the rules see it: an identity and its locality's KATO code."""

    id: int
    locality_kato: str
    number: str = ""


def check_iin(iin: str, *, whose: str = "voter") -> None:
    """Art. 41 §6-1 needs the identity established; a malformed IIN cannot be (domain.md §4)."""
    try:
        parse_iin(iin)
    except RuleViolation as violation:
        raise RuleViolation(
            RefusalCode.INVALID_IIN,
            f"The {whose}'s IIN is not valid: {violation.message}",
            {"whose": whose},
        ) from None


def check_on_list(on_this_list: bool) -> None:
    """Only the commission whose list has the voter may issue (domain.md §1)."""
    if not on_this_list:
        raise RuleViolation(RefusalCode.NOT_ON_LIST, "The voter is not on this precinct's list.")


def check_certificates_exist(rules: ElectionRules) -> None:
    """Some kinds of election have no absentee certificates: nothing is applied for or issued."""
    if not rules.has_window:
        raise RuleViolation(
            RefusalCode.NO_CERTIFICATES, "This election has no absentee certificates."
        )


def check_issue_window(rules: ElectionRules, moment: Moment) -> None:
    """Issue window, half-open: opens <= t < deadline, in the acting precinct's local time.

    Inclusive at the opening instant (20 May 00:00), exclusive at the deadline (4 June 18:00):
    17:59:59 is in, 18:00:00 is out (domain.md §3).
    """
    check_certificates_exist(rules)
    opens, deadline = rules.issue_window(moment.zone_name)
    if not opens <= moment.now < deadline:
        raise RuleViolation(
            RefusalCode.WINDOW_CLOSED,
            "Certificates are issued only within the issue window.",
            {"opens": opens.isoformat(), "deadline": deadline.isoformat()},
        )


def check_voting_hours(rules: ElectionRules, moment: Moment) -> None:
    """Voting hours on voting day, half-open: 07:00 <= t < 20:00 local at the receiving precinct."""
    opens, closes = rules.voting_hours(moment.zone_name)
    if not opens <= moment.now < closes:
        raise RuleViolation(
            RefusalCode.NOT_VOTING_HOURS,
            "Voters are included only during voting hours on voting day.",
            {
                "opens": opens.isoformat(),
                "closes": closes.isoformat(),
                "local_time": moment.local.isoformat(),
            },
        )


def check_no_live_case(has_live_case: bool) -> None:
    """One voter, one live application or certificate per election, anywhere (domain.md §6)."""
    if has_live_case:
        raise RuleViolation(
            RefusalCode.ALREADY_ISSUED,
            "The voter already has an application or a certificate in this election.",
        )


def check_stay_not_home_locality(home_kato: str, stay_kato: str) -> None:
    """No certificate to vote elsewhere in the same locality: localities compared, not precincts."""
    if same_locality(home_kato, stay_kato):
        raise RuleViolation(
            RefusalCode.SAME_LOCALITY,
            "No certificate is issued to vote at another precinct of the same locality.",
        )


def check_representative(representative: Representative, voter_iin: str, today: date) -> None:
    """A proxy needs a power of attorney (number and date, not in the future) and is not the voter.

    No notarisation is required (art. 41 §6-1 as applied to the 2022 referendum).
    """
    check_iin(representative.iin, whose="representative")
    problems = []
    if representative.iin == voter_iin:
        problems.append("the representative cannot be the voter")
    if not representative.full_name.strip():
        problems.append("the representative's name is missing")
    if not representative.identity_document.strip():
        problems.append("the representative's identity document is missing")
    if not representative.power_of_attorney_number.strip():
        problems.append("the power of attorney's number is missing")
    poa_date = representative.power_of_attorney_date
    if poa_date is None:
        problems.append("the power of attorney's date is missing")
    elif poa_date > today:
        problems.append("the power of attorney is dated in the future")
    if problems:
        raise RuleViolation(
            RefusalCode.PROXY_INVALID,
            "The representative cannot apply: " + "; ".join(problems) + ".",
        )


def check_stock(stock_available: bool) -> None:
    """Strict-accountability forms: an issue needs a number from the precinct's stock (§7)."""
    if not stock_available:
        raise RuleViolation(
            RefusalCode.NO_STOCK, "This precinct has no unused certificate numbers."
        )


def check_reason(reason: str) -> None:
    """Corrections are recorded with a reason, so the accountability trail can be followed."""
    if not reason.strip():
        raise RuleViolation(RefusalCode.REASON_REQUIRED, "A reason is required.")


def check_refusal_reason(code: RefusalCode | str, note: str) -> None:
    """A commission's refusal names one of the known grounds; 'other' needs a written note."""
    try:
        ground = RefusalCode(code)
    except ValueError:
        ground = None
    if ground is None or ground not in MANUAL_REFUSAL_CODES:
        raise RuleViolation(RefusalCode.REASON_REQUIRED, f"'{code}' is not a refusal ground.")
    if ground is RefusalCode.OTHER:
        check_reason(note)


def check_policy(allowed: bool, what: str) -> None:
    """An election's policy switch; the law leaves these to the election (domain.md §6)."""
    if not allowed:
        raise RuleViolation(
            RefusalCode.POLICY_FORBIDS,
            f"This election's rules do not allow {what}.",
            {"what": what},
        )


def check_before_deadline(rules: ElectionRules, moment: Moment) -> None:
    """Surrender is taken only before the issue deadline at the issuing precinct (exclusive)."""
    check_certificates_exist(rules)
    _, deadline = rules.issue_window(moment.zone_name)
    if moment.now >= deadline:
        raise RuleViolation(
            RefusalCode.WINDOW_CLOSED,
            "A certificate can be handed back only before the issue deadline.",
            {"deadline": deadline.isoformat()},
        )


def check_certificate_usable(state: CertificateState) -> None:
    """A certificate is taken in once; a lost, spoilt or cancelled one is void for ever."""
    if state in (CertificateState.USED, CertificateState.RETURNED):
        raise RuleViolation(RefusalCode.ALREADY_USED, "This certificate has already been used.")
    if state in (CertificateState.LOST, CertificateState.SPOILT, CertificateState.CANCELLED):
        raise RuleViolation(
            RefusalCode.VOID, f"This certificate is void: it was {state}.", {"state": state}
        )


def check_certificate_authentic(expected_code: str, presented_code: str) -> None:
    """The verification code printed on the form must match the one recorded at issue."""
    if not hmac.compare_digest(
        expected_code.strip().upper().encode(), presented_code.strip().upper().encode()
    ):
        raise RuleViolation(
            RefusalCode.FORGED, "The verification code does not match this certificate."
        )


def check_relisting(rules: ElectionRules, moment: Moment, has_live_case: bool) -> None:
    """Re-listing (the akimat moves a voter from one list to another) before voting day.

    A voter is on one list only (domain.md §10): a voter with a live application or certificate
    stays where the certificate's home mark is, so the move is refused. Once voting day begins at
    the voter's precinct (voting hours' opening, inclusive), the lists are final.
    """
    if has_live_case:
        raise RuleViolation(
            RefusalCode.HOLDS_CERTIFICATE,
            "The voter has an application or a certificate in this election: the list entry "
            "cannot move.",
        )
    opens, _closes = rules.voting_hours(moment.zone_name)
    if moment.now >= opens:
        raise RuleViolation(
            RefusalCode.RELISTING_CLOSED,
            "Voting has begun: the voter lists can no longer be changed.",
            {"opens": opens.isoformat()},
        )


def check_receiving_locality(
    rules: ElectionRules, home: PrecinctRef, receiving: PrecinctRef
) -> None:
    """Inclusion elsewhere in the home locality is refused; the voter goes to the home precinct."""
    if (
        rules.refuse_inclusion_in_home_locality
        and receiving.id != home.id
        and same_locality(home.locality_kato, receiving.locality_kato)
    ):
        raise RuleViolation(
            RefusalCode.SAME_LOCALITY,
            "This precinct is in the voter's home locality: the voter votes at the home precinct.",
            {"home_precinct_id": str(home.id), "home_precinct_number": home.number},
        )
