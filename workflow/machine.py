"""The certificate case machine (domain.md §6), bound to one case object at call time.

The machine owns the case's state: it writes the private `_state` attribute of whatever it is
bound to, and nothing else may. Guards run before the transition table so that the most
specific legal reason is reported (an already used certificate says `already_used`, not that the
case is in the wrong state). A refused event leaves the case as it was, except `apply`, whose
refusal is itself the outcome: the application is recorded as `refused`, so it can be appealed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from workflow.calendar import ElectionRules, Moment
from workflow.errors import RefusalCode, RuleViolation
from workflow.rules import (
    PrecinctRef,
    Representative,
    check_before_deadline,
    check_certificate_usable,
    check_certificates_exist,
    check_iin,
    check_issue_window,
    check_no_live_case,
    check_on_list,
    check_policy,
    check_reason,
    check_receiving_locality,
    check_refusal_reason,
    check_representative,
    check_stay_not_home_locality,
    check_stock,
    check_voting_hours,
)
from workflow.states import TRANSITIONS, CaseState, CertificateState, Event


class StatefulCase(Protocol):
    """Anything with a private `_state`; the machine is its only writer."""

    _state: CaseState | None


@dataclass(frozen=True, slots=True)
class ApplyContext:
    """Everything `apply` needs, gathered by the service from the database."""

    moment: Moment
    rules: ElectionRules
    voter_iin: str
    on_this_list: bool
    has_live_case: bool
    home_locality_kato: str
    stay_locality_kato: str
    representative: Representative | None = None
    # Certificates this representative already collected in the election (for the warning).
    representative_prior_count: int = 0


@dataclass(frozen=True, slots=True)
class IssueContext:
    moment: Moment
    rules: ElectionRules
    # Whether the precinct still holds an unused number (peeked by the service before issue).
    stock_available: bool = True


@dataclass(frozen=True, slots=True)
class ReasonContext:
    """Withdraw, spoil and report lost: a correction with a written reason."""

    moment: Moment
    reason: str


@dataclass(frozen=True, slots=True)
class RefuseContext:
    moment: Moment
    code: RefusalCode
    note: str = ""


@dataclass(frozen=True, slots=True)
class SurrenderContext:
    moment: Moment
    rules: ElectionRules
    reason: str


@dataclass(frozen=True, slots=True)
class PresentationContext:
    """A certificate presented on voting day at `receiving` (its zone is the moment's)."""

    moment: Moment
    rules: ElectionRules
    certificate_state: CertificateState
    home: PrecinctRef
    receiving: PrecinctRef


@dataclass(frozen=True, slots=True)
class Transition:
    """What one event did: accepted (refusal is None) or refused (the case kept `source`)."""

    event: Event
    source: CaseState | None
    target: CaseState | None
    moment: Moment
    refusal: RuleViolation | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        return self.refusal is None


TransitionListener = Callable[[Transition], None]


def presentation_event(home_precinct_id: int, receiving_precinct_id: int) -> Event:
    """At the home precinct a certificate is surrendered (return home); elsewhere, included."""
    return Event.RETURN_HOME if home_precinct_id == receiving_precinct_id else Event.INCLUDE


class CaseMachine:
    """Fires events on one bound case; listeners (the audit writer) see every outcome."""

    def __init__(self, case: StatefulCase, listeners: Sequence[TransitionListener] = ()) -> None:
        self._case = case
        self._listeners = tuple(listeners)

    @property
    def state(self) -> CaseState | None:
        return self._case._state

    def apply(self, ctx: ApplyContext) -> Transition:
        """Receive an application; a failed guard records it as refused, never loses it."""

        def guard() -> None:
            check_certificates_exist(ctx.rules)
            check_iin(ctx.voter_iin)
            check_on_list(ctx.on_this_list)
            check_issue_window(ctx.rules, ctx.moment)
            check_no_live_case(ctx.has_live_case)
            check_stay_not_home_locality(ctx.home_locality_kato, ctx.stay_locality_kato)
            if ctx.representative is not None:
                check_representative(ctx.representative, ctx.voter_iin, ctx.moment.local.date())

        warnings: tuple[str, ...] = ()
        if (
            ctx.representative is not None
            and ctx.representative_prior_count + 1 > ctx.rules.proxy_warning_threshold
        ):
            warnings = ("representative_threshold",)
        return self._fire(Event.APPLY, ctx.moment, guard, warnings, refused_to=CaseState.REFUSED)

    def refuse(self, ctx: RefuseContext) -> Transition:
        return self._fire(
            Event.REFUSE, ctx.moment, lambda: check_refusal_reason(ctx.code, ctx.note)
        )

    def withdraw(self, ctx: ReasonContext) -> Transition:
        """The applicant may always take a received application back (no guard in §6)."""
        return self._fire(Event.WITHDRAW, ctx.moment, lambda: None)

    def issue(self, ctx: IssueContext) -> Transition:
        """The issue timestamp decides, not the application's (domain.md §3)."""

        def guard() -> None:
            check_issue_window(ctx.rules, ctx.moment)
            check_stock(ctx.stock_available)

        return self._fire(Event.ISSUE, ctx.moment, guard)

    def spoil(self, ctx: ReasonContext) -> Transition:
        return self._fire(Event.SPOIL, ctx.moment, lambda: check_reason(ctx.reason))

    def report_lost(self, ctx: ReasonContext) -> Transition:
        """A lost certificate is not restored and no duplicate is issued; the home mark stays."""
        return self._fire(Event.REPORT_LOST, ctx.moment, lambda: check_reason(ctx.reason))

    def surrender(self, ctx: SurrenderContext) -> Transition:
        def guard() -> None:
            check_policy(ctx.rules.allow_surrender, "handing a certificate back")
            check_before_deadline(ctx.rules, ctx.moment)
            check_reason(ctx.reason)

        return self._fire(Event.SURRENDER, ctx.moment, guard)

    def present(self, ctx: PresentationContext) -> Transition:
        """Voting day: include elsewhere, or take the certificate back at the home precinct."""
        event = presentation_event(ctx.home.id, ctx.receiving.id)

        def guard() -> None:
            check_voting_hours(ctx.rules, ctx.moment)
            check_certificate_usable(ctx.certificate_state)
            if event is Event.RETURN_HOME:
                check_policy(ctx.rules.allow_return_home, "voting at home after surrender")
            else:
                check_receiving_locality(ctx.rules, ctx.home, ctx.receiving)

        return self._fire(event, ctx.moment, guard)

    def _fire(
        self,
        event: Event,
        moment: Moment,
        guard: Callable[[], None],
        warnings: tuple[str, ...] = (),
        refused_to: CaseState | None = None,
    ) -> Transition:
        source = self._case._state
        refusal: RuleViolation | None = None
        try:
            guard()
        except RuleViolation as violation:
            refusal = violation
        target = TRANSITIONS.get((source, event))
        if refusal is None and target is None:
            refusal = RuleViolation(
                RefusalCode.INVALID_TRANSITION,
                f"A case that is {source or 'new'} cannot take '{event}'.",
                {"state": str(source or ""), "event": str(event)},
            )
        if refusal is not None:
            # An apply that fails becomes a refused application; any other event changes nothing.
            target = refused_to if source is None and target is not None else source
            warnings = ()
        self._case._state = target
        transition = Transition(event, source, target, moment, refusal, warnings)
        for listener in self._listeners:
            listener(transition)
        return transition
