"""Elections as data (workflow.elections): a checked calendar, phases on every clock of the
network, who may change what when, and the election a user's screens open on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.workflow.factories import ALMATY, ORAL, RULES_2022
from workflow.calendar import ElectionRules, Moment, zone
from workflow.elections import (
    FROZEN_ONCE_OPEN,
    ElectionClock,
    ElectionKind,
    ElectionPhase,
    ElectionRefused,
    calendar_problems,
    closes_at,
    default_election,
    election_phase,
    judge_change,
    opens_at,
)
from workflow.errors import RefusalCode, RuleViolation
from workflow.rules import check_issue_window

# The constitutional referendum of 15 March 2026: window 27 February to 14 March, 18:00, on a
# country that reads UTC+5 everywhere since 1 March 2024.
RULES_2026 = ElectionRules(
    issue_opens_on=date(2026, 2, 27),
    issue_deadline_on=date(2026, 3, 14),
    voting_day=date(2026, 3, 15),
)
ZONES_2022 = (ALMATY, ORAL)
SECOND = timedelta(seconds=1)


def wall(zone_name: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone(zone_name)).astimezone(UTC)  # type: ignore[misc]


def problems(rules: ElectionRules) -> set[tuple[str, str]]:
    return {(p.name, p.code) for p in calendar_problems(rules)}


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------


def test_the_shipped_calendars_are_sound() -> None:
    assert calendar_problems(RULES_2022) == []
    assert calendar_problems(RULES_2026) == []


def test_window_must_open_before_it_closes() -> None:
    same_instant = replace(
        RULES_2026, issue_deadline_on=date(2026, 2, 27), issue_deadline_at=time(0, 0)
    )
    backwards = replace(
        RULES_2026, issue_opens_on=date(2026, 3, 14), issue_deadline_on=date(2026, 3, 1)
    )
    assert problems(same_instant) == {("issue_deadline_on", "window_order")}
    assert problems(backwards) == {("issue_deadline_on", "window_order")}


def test_window_closes_no_later_than_voting_day() -> None:
    after = replace(RULES_2026, issue_deadline_on=date(2026, 3, 16))
    on_the_day_before_voting_opens = replace(
        RULES_2026, issue_deadline_on=date(2026, 3, 15), issue_deadline_at=time(7, 0)
    )
    on_the_day_after_voting_opens = replace(
        RULES_2026, issue_deadline_on=date(2026, 3, 15), issue_deadline_at=time(7, 1)
    )
    assert problems(after) == {("issue_deadline_on", "deadline_after_voting")}
    assert problems(on_the_day_before_voting_opens) == set()
    assert problems(on_the_day_after_voting_opens) == {
        ("issue_deadline_on", "deadline_after_voting")
    }


@pytest.mark.parametrize(("opens", "closes"), [(time(20, 0), time(7, 0)), (time(8, 0), time(8, 0))])
def test_voting_hours_lie_within_one_day(opens: time, closes: time) -> None:
    rules = replace(RULES_2026, voting_opens_at=opens, voting_closes_at=closes)
    assert ("voting_closes_at", "hours_order") in problems(rules)


def test_implausible_days_are_named() -> None:
    rules = replace(RULES_2026, voting_day=date(1066, 10, 14))
    found = problems(rules)
    assert ("voting_day", "day_out_of_range") in found


def test_every_violation_is_reported_at_once() -> None:
    rules = replace(
        RULES_2026,
        issue_deadline_on=date(2026, 3, 20),
        voting_opens_at=time(21, 0),
    )
    assert problems(rules) == {
        ("issue_deadline_on", "deadline_after_voting"),
        ("voting_closes_at", "hours_order"),
    }


def test_an_election_with_certificates_needs_its_window() -> None:
    rules = replace(RULES_2026, issue_opens_on=None, issue_deadline_on=None)
    assert problems(rules) == {("issue_opens_on", "required"), ("issue_deadline_on", "required")}


def test_an_election_without_certificates_has_no_window() -> None:
    senate = replace(RULES_2026, certificates=False)
    assert problems(senate) == {
        ("issue_opens_on", "window_without_certificates"),
        ("issue_deadline_on", "window_without_certificates"),
    }
    assert problems(replace(senate, issue_opens_on=None, issue_deadline_on=None)) == set()


def test_only_the_senate_kind_has_no_certificates() -> None:
    assert [kind for kind in ElectionKind if not kind.has_certificates] == [ElectionKind.SENATE]


def test_nothing_is_applied_for_in_an_election_without_certificates() -> None:
    senate = replace(RULES_2026, certificates=False, issue_opens_on=None, issue_deadline_on=None)
    with pytest.raises(RuleViolation) as caught:
        check_issue_window(senate, Moment(wall(ALMATY, 2026, 3, 1, 12), ALMATY))
    assert caught.value.code is RefusalCode.NO_CERTIFICATES


@given(
    opens=st.dates(date(2000, 1, 1), date(2100, 1, 1)),
    length=st.integers(-30, 30),
    gap=st.integers(-5, 5),
)
def test_a_sound_calendar_always_has_a_window_opening_before_voting(
    opens: date, length: int, gap: int
) -> None:
    deadline = opens + timedelta(days=length)
    rules = replace(
        RULES_2026,
        issue_opens_on=opens,
        issue_deadline_on=deadline,
        voting_day=deadline + timedelta(days=gap),
    )
    if not calendar_problems(rules):
        assert rules.issue_opens_on is not None
        assert rules.issue_deadline_on is not None
        assert rules.issue_window(ALMATY)[0] < rules.issue_window(ALMATY)[1]
        assert rules.issue_window(ALMATY)[1] <= rules.voting_hours(ALMATY)[0]


# --------------------------------------------------------------------------------------------
# Phases, read on every clock of the network
# --------------------------------------------------------------------------------------------


def test_the_window_opens_when_it_opens_on_the_first_clock() -> None:
    """In 2022 Almaty (UTC+6) reached 20 May 00:00 an hour before Oral (UTC+5)."""
    first = wall(ALMATY, 2022, 5, 20, 0, 0, 0)
    assert opens_at(RULES_2022, ZONES_2022) == first
    assert election_phase(RULES_2022, ZONES_2022, first - SECOND) is ElectionPhase.PREPARING
    assert election_phase(RULES_2022, ZONES_2022, first) is ElectionPhase.ISSUING


def test_issue_lasts_until_the_deadline_on_the_last_clock() -> None:
    oral_deadline = wall(ORAL, 2022, 6, 4, 18, 0, 0)
    assert election_phase(RULES_2022, ZONES_2022, oral_deadline - SECOND) is ElectionPhase.ISSUING
    assert election_phase(RULES_2022, ZONES_2022, oral_deadline) is ElectionPhase.AWAITING_VOTE


def test_voting_runs_from_the_first_opening_to_the_last_closing() -> None:
    almaty_opens = wall(ALMATY, 2022, 6, 5, 7, 0, 0)
    oral_closes = wall(ORAL, 2022, 6, 5, 20, 0, 0)
    assert closes_at(RULES_2022, ZONES_2022) == oral_closes
    assert (
        election_phase(RULES_2022, ZONES_2022, almaty_opens - SECOND) is ElectionPhase.AWAITING_VOTE
    )
    assert election_phase(RULES_2022, ZONES_2022, almaty_opens) is ElectionPhase.VOTING
    assert election_phase(RULES_2022, ZONES_2022, oral_closes - SECOND) is ElectionPhase.VOTING
    assert election_phase(RULES_2022, ZONES_2022, oral_closes) is ElectionPhase.CLOSED


def test_in_2026_almaty_and_oral_share_one_clock() -> None:
    """Since 1 March 2024 every zone of the country reads UTC+5: one instant for both."""
    assert opens_at(RULES_2026, (ALMATY,)) == opens_at(RULES_2026, (ORAL,))
    assert opens_at(RULES_2026, (ALMATY,)) == datetime(2026, 2, 26, 19, 0, tzinfo=UTC)


def test_an_election_without_certificates_opens_with_its_voting() -> None:
    senate = replace(RULES_2026, certificates=False, issue_opens_on=None, issue_deadline_on=None)
    voting = wall(ALMATY, 2026, 3, 15, 7, 0, 0)
    assert opens_at(senate, (ALMATY,)) == voting
    assert election_phase(senate, (ALMATY,), voting - SECOND) is ElectionPhase.PREPARING
    assert election_phase(senate, (ALMATY,), voting) is ElectionPhase.VOTING


def test_a_phase_needs_a_clock() -> None:
    with pytest.raises(ValueError, match="time zone"):
        election_phase(RULES_2026, (), datetime(2026, 3, 1, tzinfo=UTC))


# --------------------------------------------------------------------------------------------
# Who may change what, when
# --------------------------------------------------------------------------------------------


NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
OPENED = datetime(2026, 2, 26, 19, 0, tzinfo=UTC)


def refusal(
    phase: ElectionPhase, changed: set[str], reason: str = "", opened: datetime = OPENED
) -> set[tuple[str, str]]:
    with pytest.raises(ElectionRefused) as caught:
        judge_change(phase, changed, reason, new_opens_at=opened, now=NOW)
    return {(p.name, p.code) for p in caught.value.problems}


def test_anything_changes_while_the_election_is_prepared() -> None:
    verdict = judge_change(
        ElectionPhase.PREPARING, {"code", "kind", "voting_day"}, "", new_opens_at=OPENED, now=NOW
    )
    assert verdict.correction is False


@pytest.mark.parametrize(
    "phase", [ElectionPhase.ISSUING, ElectionPhase.AWAITING_VOTE, ElectionPhase.VOTING]
)
def test_after_the_window_opened_a_change_needs_a_reason(phase: ElectionPhase) -> None:
    assert refusal(phase, {"issue_deadline_on"}) == {("reason", "correction_needs_reason")}
    assert refusal(phase, {"issue_deadline_on"}, "   ") == {("reason", "correction_needs_reason")}
    verdict = judge_change(
        phase,
        {"issue_deadline_on"},
        "Court decision No. 12, 2 March 2026",
        new_opens_at=OPENED,
        now=NOW,
    )
    assert verdict.correction is True


@pytest.mark.parametrize("frozen", sorted(FROZEN_ONCE_OPEN))
def test_a_correction_never_touches_what_certificates_carry(frozen: str) -> None:
    found = refusal(ElectionPhase.ISSUING, {frozen, "name_en"}, "a reason")
    assert found == {(frozen, "frozen_once_open")}


def test_a_correction_cannot_close_an_opened_window_again() -> None:
    later = NOW + timedelta(days=1)
    found = refusal(ElectionPhase.ISSUING, {"issue_opens_on"}, "a reason", opened=later)
    assert found == {("issue_opens_on", "window_already_open")}


def test_a_closed_election_never_changes() -> None:
    found = refusal(ElectionPhase.CLOSED, {"name_en"}, "a reason")
    assert found == {("name_en", "election_closed")}


# --------------------------------------------------------------------------------------------
# The election a user's screens open on
# --------------------------------------------------------------------------------------------


def clock(election_id: int, rules: ElectionRules) -> ElectionClock:
    return ElectionClock(election_id, rules, (ALMATY,))


BY_ELECTION = replace(
    RULES_2026,
    issue_opens_on=date(2026, 3, 2),
    issue_deadline_on=date(2026, 3, 14),
)


def test_no_election_no_default() -> None:
    assert default_election([], NOW) is None


def test_the_election_whose_window_is_open_comes_first() -> None:
    closed, current = clock(1, RULES_2022), clock(2, RULES_2026)
    assert default_election([closed, current], NOW) == 2


def test_voting_day_beats_an_open_window() -> None:
    voting = wall(ALMATY, 2026, 3, 15, 9, 0, 0)
    later = replace(
        RULES_2026,
        issue_opens_on=date(2026, 3, 10),
        issue_deadline_on=date(2026, 4, 1),
        voting_day=date(2026, 4, 2),
    )
    assert default_election([clock(1, later), clock(2, RULES_2026)], voting) == 2


def test_the_next_to_open_comes_before_the_closed_ones() -> None:
    before = datetime(2026, 1, 10, tzinfo=UTC)
    assert default_election([clock(1, RULES_2022), clock(2, RULES_2026)], before) == 2


def test_among_closed_elections_the_latest() -> None:
    later = datetime(2027, 1, 1, tzinfo=UTC)
    assert default_election([clock(1, RULES_2022), clock(2, RULES_2026)], later) == 2


def test_two_open_windows_the_nearer_voting_day_wins() -> None:
    # Same voting day: the tie goes to the older election (the lower id), every time.
    both_open = NOW + timedelta(days=2)
    assert default_election([clock(7, RULES_2026), clock(3, BY_ELECTION)], both_open) == 3
    far = replace(BY_ELECTION, issue_deadline_on=date(2026, 4, 1), voting_day=date(2026, 4, 5))
    assert default_election([clock(7, RULES_2026), clock(3, far)], NOW + timedelta(days=2)) == 7
