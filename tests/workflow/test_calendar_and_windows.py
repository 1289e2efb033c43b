"""Issue window and voting hours in the acting precinct's local time (domain.md §3).

In 2022 Oral (West Kazakhstan) was UTC+5 and Almaty UTC+6, so one election has two real deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.workflow.factories import (
    ALMATY,
    ORAL,
    RULES_2022,
    bind,
    issue_context,
    local_moment,
    utc_moment,
)
from workflow.calendar import ElectionRules, Moment
from workflow.errors import RefusalCode, RuleViolation
from workflow.rules import check_issue_window, check_voting_hours
from workflow.states import CaseState

ZONES = pytest.mark.parametrize("zone_name", [ORAL, ALMATY])
OPENING = (2022, 5, 20, 0, 0, 0)
DEADLINE = (2022, 6, 4, 18, 0, 0)
ONE_SECOND = timedelta(seconds=1)


def shifted(zone_name: str, wall: tuple[int, ...], delta: timedelta) -> Moment:
    moment = local_moment(zone_name, *wall)
    return Moment(now=moment.now + delta, zone_name=zone_name)


def refusal_code(check: Callable[[ElectionRules, Moment], None], *args: Any) -> RefusalCode | None:
    try:
        check(*args)
    except RuleViolation as violation:
        return violation.code
    return None


def window_allows(rules: ElectionRules, moment: Moment) -> bool:
    code = refusal_code(check_issue_window, rules, moment)
    assert code in (None, RefusalCode.WINDOW_CLOSED)
    return code is None


def hours_allow(rules: ElectionRules, moment: Moment) -> bool:
    code = refusal_code(check_voting_hours, rules, moment)
    assert code in (None, RefusalCode.NOT_VOTING_HOURS)
    return code is None


# (wall-clock time, shift, allowed): one second before, at and after each bound.
WINDOW_BOUNDS = [
    pytest.param(OPENING, -ONE_SECOND, False, id="opening-1s"),
    pytest.param(OPENING, timedelta(0), True, id="opening"),
    pytest.param(OPENING, ONE_SECOND, True, id="opening+1s"),
    pytest.param(DEADLINE, -ONE_SECOND, True, id="deadline-1s"),
    pytest.param(DEADLINE, timedelta(0), False, id="deadline"),
    pytest.param(DEADLINE, ONE_SECOND, False, id="deadline+1s"),
]


@ZONES
@pytest.mark.parametrize(("wall", "delta", "allowed"), WINDOW_BOUNDS)
def test_issue_window_is_half_open_in_local_time(
    zone_name: str, wall: tuple[int, ...], delta: timedelta, allowed: bool
) -> None:
    assert window_allows(RULES_2022, shifted(zone_name, wall, delta)) is allowed


@ZONES
@pytest.mark.parametrize(("wall", "delta", "allowed"), WINDOW_BOUNDS)
def test_issue_by_the_machine_follows_the_window_bounds(
    zone_name: str, wall: tuple[int, ...], delta: timedelta, allowed: bool
) -> None:
    bound = bind(CaseState.RECEIVED)
    transition = bound.machine.issue(issue_context(moment=shifted(zone_name, wall, delta)))
    if allowed:
        assert transition.accepted
        assert bound.case._state is CaseState.ISSUED
    else:
        assert transition.refusal is not None
        assert transition.refusal.code == RefusalCode.WINDOW_CLOSED
        assert bound.case._state is CaseState.RECEIVED


@ZONES
def test_issue_allowed_at_175959_local_on_deadline_day(zone_name: str) -> None:
    bound = bind(CaseState.RECEIVED)
    moment = local_moment(zone_name, 2022, 6, 4, 17, 59, 59)
    assert bound.machine.issue(issue_context(moment=moment)).target is CaseState.ISSUED


@ZONES
def test_issue_refused_at_1800_local_on_deadline_day(zone_name: str) -> None:
    bound = bind(CaseState.RECEIVED)
    moment = local_moment(zone_name, 2022, 6, 4, 18, 0, 0)
    transition = bound.machine.issue(issue_context(moment=moment))
    assert transition.refusal is not None
    assert transition.refusal.code == RefusalCode.WINDOW_CLOSED
    assert bound.case._state is CaseState.RECEIVED


def test_deadlines_in_utc_differ_by_the_zone_offset() -> None:
    _, oral_deadline = RULES_2022.issue_window(ORAL)
    _, almaty_deadline = RULES_2022.issue_window(ALMATY)
    assert oral_deadline == datetime(2022, 6, 4, 13, tzinfo=UTC)
    assert almaty_deadline == datetime(2022, 6, 4, 12, tzinfo=UTC)
    opens_oral, _ = RULES_2022.issue_window(ORAL)
    opens_almaty, _ = RULES_2022.issue_window(ALMATY)
    assert opens_oral == datetime(2022, 5, 19, 19, tzinfo=UTC)
    assert opens_almaty == datetime(2022, 5, 19, 18, tzinfo=UTC)


def test_noon_utc_on_4_june_is_inside_in_oral_and_outside_in_almaty() -> None:
    oral = utc_moment(ORAL, 2022, 6, 4, 12, 0, 0)
    almaty = utc_moment(ALMATY, 2022, 6, 4, 12, 0, 0)
    assert (oral.local.hour, almaty.local.hour) == (17, 18)
    assert window_allows(RULES_2022, oral)
    assert not window_allows(RULES_2022, almaty)


def test_same_utc_instant_issues_in_oral_and_is_refused_in_almaty() -> None:
    in_oral, in_almaty = bind(CaseState.RECEIVED), bind(CaseState.RECEIVED)
    oral_result = in_oral.machine.issue(issue_context(moment=utc_moment(ORAL, 2022, 6, 4, 12)))
    almaty_result = in_almaty.machine.issue(
        issue_context(moment=utc_moment(ALMATY, 2022, 6, 4, 12))
    )
    assert oral_result.accepted
    assert in_oral.case._state is CaseState.ISSUED
    assert almaty_result.refusal is not None
    assert almaty_result.refusal.code == RefusalCode.WINDOW_CLOSED
    assert in_almaty.case._state is CaseState.RECEIVED


def test_window_opens_an_hour_earlier_in_almaty_than_in_oral() -> None:
    assert window_allows(RULES_2022, utc_moment(ALMATY, 2022, 5, 19, 18, 0, 0))
    assert not window_allows(RULES_2022, utc_moment(ORAL, 2022, 5, 19, 18, 0, 0))
    assert window_allows(RULES_2022, utc_moment(ORAL, 2022, 5, 19, 19, 0, 0))


def test_window_refusal_carries_the_local_bounds() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_issue_window(RULES_2022, local_moment(ORAL, 2022, 6, 4, 18))
    assert caught.value.params["deadline"] == "2022-06-04T18:00:00+05:00"
    assert caught.value.params["opens"] == "2022-05-20T00:00:00+05:00"


def test_the_instant_decides_not_the_offset_it_was_written_with() -> None:
    # 17:30 written with a +06:00 offset is 16:30 in Oral: the instant decides, not the digits.
    at_1730_plus6 = datetime(2022, 6, 4, 17, 30, tzinfo=timezone(timedelta(hours=6)))
    at_1830_plus6 = datetime(2022, 6, 4, 18, 30, tzinfo=timezone(timedelta(hours=6)))
    assert window_allows(RULES_2022, Moment(now=at_1730_plus6, zone_name=ORAL))
    assert window_allows(RULES_2022, Moment(now=at_1830_plus6, zone_name=ORAL))
    assert not window_allows(RULES_2022, Moment(now=at_1830_plus6, zone_name=ALMATY))


# --- voting hours ---------------------------------------------------------------------------------


@ZONES
@pytest.mark.parametrize(
    ("wall", "allowed"),
    [
        ((2022, 6, 5, 6, 59, 59), False),
        ((2022, 6, 5, 7, 0, 0), True),
        ((2022, 6, 5, 7, 0, 1), True),
        ((2022, 6, 5, 13, 0, 0), True),
        ((2022, 6, 5, 19, 59, 59), True),
        ((2022, 6, 5, 20, 0, 0), False),
        ((2022, 6, 5, 20, 0, 1), False),
        ((2022, 6, 4, 12, 0, 0), False),
        ((2022, 6, 6, 10, 0, 0), False),
    ],
)
def test_voting_hours_are_0700_inclusive_to_2000_exclusive_local(
    zone_name: str, wall: tuple[int, ...], allowed: bool
) -> None:
    assert hours_allow(RULES_2022, local_moment(zone_name, *wall)) is allowed


def test_voting_hours_refusal_reports_the_local_time() -> None:
    with pytest.raises(RuleViolation) as caught:
        check_voting_hours(RULES_2022, local_moment(ALMATY, 2022, 6, 5, 20))
    assert caught.value.params["local_time"] == "2022-06-05T20:00:00+06:00"
    assert caught.value.params["opens"] == "2022-06-05T07:00:00+06:00"


def test_same_utc_instant_is_within_voting_hours_in_oral_but_not_in_almaty() -> None:
    # 14:30 UTC is 19:30 in Oral and 20:30 in Almaty.
    assert hours_allow(RULES_2022, utc_moment(ORAL, 2022, 6, 5, 14, 30))
    assert not hours_allow(RULES_2022, utc_moment(ALMATY, 2022, 6, 5, 14, 30))


# --- Moment --------------------------------------------------------------------------------------


def test_moment_rejects_a_naive_datetime() -> None:
    naive = datetime(2022, 6, 4, 12, 0)  # noqa: DTZ001 - the naive value is what is refused
    with pytest.raises(ValueError, match="timezone-aware"):
        Moment(now=naive, zone_name=ORAL)


def test_moment_local_is_the_same_instant_on_the_precincts_clock() -> None:
    moment = utc_moment(ALMATY, 2022, 6, 4, 12)
    assert moment.local == moment.now
    assert moment.local.utcoffset() == timedelta(hours=6)
    assert moment.local.replace(tzinfo=None) == datetime(2022, 6, 4, 18)  # noqa: DTZ001


# --- the 2024 change: the whole country on UTC+5 -------------------------------------------------

RULES_2024 = ElectionRules(
    issue_opens_on=date(2024, 5, 20),
    issue_deadline_on=date(2024, 6, 4),
    voting_day=date(2024, 6, 5),
)


def test_almaty_deadline_is_1300_utc_after_march_2024() -> None:
    _, deadline = RULES_2024.issue_window(ALMATY)
    assert deadline == datetime(2024, 6, 4, 13, tzinfo=UTC)
    assert deadline.utcoffset() == timedelta(hours=5)


def test_almaty_and_oral_share_the_deadline_instant_in_2024_but_not_in_2022() -> None:
    assert RULES_2024.issue_window(ALMATY)[1] == RULES_2024.issue_window(ORAL)[1]
    assert RULES_2022.issue_window(ALMATY)[1] != RULES_2022.issue_window(ORAL)[1]


def test_1230_utc_on_deadline_day_is_inside_in_almaty_in_2024() -> None:
    # 17:30 local in 2024; the same UTC time in 2022 was 18:30 local and refused.
    assert window_allows(RULES_2024, utc_moment(ALMATY, 2024, 6, 4, 12, 30))
    assert not window_allows(RULES_2022, utc_moment(ALMATY, 2022, 6, 4, 12, 30))


def test_almaty_voting_hours_in_2024_end_at_1500_utc() -> None:
    _, closes = RULES_2024.voting_hours(ALMATY)
    assert closes == datetime(2024, 6, 5, 15, tzinfo=UTC)
    assert hours_allow(RULES_2024, utc_moment(ALMATY, 2024, 6, 5, 14, 59, 59))
    assert not hours_allow(RULES_2024, utc_moment(ALMATY, 2024, 6, 5, 15))
