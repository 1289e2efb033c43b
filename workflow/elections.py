"""Elections as data: kinds, a checked calendar, the phase an election is in, and who may edit it.

An election's dates and hours are wall-clock times of the precinct that acts, so an election has
as many real instants for each bound as its network has time zones. Its phase is read on all of
them: the window has opened once it has opened anywhere, voting is over once it is over
everywhere. Nothing here stores or assumes an offset: the zones' rules decide (domain.md §3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from workflow.calendar import ElectionRules

# Voting days before independence or beyond two centuries are typing mistakes.
EARLIEST_DAY = date(1991, 12, 16)
LATEST_DAY = date(2199, 12, 31)


class ElectionKind(StrEnum):
    """What is being voted on; the kind decides whether absentee certificates exist at all."""

    REFERENDUM = "referendum"
    PRESIDENTIAL = "presidential"
    MAZHILIS = "mazhilis"
    MASLIKHAT = "maslikhat"
    BY_ELECTION = "by_election"
    # The Senate is elected indirectly by maslikhat deputies: no certificates (domain.md §10).
    SENATE = "senate"

    @property
    def has_certificates(self) -> bool:
        return self is not ElectionKind.SENATE


class ElectionPhase(StrEnum):
    """Where an election stands, read on every clock of its network."""

    PREPARING = "preparing"  # before the window opens anywhere: everything may be edited
    ISSUING = "issuing"  # the window is open somewhere
    AWAITING_VOTE = "awaiting_vote"  # the window has closed everywhere; voting not yet begun
    VOTING = "voting"  # voting hours are running somewhere
    CLOSED = "closed"  # voting is over everywhere: readable for ever, changed never


# What a correction after the window opened may never touch: printed on every certificate and
# sealed into its QR code, or deciding whether certificates exist at all.
FROZEN_ONCE_OPEN = frozenset({"code", "number_series", "kind"})


def _no_params() -> Mapping[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One reason an election's data is refused: the field at fault and a stable code."""

    name: str
    code: str
    params: Mapping[str, str] = field(default_factory=_no_params)


class ElectionRefused(ValueError):
    """The election's data or the change to it is refused; nothing was stored."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.name}: {p.code}" for p in problems))
        self.problems = tuple(problems)


def _zones(zones: Iterable[str]) -> tuple[str, ...]:
    names = tuple(sorted(set(zones)))
    if not names:
        raise ValueError("an election's phase needs at least one time zone")
    return names


def opens_at(rules: ElectionRules, zones: Iterable[str]) -> datetime:
    """The first instant the election is live anywhere: the window's opening on the clock that
    reaches it first (voting's opening for an election without certificates). Edits stop here.
    """
    names = _zones(zones)
    if rules.has_window:
        return min(rules.issue_window(name)[0] for name in names)
    return min(rules.voting_hours(name)[0] for name in names)


def deadline_passed_everywhere(rules: ElectionRules, zones: Iterable[str], now: datetime) -> bool:
    names = _zones(zones)
    if not rules.has_window:
        return True
    return all(now >= rules.issue_window(name)[1] for name in names)


def closes_at(rules: ElectionRules, zones: Iterable[str]) -> datetime:
    """The last instant of voting on the clock that reaches it last."""
    return max(rules.voting_hours(name)[1] for name in _zones(zones))


def election_phase(rules: ElectionRules, zones: Iterable[str], now: datetime) -> ElectionPhase:
    """The phase at `now`: bounds are half-open like the windows they come from."""
    names = _zones(zones)
    if now >= closes_at(rules, names):
        return ElectionPhase.CLOSED
    if now < opens_at(rules, names):
        return ElectionPhase.PREPARING
    if any(opens <= now < closes for opens, closes in (rules.voting_hours(name) for name in names)):
        return ElectionPhase.VOTING
    if rules.has_window and not deadline_passed_everywhere(rules, names, now):
        return ElectionPhase.ISSUING
    return ElectionPhase.AWAITING_VOTE


def calendar_problems(rules: ElectionRules) -> list[FieldProblem]:
    """Everything wrong with a calendar, each with its field: empty when it is sound.

    The window opens before it closes (strictly); it closes no later than voting day, and on
    voting day itself no later than voting opens; voting hours lie within one day, opening
    before closing; days are plausible. An election without certificates has no window.
    """
    problems: list[FieldProblem] = []
    for name in ("voting_day", "issue_opens_on", "issue_deadline_on"):
        day = getattr(rules, name)
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            problems.append(
                FieldProblem(
                    name,
                    "day_out_of_range",
                    {"first": EARLIEST_DAY.isoformat(), "last": LATEST_DAY.isoformat()},
                )
            )
    if rules.voting_opens_at >= rules.voting_closes_at:
        problems.append(FieldProblem("voting_closes_at", "hours_order"))
    if not rules.certificates:
        for name in ("issue_opens_on", "issue_deadline_on"):
            if getattr(rules, name) is not None:
                problems.append(FieldProblem(name, "window_without_certificates"))
        return problems
    if rules.issue_opens_on is None:
        problems.append(FieldProblem("issue_opens_on", "required"))
    if rules.issue_deadline_on is None:
        problems.append(FieldProblem("issue_deadline_on", "required"))
    if rules.issue_opens_on is None or rules.issue_deadline_on is None:
        return problems
    opening = datetime.combine(rules.issue_opens_on, rules.issue_opens_at)  # wall clock, no zone
    deadline = datetime.combine(rules.issue_deadline_on, rules.issue_deadline_at)
    voting = datetime.combine(rules.voting_day, rules.voting_opens_at)
    if opening >= deadline:
        problems.append(FieldProblem("issue_deadline_on", "window_order"))
    if deadline > voting:
        problems.append(FieldProblem("issue_deadline_on", "deadline_after_voting"))
    return problems


@dataclass(frozen=True, slots=True)
class ChangeVerdict:
    """An accepted change: a plain edit, or a correction that must carry its reason."""

    correction: bool


def judge_change(
    phase: ElectionPhase,
    changed: Iterable[str],
    reason: str,
    *,
    new_opens_at: datetime,
    now: datetime,
) -> ChangeVerdict:
    """Whether an election may change now, and how. Raises ElectionRefused.

    While it is prepared, anything goes. From the window's opening it is refused, except a
    correction with a written reason (a court or the commission moved a date): such a correction
    never touches the code, the number series or the kind (sealed into issued certificates), and
    never moves the opening back into the future (an opened window stays opened). A closed
    election is never changed.
    """
    names = sorted(set(changed))
    if phase is ElectionPhase.PREPARING:
        return ChangeVerdict(correction=False)
    if phase is ElectionPhase.CLOSED:
        raise ElectionRefused([FieldProblem(name, "election_closed") for name in names or ["code"]])
    problems = [
        FieldProblem(name, "frozen_once_open") for name in names if name in FROZEN_ONCE_OPEN
    ]
    if not reason.strip():
        problems.append(FieldProblem("reason", "correction_needs_reason"))
    if new_opens_at > now:
        problems.append(FieldProblem("issue_opens_on", "window_already_open"))
    if problems:
        raise ElectionRefused(problems)
    return ChangeVerdict(correction=True)


@dataclass(frozen=True, slots=True)
class ElectionClock:
    """What choosing a default election needs to know of one."""

    election_id: int
    rules: ElectionRules
    zones: tuple[str, ...]


_PREFERENCE = {
    ElectionPhase.VOTING: 0,
    ElectionPhase.ISSUING: 1,
    ElectionPhase.AWAITING_VOTE: 2,
    ElectionPhase.PREPARING: 3,
    ElectionPhase.CLOSED: 4,
}


def default_election(elections: Sequence[ElectionClock], now: datetime) -> int | None:
    """The election a user's screens open on: the one whose voting day or window is current.

    Voting under way first, then an open window, then one between deadline and voting day, then
    the next to open, and only then the most recent closed one. Ties go to the nearer voting day.
    """
    if not elections:
        return None

    def rank(item: ElectionClock) -> tuple[int, float, int]:
        phase = election_phase(item.rules, item.zones, now)
        # Upcoming and live ones: the soonest first; closed ones: the most recent first.
        distance = abs((item.rules.voting_day - now.date()).days)
        return (_PREFERENCE[phase], distance, item.election_id)

    return min(elections, key=rank).election_id
