"""Accounts and their placements, and re-listing of voters, over the API."""

from __future__ import annotations

from flask import url_for

from models import Role, User, db
from services.accounts import UserInput, create_user, place_user
from services.administration import visible_users
from services.audit import Actor
from services.errors import NotFound
from services.voters import move_voter
from views.api.convert import placement_out, voter_out
from views.api.core import Result, api_now, operation
from views.api.schemas import (
    MoveVoterIn,
    PlacementIn,
    UserIn,
    UserList,
    UserOut,
    VoterOut,
)

MANAGERS = frozenset({Role.ADMIN.value, Role.TERRITORIAL.value})


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role.value,  # type: ignore[arg-type]
        active=user.active,
        placements=[placement_out(p) for p in user.placements],
    )


@operation(
    "GET",
    "/users",
    summary="The accounts the caller manages (a territorial commission: its own staff)",
    tag="users",
    roles=MANAGERS,
    responses={200: UserList},
)
def list_users(actor: Actor) -> Result:
    return Result(200, UserList(items=[user_out(u) for u in visible_users(db.session, actor)]))


@operation(
    "POST",
    "/users",
    summary="Create an account, placed at a precinct or commission of one election",
    tag="users",
    roles=MANAGERS,
    body=UserIn,
    responses={201: UserOut},
    description=(
        "A territorial commission creates clerks and check-in staff at its own precincts only."
    ),
)
def new_user(actor: Actor, body: UserIn) -> Result:
    user = create_user(
        db.session,
        actor,
        UserInput(
            username=body.username,
            full_name=body.full_name,
            role=Role(body.role),
            precinct_id=body.precinct_id,
            territorial_commission_id=body.territorial_commission_id,
        ),
        body.password,
        api_now(),
    )
    return Result(201, user_out(user), location=url_for("api.list_users"))


@operation(
    "POST",
    "/users/{user_id}/placements",
    summary="Place a user in another election (a changed placement ends their sessions)",
    tag="users",
    roles=MANAGERS,
    body=PlacementIn,
    responses={200: UserOut},
)
def place(actor: Actor, user_id: int, body: PlacementIn) -> Result:
    if user_id not in {u.id for u in visible_users(db.session, actor)} and actor.role != "admin":
        raise NotFound("user")
    placement = place_user(
        db.session,
        actor,
        user_id,
        precinct_id=body.precinct_id,
        territorial_commission_id=body.territorial_commission_id,
        now=api_now(),
    )
    db.session.expire(placement.user, ["placements"])
    return Result(200, user_out(placement.user))


@operation(
    "POST",
    "/voters/{voter_id}/move",
    summary="Re-listing: move a voter to another precinct's list of the same election",
    tag="voters",
    roles=MANAGERS,
    body=MoveVoterIn,
    responses={200: VoterOut},
    refusals=("holds_certificate", "relisting_closed", "reason_required"),
    description=(
        "The akimat's route to vote elsewhere (domain.md §10), recorded with its reason. Refused "
        "while the voter holds an application or a certificate, and once voting day began."
    ),
)
def move(actor: Actor, voter_id: int, body: MoveVoterIn) -> Result:
    voter = move_voter(db.session, actor, voter_id, body.to_precinct_id, body.reason, api_now())
    return Result(200, voter_out(voter, None))
