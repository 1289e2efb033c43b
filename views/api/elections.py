"""Elections over the API: create, change and correct them, give them a network, staff and
number stock. One service (`services.elections`) serves this, the web and the CLI alike."""

from __future__ import annotations

from datetime import time
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from models import Election, Role, db
from services.audit import Actor
from services.elections import (
    ELECTION_FIELDS,
    ElectionInput,
    change_election,
    corrections,
    create_election,
    default_election_for,
    phase_of,
)
from services.errors import NotFound
from services.network import NetworkSummary, carry_over_staff, copy_network, load_map
from services.stock import allot_stock
from views.api.core import Result, api_now, operation
from views.api.problems import Problem
from views.api.schemas import (
    AllotIn,
    AllotOut,
    CorrectionOut,
    ElectionIn,
    ElectionOut,
    ElectionPatch,
    NetworkIn,
    NetworkOut,
    StaffCarryIn,
)
from views.messages import election_problem_text
from workflow.elections import ElectionRefused

ADMIN = frozenset({Role.ADMIN.value})
MANAGERS = frozenset({Role.ADMIN.value, Role.TERRITORIAL.value})
_TIMES = ("issue_opens_at", "issue_deadline_at", "voting_opens_at", "voting_closes_at")
# Fields an explicit null may clear: the window, for an election without certificates.
_NULLABLE = frozenset({"issue_opens_on", "issue_deadline_on"})


def _clock(value: time) -> str:
    return value.strftime("%H:%M")


def election_out(election: Election, actor: Actor) -> ElectionOut:
    current = default_election_for(db.session, actor, api_now())
    return ElectionOut(
        id=election.id,
        code=election.code,
        kind=election.kind,  # type: ignore[arg-type]
        number_series=election.number_series,
        name_kk=election.name_kk,
        name_ru=election.name_ru,
        name_en=election.name_en,
        voting_day=election.voting_day,
        issue_opens_on=election.issue_opens_on,
        issue_opens_at=_clock(election.issue_opens_at),
        issue_deadline_on=election.issue_deadline_on,
        issue_deadline_at=_clock(election.issue_deadline_at),
        voting_opens_at=_clock(election.voting_opens_at),
        voting_closes_at=_clock(election.voting_closes_at),
        allow_surrender=election.allow_surrender,
        allow_return_home=election.allow_return_home,
        refuse_inclusion_in_home_locality=election.refuse_inclusion_in_home_locality,
        proxy_warning_threshold=election.proxy_warning_threshold,
        phase=phase_of(db.session, election, api_now()).value,  # type: ignore[arg-type]
        current=current is not None and current.id == election.id,
        corrections=[
            CorrectionOut(
                at=event.occurred_at,
                reason=str(event.payload.get("reason", "")),
                changed=dict(event.payload.get("changed", {})),
            )
            for event in corrections(db.session, election.id)
        ],
    )


def _refused(refused: ElectionRefused) -> Problem:
    return Problem(
        422,
        "invalid_election",
        _("The election's data is not accepted; nothing was stored."),
        errors=[
            {"field": p.name, "detail": election_problem_text(p.code, p.params)}
            for p in refused.problems
        ],
    )


def _values(given: dict[str, Any]) -> dict[str, Any]:
    values = dict(given)
    for name in _TIMES:
        if isinstance(values.get(name), str):
            values[name] = time.fromisoformat(values[name])
    return values


def _election(election_id: int) -> Election:
    election = db.session.get(Election, election_id)
    if election is None:
        raise NotFound("election")
    return election


def _network_out(summary: NetworkSummary) -> NetworkOut:
    return NetworkOut(**summary.counts(), unmatched_staff=summary.unmatched_staff)


def _give_network(actor: Actor, election: Election, network: NetworkIn) -> NetworkSummary:
    if network.map is not None:
        return load_map(db.session, actor, election.id, network.map, api_now())
    assert network.copy_from is not None  # noqa: S101 - the schema wants one of the two
    return copy_network(
        db.session,
        actor,
        source_id=network.copy_from,
        target_id=election.id,
        now=api_now(),
        with_staff=network.with_staff,
    )


@operation(
    "POST",
    "/elections",
    summary="Create an election: its calendar, policies and (optionally) its network",
    tag="elections",
    roles=ADMIN,
    body=ElectionIn,
    responses={201: ElectionOut},
    refusals=("invalid_election",),
    description=(
        "Every calendar problem is an entry of `errors` naming its field; nothing is stored "
        "unless all is sound. `network` starts the precincts from a shipped map of regions "
        "(`kz-2022`, `kz-2026`) or copies another election's network (and its staff)."
    ),
)
def create(actor: Actor, body: ElectionIn) -> Result:
    values = _values(body.model_dump(exclude={"network"}))
    try:
        election = create_election(db.session, actor, ElectionInput(**values), api_now())
    except ElectionRefused as refused:
        raise _refused(refused) from refused
    if body.network is not None:
        _give_network(actor, election, body.network)
    return Result(
        201,
        election_out(election, actor),
        location=url_for("api.get_election", election_id=election.id),
    )


@operation(
    "PATCH",
    "/elections/{election_id}",
    summary="Change an election; once its window opened, only a correction with a reason",
    tag="elections",
    roles=ADMIN,
    body=ElectionPatch,
    responses={200: ElectionOut},
    refusals=("invalid_election",),
    description=(
        "Send only the fields to change. While the election is prepared, anything may change. "
        "From the opening of its issue window, a change is a correction: it needs `reason`, "
        "never touches `code`, `number_series` or `kind`, and is listed in `corrections`. "
        "A closed election never changes."
    ),
)
def patch(actor: Actor, election_id: int, body: ElectionPatch) -> Result:
    given = {name: getattr(body, name) for name in body.model_fields_set if name != "reason"}
    nulls = sorted(name for name, value in given.items() if value is None and name not in _NULLABLE)
    if nulls:
        raise Problem(
            422,
            "invalid_input",
            _("Some fields are not valid."),
            errors=[{"field": name, "detail": _("This field is required.")} for name in nulls],
        )
    try:
        election = change_election(
            db.session,
            actor,
            election_id,
            _values({name: given[name] for name in ELECTION_FIELDS if name in given}),
            api_now(),
            reason=body.reason,
        )
    except ElectionRefused as refused:
        raise _refused(refused) from refused
    return Result(200, election_out(election, actor))


@operation(
    "POST",
    "/elections/{election_id}/network",
    summary="Give an empty network its regions (a shipped map) or a copy of another election's",
    tag="elections",
    roles=ADMIN,
    body=NetworkIn,
    responses={201: NetworkOut},
)
def network(actor: Actor, election_id: int, body: NetworkIn) -> Result:
    election = _election(election_id)
    return Result(201, _network_out(_give_network(actor, election, body)))


@operation(
    "POST",
    "/elections/{election_id}/staff",
    summary="Place another election's staff here where the same precincts and commissions exist",
    tag="elections",
    roles=ADMIN,
    body=StaffCarryIn,
    responses={200: NetworkOut},
    description=(
        "Precincts match by region code and number, commissions by region code and Russian name. "
        "Staff already placed here stay; those with no match are listed, never guessed."
    ),
)
def staff(actor: Actor, election_id: int, body: StaffCarryIn) -> Result:
    summary = carry_over_staff(
        db.session, actor, source_id=body.source_election_id, target_id=election_id, now=api_now()
    )
    return Result(200, _network_out(summary))


@operation(
    "POST",
    "/elections/{election_id}/stock",
    summary="Hand the same count of numbers to every precinct without stock (in your territory)",
    tag="stock",
    roles=MANAGERS,
    body=AllotIn,
    responses={200: AllotOut},
)
def allot(actor: Actor, election_id: int, body: AllotIn) -> Result:
    election = _election(election_id)
    done = allot_stock(
        db.session,
        actor,
        election_id=election.id,
        per_precinct=body.per_precinct,
        first_serial=body.first_serial,
        now=api_now(),
    )
    return Result(200, AllotOut(ranges=done.ranges, first=done.first, last=done.last))
