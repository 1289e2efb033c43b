"""Factories for the pure workflow's tests: no app, no database, no clock.

Contexts built here pass every guard unless a test overrides a field, so a refusal in a test is
caused by the one thing that test changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from workflow.calendar import ElectionRules, Moment, zone
from workflow.errors import RefusalCode
from workflow.machine import (
    ApplyContext,
    CaseMachine,
    IssueContext,
    PresentationContext,
    ReasonContext,
    RefuseContext,
    SurrenderContext,
    Transition,
)
from workflow.rules import PrecinctRef, Representative
from workflow.states import CaseState, CertificateState, Event

ORAL = "Asia/Oral"  # West Kazakhstan: UTC+5 in 2022
ALMATY = "Asia/Almaty"  # UTC+6 in 2022, UTC+5 from 1 March 2024

VOTER_IIN = "900101300017"
REPRESENTATIVE_IIN = "740315450128"

ORAL_KATO = "271010000"
AKTOBE_KATO = "151010000"
ALMATY_ALMALY_KATO = "751110000"
ALMATY_AUEZOV_KATO = "751210000"
ALMATY_BOSTANDYK_KATO = "751510000"
NUR_SULTAN_YESIL_KATO = "711210000"
SHYMKENT_ABAI_KATO = "791610000"

HOME = PrecinctRef(id=101, locality_kato=ORAL_KATO, number="101")
HOME_LOCALITY_OTHER = PrecinctRef(id=102, locality_kato="27-10-10-000", number="102")
ELSEWHERE = PrecinctRef(id=501, locality_kato=ALMATY_ALMALY_KATO, number="501")

RULES_2022 = ElectionRules(
    issue_opens_on=date(2022, 5, 20),
    issue_deadline_on=date(2022, 6, 4),
    voting_day=date(2022, 6, 5),
)


def local_moment(
    zone_name: str, year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0
) -> Moment:
    """A Moment at a wall-clock time in `zone_name`, carried as the server's UTC `now`."""
    wall = datetime(year, month, day, hour, minute, second, tzinfo=zone(zone_name))
    return Moment(now=wall.astimezone(UTC), zone_name=zone_name)


def utc_moment(
    zone_name: str, year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0
) -> Moment:
    """A Moment at a UTC instant, acted on at a precinct in `zone_name`."""
    return Moment(
        now=datetime(year, month, day, hour, minute, second, tzinfo=UTC), zone_name=zone_name
    )


class FakeCase:
    """Stands in for a model row: the machine's only handle is the private `_state`."""

    def __init__(self, state: CaseState | None = None) -> None:
        self._state = state


@dataclass
class ListenerSpy:
    """Records every transition a machine reports."""

    calls: list[Transition] = field(default_factory=list)

    def __call__(self, transition: Transition) -> None:
        self.calls.append(transition)


@dataclass
class Bound:
    """A fake case, the machine bound to it and a spy listening to the machine."""

    case: FakeCase
    machine: CaseMachine
    spy: ListenerSpy


def bind(state: CaseState | None = None) -> Bound:
    case = FakeCase(state)
    spy = ListenerSpy()
    return Bound(case=case, machine=CaseMachine(case, [spy]), spy=spy)


def representative(**changes: Any) -> Representative:
    base = Representative(
        iin=REPRESENTATIVE_IIN,
        full_name="Айгүл Серікқызы Нұрланова",
        identity_document="ID 012345678",
        power_of_attorney_number="17",
        power_of_attorney_date=date(2022, 5, 21),
    )
    return replace(base, **changes)


def in_window(zone_name: str = ORAL) -> Moment:
    return local_moment(zone_name, 2022, 5, 25, 11)


def in_voting_hours(zone_name: str = ALMATY) -> Moment:
    return local_moment(zone_name, 2022, 6, 5, 12)


def apply_context(**changes: Any) -> ApplyContext:
    base = ApplyContext(
        moment=in_window(),
        rules=RULES_2022,
        voter_iin=VOTER_IIN,
        on_this_list=True,
        has_live_case=False,
        home_locality_kato=ORAL_KATO,
        stay_locality_kato=ALMATY_ALMALY_KATO,
    )
    return replace(base, **changes)


def refuse_context(**changes: Any) -> RefuseContext:
    return replace(RefuseContext(moment=in_window(), code=RefusalCode.NOT_ON_LIST), **changes)


def reason_context(**changes: Any) -> ReasonContext:
    return replace(ReasonContext(moment=in_window(), reason="written reason"), **changes)


def issue_context(**changes: Any) -> IssueContext:
    return replace(IssueContext(moment=in_window(), rules=RULES_2022), **changes)


def surrender_context(**changes: Any) -> SurrenderContext:
    base = SurrenderContext(moment=in_window(), rules=RULES_2022, reason="plans changed")
    return replace(base, **changes)


def presentation_context(**changes: Any) -> PresentationContext:
    """Presented at a precinct in another locality (Almaty) during its voting hours."""
    base = PresentationContext(
        moment=in_voting_hours(ALMATY),
        rules=RULES_2022,
        certificate_state=CertificateState.ISSUED,
        home=HOME,
        receiving=ELSEWHERE,
    )
    return replace(base, **changes)


def return_home_context(**changes: Any) -> PresentationContext:
    """Presented at the home precinct (Oral) during its voting hours."""
    base = presentation_context(moment=in_voting_hours(ORAL), receiving=HOME)
    return replace(base, **changes)


# One way to fire each event with every guard passing.
PASSING: dict[Event, Callable[[CaseMachine], Transition]] = {
    Event.APPLY: lambda m: m.apply(apply_context()),
    Event.REFUSE: lambda m: m.refuse(refuse_context()),
    Event.WITHDRAW: lambda m: m.withdraw(reason_context()),
    Event.ISSUE: lambda m: m.issue(issue_context()),
    Event.SPOIL: lambda m: m.spoil(reason_context()),
    Event.REPORT_LOST: lambda m: m.report_lost(reason_context()),
    Event.SURRENDER: lambda m: m.surrender(surrender_context()),
    Event.INCLUDE: lambda m: m.present(presentation_context()),
    Event.RETURN_HOME: lambda m: m.present(return_home_context()),
}

# One way to fire each event with a guard failing, and the code that failure gives.
# Withdraw has no guard (domain.md §6: "—"), so it has no failing variant.
FAILING: dict[Event, tuple[Callable[[CaseMachine], Transition], RefusalCode]] = {
    Event.APPLY: (lambda m: m.apply(apply_context(on_this_list=False)), RefusalCode.NOT_ON_LIST),
    Event.REFUSE: (
        lambda m: m.refuse(refuse_context(code=RefusalCode.OTHER, note=" ")),
        RefusalCode.REASON_REQUIRED,
    ),
    Event.ISSUE: (
        lambda m: m.issue(issue_context(moment=local_moment(ORAL, 2022, 6, 4, 18))),
        RefusalCode.WINDOW_CLOSED,
    ),
    Event.SPOIL: (lambda m: m.spoil(reason_context(reason="")), RefusalCode.REASON_REQUIRED),
    Event.REPORT_LOST: (
        lambda m: m.report_lost(reason_context(reason="\t")),
        RefusalCode.REASON_REQUIRED,
    ),
    Event.SURRENDER: (
        lambda m: m.surrender(surrender_context(moment=local_moment(ORAL, 2022, 6, 4, 18))),
        RefusalCode.WINDOW_CLOSED,
    ),
    Event.INCLUDE: (
        lambda m: m.present(presentation_context(moment=local_moment(ALMATY, 2022, 6, 5, 20))),
        RefusalCode.NOT_VOTING_HOURS,
    ),
    Event.RETURN_HOME: (
        lambda m: m.present(return_home_context(certificate_state=CertificateState.LOST)),
        RefusalCode.VOID,
    ),
}

ALL_STATES: tuple[CaseState | None, ...] = (None, *CaseState)
