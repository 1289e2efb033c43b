"""Random event sequences on one case against a model read straight off TRANSITIONS."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.workflow.factories import FAILING, PASSING, bind
from workflow.errors import RefusalCode
from workflow.machine import Transition
from workflow.states import TRANSITIONS, CaseState, Event

steps = st.tuples(st.sampled_from(list(Event)), st.booleans())


def expected_outcome(
    state: CaseState | None, event: Event, guards_pass: bool
) -> tuple[CaseState | None, set[RefusalCode] | None]:
    """The model: the state after the event, and the acceptable refusal codes (None: accepted)."""
    target = TRANSITIONS.get((state, event))
    if guards_pass:
        if target is None:
            return state, {RefusalCode.INVALID_TRANSITION}
        return target, None
    codes = {FAILING[event][1]}
    if target is None:
        codes.add(RefusalCode.INVALID_TRANSITION)
    # Only a brand-new application is recorded when refused; everything else stays put.
    return (CaseState.REFUSED if state is None and target is not None else state), codes


def check_step(transition: Transition, before: CaseState | None, event: Event, ok: bool) -> None:
    after, codes = expected_outcome(before, event, ok)
    assert transition.source is before
    assert transition.target is after
    if codes is None:
        assert transition.accepted, transition.refusal
    else:
        assert transition.refusal is not None
        assert transition.refusal.code in codes, transition.refusal


@settings(max_examples=300)
@given(st.lists(steps, max_size=30))
def test_random_sequences_follow_the_table(sequence: list[tuple[Event, bool]]) -> None:
    bound = bind(None)
    model: CaseState | None = None
    for number, (event, ok) in enumerate(sequence, start=1):
        ok = ok or event not in FAILING
        fire = PASSING[event] if ok else FAILING[event][0]
        transition = fire(bound.machine)
        check_step(transition, model, event, ok)
        if not transition.accepted and model is not None:
            assert bound.case._state is model
        model, _ = expected_outcome(model, event, ok)
        assert bound.case._state is model
        assert len(bound.spy.calls) == number
        assert bound.spy.calls[-1] is transition


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_sequences_of_passing_events_only_move_along_the_table(events: list[Event]) -> None:
    bound = bind(None)
    visited = [bound.case._state]
    for event in events:
        before = bound.case._state
        transition = PASSING[event](bound.machine)
        assert transition.accepted is ((before, event) in TRANSITIONS)
        if transition.accepted:
            visited.append(bound.case._state)
    # Every accepted step is an edge of the table.
    for source, target in itertools.pairwise(visited):
        assert target in {t for (s, _), t in TRANSITIONS.items() if s is source}


class CaseLifecycle(RuleBasedStateMachine):
    """Hypothesis drives one case; the model is the table and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.bound = bind(None)
        self.model: CaseState | None = None
        self.fired = 0

    @rule(event=st.sampled_from(list(Event)), ok=st.booleans())
    def fire(self, event: Event, ok: bool) -> None:
        ok = ok or event not in FAILING
        fire = PASSING[event] if ok else FAILING[event][0]
        transition = fire(self.bound.machine)
        check_step(transition, self.model, event, ok)
        self.model, _ = expected_outcome(self.model, event, ok)
        self.fired += 1

    @invariant()
    def state_matches_the_model(self) -> None:
        assert self.bound.case._state is self.model
        assert self.bound.machine.state is self.model

    @invariant()
    def one_listener_call_per_event(self) -> None:
        assert len(self.bound.spy.calls) == self.fired


TestCaseLifecycle = CaseLifecycle.TestCase
TestCaseLifecycle.settings = settings(max_examples=150, stateful_step_count=25)
