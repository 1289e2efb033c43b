"""The case machine against every row of domain.md §6, accepted and refused."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.workflow.factories import (
    ALL_STATES,
    ALMATY,
    ALMATY_ALMALY_KATO,
    ALMATY_AUEZOV_KATO,
    ALMATY_BOSTANDYK_KATO,
    ELSEWHERE,
    FAILING,
    HOME,
    HOME_LOCALITY_OTHER,
    ORAL,
    ORAL_KATO,
    PASSING,
    RULES_2022,
    VOTER_IIN,
    Bound,
    FakeCase,
    ListenerSpy,
    apply_context,
    bind,
    issue_context,
    local_moment,
    presentation_context,
    reason_context,
    refuse_context,
    representative,
    return_home_context,
    surrender_context,
    utc_moment,
)
from workflow.calendar import ElectionRules
from workflow.errors import MANUAL_REFUSAL_CODES, RefusalCode, RuleViolation
from workflow.machine import CaseMachine, Transition, presentation_event
from workflow.rules import PrecinctRef, check_receiving_locality
from workflow.states import TRANSITIONS, CaseState, CertificateState, Event


def state_id(state: CaseState | None) -> str:
    return "new" if state is None else str(state)


def assert_refused(
    bound: Bound, transition: Transition, code: RefusalCode, state: CaseState | None
) -> None:
    """Refused with `code`, the case left in (or, for apply, recorded as) `state`."""
    assert not transition.accepted
    assert transition.refusal is not None
    assert transition.refusal.code == code, transition.refusal
    assert transition.target is state
    assert bound.case._state is state
    assert transition.warnings == ()
    assert bound.spy.calls == [transition]


def assert_accepted(bound: Bound, transition: Transition, state: CaseState) -> None:
    assert transition.accepted, transition.refusal
    assert transition.refusal is None
    assert transition.target is state
    assert bound.case._state is state
    assert bound.machine.state is state
    assert bound.spy.calls == [transition]


def with_rules(**changes: Any) -> ElectionRules:
    return ElectionRules(
        issue_opens_on=RULES_2022.issue_opens_on,
        issue_deadline_on=RULES_2022.issue_deadline_on,
        voting_day=RULES_2022.voting_day,
        **changes,
    )


# --- apply ---------------------------------------------------------------------------------------


def test_apply_in_person_is_received(new_case: Bound) -> None:
    ctx = apply_context()
    transition = new_case.machine.apply(ctx)
    assert_accepted(new_case, transition, CaseState.RECEIVED)
    assert transition.event is Event.APPLY
    assert transition.source is None
    assert transition.moment is ctx.moment
    assert transition.warnings == ()


def test_apply_by_representative_is_received(new_case: Bound) -> None:
    transition = new_case.machine.apply(apply_context(representative=representative()))
    assert_accepted(new_case, transition, CaseState.RECEIVED)


APPLY_REFUSALS = [
    pytest.param({"on_this_list": False}, RefusalCode.NOT_ON_LIST, id="not-on-list"),
    pytest.param(
        {"moment": local_moment(ORAL, 2022, 5, 19, 23, 59, 59)},
        RefusalCode.WINDOW_CLOSED,
        id="before-window",
    ),
    pytest.param(
        {"moment": local_moment(ORAL, 2022, 6, 4, 18)},
        RefusalCode.WINDOW_CLOSED,
        id="at-deadline",
    ),
    pytest.param({"has_live_case": True}, RefusalCode.ALREADY_ISSUED, id="live-case"),
    pytest.param({"stay_locality_kato": ORAL_KATO}, RefusalCode.SAME_LOCALITY, id="stay-is-home"),
    pytest.param(
        {"stay_locality_kato": "27 10 10 000"},
        RefusalCode.SAME_LOCALITY,
        id="stay-is-home-written-differently",
    ),
    pytest.param(
        {"home_locality_kato": ALMATY_ALMALY_KATO, "stay_locality_kato": ALMATY_AUEZOV_KATO},
        RefusalCode.SAME_LOCALITY,
        id="other-almaty-district",
    ),
    pytest.param(
        {"representative": representative(iin=VOTER_IIN)},
        RefusalCode.PROXY_INVALID,
        id="representative-is-voter",
    ),
    pytest.param(
        {"representative": representative(power_of_attorney_number="")},
        RefusalCode.PROXY_INVALID,
        id="no-poa-number",
    ),
    pytest.param(
        {"representative": representative(power_of_attorney_number="   ")},
        RefusalCode.PROXY_INVALID,
        id="blank-poa-number",
    ),
    pytest.param(
        {"representative": representative(power_of_attorney_date=None)},
        RefusalCode.PROXY_INVALID,
        id="no-poa-date",
    ),
    pytest.param(
        {"representative": representative(power_of_attorney_date=date(2022, 5, 26))},
        RefusalCode.PROXY_INVALID,
        id="poa-dated-tomorrow",
    ),
    pytest.param(
        {"representative": representative(full_name="")},
        RefusalCode.PROXY_INVALID,
        id="no-representative-name",
    ),
    pytest.param(
        {"representative": representative(full_name=" \t")},
        RefusalCode.PROXY_INVALID,
        id="blank-representative-name",
    ),
    pytest.param(
        {"representative": representative(identity_document="")},
        RefusalCode.PROXY_INVALID,
        id="no-representative-identity-document",
    ),
    pytest.param({"voter_iin": "900101300018"}, RefusalCode.INVALID_IIN, id="voter-iin"),
    pytest.param(
        {"voter_iin": "９００１０１３０００１７"}, RefusalCode.INVALID_IIN, id="voter-iin-wide"
    ),
    pytest.param(
        {"representative": representative(iin="740315450129")},
        RefusalCode.INVALID_IIN,
        id="representative-iin",
    ),
]


@pytest.mark.parametrize(("changes", "code"), APPLY_REFUSALS)
def test_apply_refused_records_a_refused_case(
    new_case: Bound, changes: dict[str, Any], code: RefusalCode
) -> None:
    transition = new_case.machine.apply(apply_context(**changes))
    assert_refused(new_case, transition, code, CaseState.REFUSED)
    assert transition.source is None
    assert transition.event is Event.APPLY


@pytest.mark.parametrize(
    ("changes", "whose"),
    [
        ({"voter_iin": "123456789012"}, "voter"),
        ({"representative": representative(iin="123456789012")}, "representative"),
    ],
)
def test_invalid_iin_refusal_says_whose_iin(
    new_case: Bound, changes: dict[str, Any], whose: str
) -> None:
    transition = new_case.machine.apply(apply_context(**changes))
    assert transition.refusal is not None
    assert transition.refusal.code == RefusalCode.INVALID_IIN
    assert transition.refusal.params["whose"] == whose


def test_apply_refusal_message_never_contains_the_iin(new_case: Bound) -> None:
    transition = new_case.machine.apply(apply_context(voter_iin="900101300018"))
    assert transition.refusal is not None
    assert "900101300018" not in str(transition.refusal)
    assert "900101300018" not in repr(dict(transition.refusal.params))


def test_poa_dated_today_in_local_time_is_accepted_while_utc_is_still_yesterday(
    new_case: Bound,
) -> None:
    # 00:30 on 26 May in Almaty is 18:30 UTC on 25 May; "today" is the precinct's date.
    moment = local_moment(ALMATY, 2022, 5, 26, 0, 30)
    assert moment.now.date() == date(2022, 5, 25)
    ctx = apply_context(
        moment=moment,
        representative=representative(power_of_attorney_date=date(2022, 5, 26)),
    )
    assert_accepted(new_case, new_case.machine.apply(ctx), CaseState.RECEIVED)


def test_poa_number_and_date_are_enough_without_notarisation(new_case: Bound) -> None:
    rep = representative(
        power_of_attorney_number="12/2022", power_of_attorney_date=date(2022, 1, 1)
    )
    transition = new_case.machine.apply(apply_context(representative=rep))
    assert_accepted(new_case, transition, CaseState.RECEIVED)


# --- the representative warning ------------------------------------------------------------------


def test_representative_over_threshold_gets_a_warning_not_a_refusal(new_case: Bound) -> None:
    ctx = apply_context(representative=representative(), representative_prior_count=3)
    transition = new_case.machine.apply(ctx)
    assert_accepted(new_case, transition, CaseState.RECEIVED)
    assert transition.warnings == ("representative_threshold",)


def test_representative_at_threshold_gets_no_warning(new_case: Bound) -> None:
    ctx = apply_context(representative=representative(), representative_prior_count=2)
    transition = new_case.machine.apply(ctx)
    assert_accepted(new_case, transition, CaseState.RECEIVED)
    assert transition.warnings == ()


def test_representative_threshold_is_a_per_election_setting(new_case: Bound) -> None:
    ctx = apply_context(
        rules=with_rules(proxy_warning_threshold=10),
        representative=representative(),
        representative_prior_count=9,
    )
    assert new_case.machine.apply(ctx).warnings == ()
    second = bind(None)
    ctx = apply_context(
        rules=with_rules(proxy_warning_threshold=10),
        representative=representative(),
        representative_prior_count=10,
    )
    assert second.machine.apply(ctx).warnings == ("representative_threshold",)


def test_refused_apply_carries_no_representative_warning(new_case: Bound) -> None:
    ctx = apply_context(
        on_this_list=False, representative=representative(), representative_prior_count=5
    )
    transition = new_case.machine.apply(ctx)
    assert_refused(new_case, transition, RefusalCode.NOT_ON_LIST, CaseState.REFUSED)


def test_voter_in_person_never_gets_the_representative_warning(new_case: Bound) -> None:
    transition = new_case.machine.apply(apply_context(representative_prior_count=50))
    assert_accepted(new_case, transition, CaseState.RECEIVED)
    assert transition.warnings == ()


# --- refuse and withdraw -------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(MANUAL_REFUSAL_CODES))
def test_refuse_with_a_refusal_ground_is_refused(received_case: Bound, code: RefusalCode) -> None:
    transition = received_case.machine.refuse(refuse_context(code=code, note="see the file"))
    assert_accepted(received_case, transition, CaseState.REFUSED)
    assert transition.source is CaseState.RECEIVED
    assert transition.event is Event.REFUSE


@pytest.mark.parametrize("code", sorted(set(RefusalCode) - MANUAL_REFUSAL_CODES))
def test_refuse_with_a_code_that_is_no_ground_needs_a_reason(
    received_case: Bound, code: RefusalCode
) -> None:
    transition = received_case.machine.refuse(refuse_context(code=code, note="see the file"))
    assert_refused(received_case, transition, RefusalCode.REASON_REQUIRED, CaseState.RECEIVED)


@pytest.mark.parametrize("note", ["", "  ", "\n"])
def test_refuse_as_other_without_a_note_needs_a_reason(received_case: Bound, note: str) -> None:
    transition = received_case.machine.refuse(refuse_context(code=RefusalCode.OTHER, note=note))
    assert_refused(received_case, transition, RefusalCode.REASON_REQUIRED, CaseState.RECEIVED)


def test_refuse_as_other_given_as_plain_text_still_needs_a_note(received_case: Bound) -> None:
    ctx = refuse_context(code="other", note="")
    transition = received_case.machine.refuse(ctx)
    assert_refused(received_case, transition, RefusalCode.REASON_REQUIRED, CaseState.RECEIVED)


def test_refuse_as_other_with_a_note_is_refused(received_case: Bound) -> None:
    transition = received_case.machine.refuse(
        refuse_context(code=RefusalCode.OTHER, note="applicant left before signing")
    )
    assert_accepted(received_case, transition, CaseState.REFUSED)


def test_withdraw_needs_no_reason(received_case: Bound) -> None:
    transition = received_case.machine.withdraw(reason_context(reason=""))
    assert_accepted(received_case, transition, CaseState.WITHDRAWN)


def test_withdraw_is_withdrawn(received_case: Bound) -> None:
    transition = received_case.machine.withdraw(reason_context(reason="the voter changed plans"))
    assert_accepted(received_case, transition, CaseState.WITHDRAWN)
    assert transition.event is Event.WITHDRAW


# --- issue, spoil, report lost -------------------------------------------------------------------


def test_issue_inside_the_window_is_issued(received_case: Bound) -> None:
    transition = received_case.machine.issue(issue_context())
    assert_accepted(received_case, transition, CaseState.ISSUED)
    assert transition.event is Event.ISSUE


def test_issue_refused_at_1800_local_in_oral(received_case: Bound) -> None:
    transition = received_case.machine.issue(
        issue_context(moment=local_moment(ORAL, 2022, 6, 4, 18))
    )
    assert_refused(received_case, transition, RefusalCode.WINDOW_CLOSED, CaseState.RECEIVED)


def test_issue_refused_on_voting_day(received_case: Bound) -> None:
    transition = received_case.machine.issue(
        issue_context(moment=local_moment(ORAL, 2022, 6, 5, 9))
    )
    assert_refused(received_case, transition, RefusalCode.WINDOW_CLOSED, CaseState.RECEIVED)


def test_spoil_returns_the_case_to_received(issued_case: Bound) -> None:
    transition = issued_case.machine.spoil(reason_context(reason="printer jam"))
    assert_accepted(issued_case, transition, CaseState.RECEIVED)
    assert transition.event is Event.SPOIL


def test_after_spoil_a_fresh_issue_is_possible(issued_case: Bound) -> None:
    issued_case.machine.spoil(reason_context(reason="printer jam"))
    transition = issued_case.machine.issue(issue_context())
    assert transition.accepted
    assert issued_case.case._state is CaseState.ISSUED
    assert len(issued_case.spy.calls) == 2


def test_report_lost_is_lost(issued_case: Bound) -> None:
    transition = issued_case.machine.report_lost(reason_context(reason="lost on the bus"))
    assert_accepted(issued_case, transition, CaseState.LOST)


def test_lost_certificate_is_never_issued_again(issued_case: Bound) -> None:
    issued_case.machine.report_lost(reason_context(reason="lost on the bus"))
    transition = issued_case.machine.issue(issue_context())
    assert transition.refusal is not None
    assert transition.refusal.code == RefusalCode.INVALID_TRANSITION
    assert issued_case.case._state is CaseState.LOST


# --- surrender -----------------------------------------------------------------------------------


def test_surrender_before_the_deadline_is_cancelled(issued_case: Bound) -> None:
    transition = issued_case.machine.surrender(surrender_context())
    assert_accepted(issued_case, transition, CaseState.CANCELLED)
    assert transition.event is Event.SURRENDER


def test_surrender_one_second_before_the_deadline_is_cancelled(issued_case: Bound) -> None:
    moment = local_moment(ORAL, 2022, 6, 4, 17, 59, 59)
    transition = issued_case.machine.surrender(surrender_context(moment=moment))
    assert_accepted(issued_case, transition, CaseState.CANCELLED)


@pytest.mark.parametrize(
    "moment",
    [
        local_moment(ORAL, 2022, 6, 4, 18),
        local_moment(ORAL, 2022, 6, 4, 18, 0, 1),
        local_moment(ORAL, 2022, 6, 5, 8),
        local_moment(ALMATY, 2022, 6, 4, 18),
    ],
    ids=["at-deadline-oral", "after-deadline-oral", "voting-day", "at-deadline-almaty"],
)
def test_surrender_at_or_after_the_deadline_is_refused(issued_case: Bound, moment: Any) -> None:
    transition = issued_case.machine.surrender(surrender_context(moment=moment))
    assert_refused(issued_case, transition, RefusalCode.WINDOW_CLOSED, CaseState.ISSUED)


def test_surrender_refused_when_the_election_forbids_it(issued_case: Bound) -> None:
    ctx = surrender_context(rules=with_rules(allow_surrender=False))
    transition = issued_case.machine.surrender(ctx)
    assert_refused(issued_case, transition, RefusalCode.POLICY_FORBIDS, CaseState.ISSUED)


# --- presentation on voting day ------------------------------------------------------------------


def test_presented_in_another_locality_during_voting_hours_is_included(issued_case: Bound) -> None:
    transition = issued_case.machine.present(presentation_context())
    assert_accepted(issued_case, transition, CaseState.INCLUDED)
    assert transition.event is Event.INCLUDE


def test_presented_at_the_home_precinct_is_returned(issued_case: Bound) -> None:
    transition = issued_case.machine.present(return_home_context())
    assert_accepted(issued_case, transition, CaseState.RETURNED)
    assert transition.event is Event.RETURN_HOME


def test_return_home_refused_when_the_election_forbids_it(issued_case: Bound) -> None:
    ctx = return_home_context(rules=with_rules(allow_return_home=False))
    transition = issued_case.machine.present(ctx)
    assert_refused(issued_case, transition, RefusalCode.POLICY_FORBIDS, CaseState.ISSUED)
    assert transition.event is Event.RETURN_HOME


@pytest.mark.parametrize(
    ("build", "moment"),
    [
        (presentation_context, local_moment(ALMATY, 2022, 6, 5, 6, 59, 59)),
        (presentation_context, local_moment(ALMATY, 2022, 6, 5, 20)),
        (presentation_context, local_moment(ALMATY, 2022, 6, 4, 12)),
        (return_home_context, local_moment(ORAL, 2022, 6, 5, 6, 59, 59)),
        (return_home_context, local_moment(ORAL, 2022, 6, 5, 20)),
    ],
    ids=["include-0659", "include-2000", "include-day-before", "home-0659", "home-2000"],
)
def test_presentation_outside_voting_hours_is_refused(
    issued_case: Bound, build: Any, moment: Any
) -> None:
    transition = issued_case.machine.present(build(moment=moment))
    assert_refused(issued_case, transition, RefusalCode.NOT_VOTING_HOURS, CaseState.ISSUED)


def test_voting_hours_are_those_of_the_receiving_precinct(issued_case: Bound) -> None:
    # 19:30 in Oral is 20:30 in Almaty: an Almaty precinct has closed.
    moment = utc_moment(ALMATY, 2022, 6, 5, 14, 30)
    assert local_moment(ORAL, 2022, 6, 5, 19, 30).now == moment.now
    ctx = presentation_context(moment=moment)
    transition = issued_case.machine.present(ctx)
    assert_refused(issued_case, transition, RefusalCode.NOT_VOTING_HOURS, CaseState.ISSUED)


@pytest.mark.parametrize("build", [presentation_context, return_home_context])
@pytest.mark.parametrize(
    ("certificate_state", "code"),
    [
        (CertificateState.USED, RefusalCode.ALREADY_USED),
        (CertificateState.RETURNED, RefusalCode.ALREADY_USED),
        (CertificateState.LOST, RefusalCode.VOID),
        (CertificateState.SPOILT, RefusalCode.VOID),
        (CertificateState.CANCELLED, RefusalCode.VOID),
    ],
)
def test_used_or_void_certificate_is_refused(
    issued_case: Bound, build: Any, certificate_state: CertificateState, code: RefusalCode
) -> None:
    transition = issued_case.machine.present(build(certificate_state=certificate_state))
    assert_refused(issued_case, transition, code, CaseState.ISSUED)


def test_second_presentation_of_a_used_certificate_says_already_used() -> None:
    bound = bind(CaseState.INCLUDED)
    transition = bound.machine.present(
        presentation_context(certificate_state=CertificateState.USED)
    )
    assert_refused(bound, transition, RefusalCode.ALREADY_USED, CaseState.INCLUDED)


def test_another_precinct_of_the_home_locality_is_refused_with_same_locality(
    issued_case: Bound,
) -> None:
    ctx = presentation_context(
        moment=local_moment(ORAL, 2022, 6, 5, 12), receiving=HOME_LOCALITY_OTHER
    )
    transition = issued_case.machine.present(ctx)
    assert_refused(issued_case, transition, RefusalCode.SAME_LOCALITY, CaseState.ISSUED)
    assert transition.refusal is not None
    assert transition.refusal.params["home_precinct_id"] == str(HOME.id)
    assert transition.refusal.params["home_precinct_number"] == HOME.number


def test_another_precinct_of_the_home_locality_includes_when_the_election_allows(
    issued_case: Bound,
) -> None:
    ctx = presentation_context(
        moment=local_moment(ORAL, 2022, 6, 5, 12),
        receiving=HOME_LOCALITY_OTHER,
        rules=with_rules(refuse_inclusion_in_home_locality=False),
    )
    transition = issued_case.machine.present(ctx)
    assert_accepted(issued_case, transition, CaseState.INCLUDED)


def test_almaty_precincts_in_different_city_districts_are_the_same_locality(
    issued_case: Bound,
) -> None:
    home = PrecinctRef(id=7001, locality_kato=ALMATY_AUEZOV_KATO, number="7001")
    receiving = PrecinctRef(id=7002, locality_kato=ALMATY_BOSTANDYK_KATO, number="7002")
    transition = issued_case.machine.present(presentation_context(home=home, receiving=receiving))
    assert_refused(issued_case, transition, RefusalCode.SAME_LOCALITY, CaseState.ISSUED)


def test_receiving_locality_check_lets_the_home_precinct_itself_through() -> None:
    check_receiving_locality(RULES_2022, HOME, HOME)
    with pytest.raises(RuleViolation) as caught:
        check_receiving_locality(RULES_2022, HOME, HOME_LOCALITY_OTHER)
    assert caught.value.code == RefusalCode.SAME_LOCALITY


def test_presentation_event_depends_on_the_precinct_not_the_locality() -> None:
    assert presentation_event(HOME.id, HOME.id) is Event.RETURN_HOME
    assert presentation_event(HOME.id, HOME_LOCALITY_OTHER.id) is Event.INCLUDE
    assert presentation_event(HOME.id, ELSEWHERE.id) is Event.INCLUDE


def test_include_in_a_village_of_another_region_is_allowed(issued_case: Bound) -> None:
    village = PrecinctRef(id=9001, locality_kato="196035100", number="9001")
    transition = issued_case.machine.present(
        presentation_context(moment=local_moment(ALMATY, 2022, 6, 5, 7), receiving=village)
    )
    assert_accepted(issued_case, transition, CaseState.INCLUDED)


# --- the table, exhaustively ---------------------------------------------------------------------


@pytest.mark.parametrize("event", list(Event), ids=str)
@pytest.mark.parametrize("state", ALL_STATES, ids=state_id)
def test_every_state_and_event_follows_the_table(state: CaseState | None, event: Event) -> None:
    bound = bind(state)
    transition = PASSING[event](bound.machine)
    expected = TRANSITIONS.get((state, event))
    assert transition.event is event
    assert transition.source is state
    if expected is None:
        assert_refused(bound, transition, RefusalCode.INVALID_TRANSITION, state)
        assert transition.refusal is not None
        assert transition.refusal.params == {"state": str(state or ""), "event": str(event)}
    else:
        assert_accepted(bound, transition, expected)


@pytest.mark.parametrize(
    ("state", "event"),
    [pair for pair in TRANSITIONS if pair[1] in FAILING],
    ids=lambda v: state_id(v),
)
def test_failed_guard_on_a_legal_transition_keeps_the_state(
    state: CaseState | None, event: Event
) -> None:
    bound = bind(state)
    fire, code = FAILING[event]
    transition = fire(bound.machine)
    # A failed application is itself recorded, as refused; every other event changes nothing.
    assert_refused(bound, transition, code, CaseState.REFUSED if state is None else state)


def test_table_has_exactly_the_rows_of_domain_md() -> None:
    assert TRANSITIONS == {
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


# --- listeners -----------------------------------------------------------------------------------


def test_every_listener_sees_each_transition_once_in_order() -> None:
    case = FakeCase(None)
    first, second = ListenerSpy(), ListenerSpy()
    order: list[str] = []
    machine = CaseMachine(
        case,
        [
            lambda t: (first(t), order.append("first")),
            lambda t: (second(t), order.append("second")),
        ],
    )
    applied = machine.apply(apply_context())
    refused = machine.issue(issue_context(moment=local_moment(ORAL, 2022, 6, 4, 18)))
    issued = machine.issue(issue_context())
    assert first.calls == [applied, refused, issued]
    assert second.calls == [applied, refused, issued]
    assert all(a is b for a, b in zip(first.calls, [applied, refused, issued], strict=True))
    assert order == ["first", "second"] * 3
    assert [t.accepted for t in first.calls] == [True, False, True]


def test_listener_sees_the_state_already_written() -> None:
    case = FakeCase(CaseState.RECEIVED)
    seen: list[CaseState | None] = []
    machine = CaseMachine(case, [lambda _t: seen.append(case._state)])
    machine.issue(issue_context())
    assert seen == [CaseState.ISSUED]


def test_refused_apply_is_reported_to_listeners(new_case: Bound) -> None:
    transition = new_case.machine.apply(apply_context(on_this_list=False))
    assert new_case.spy.calls == [transition]
    assert new_case.spy.calls[0].target is CaseState.REFUSED


def test_machine_without_listeners_still_transitions() -> None:
    case = FakeCase(CaseState.RECEIVED)
    assert CaseMachine(case).issue(issue_context()).accepted
    assert case._state is CaseState.ISSUED
