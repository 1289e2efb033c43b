"""Who am I, elections, precincts, localities, and the caller's own API tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import url_for
from sqlalchemy import select

from models import ApiToken, Locality, Precinct, Region, User, db
from services.audit import Actor
from services.elections import default_election_for, visible_elections
from services.errors import NotFound
from services.search import fold_name
from services.tokens import create_token, revoke_token
from views.api.convert import (
    election_or_current,
    locality_out,
    next_after,
    page_of,
    placement_out,
    precinct_out,
)
from views.api.core import ALL_ROLES, Result, api_now, operation
from views.api.elections import election_out
from views.api.schemas import (
    ElectionList,
    ElectionOut,
    LocalityList,
    LocalityQuery,
    MeOut,
    NewTokenOut,
    PrecinctList,
    PrecinctOut,
    PrecinctQuery,
    TokenIn,
    TokenList,
    TokenOut,
)


@operation(
    "GET",
    "/me",
    summary="The token's user: role and placement",
    tag="reference",
    roles=ALL_ROLES,
    responses={200: MeOut},
)
def me(actor: Actor) -> Result:
    user = db.session.get_one(User, actor.user_id)
    current = default_election_for(db.session, actor, api_now())
    here = None if current is None else user.placement_in(current.id)
    return Result(
        200,
        MeOut(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            role=user.role.value,
            precinct_id=None if here is None else here.precinct_id,
            territorial_commission_id=None if here is None else here.territorial_commission_id,
            current_election_id=None if current is None else current.id,
            placements=[placement_out(p) for p in user.placements],
        ),
    )


@operation(
    "GET",
    "/elections",
    summary="The elections the caller sees, newest voting day first (`current` marks the one "
    "whose window or voting day is current)",
    tag="reference",
    roles=ALL_ROLES,
    responses={200: ElectionList},
)
def list_elections(actor: Actor) -> Result:
    rows = visible_elections(db.session, actor)
    return Result(200, ElectionList(items=[election_out(row, actor) for row in rows]))


@operation(
    "GET",
    "/elections/{election_id}",
    summary="One election with its dates, hours and policies",
    tag="reference",
    roles=ALL_ROLES,
    responses={200: ElectionOut},
)
def get_election(actor: Actor, election_id: int) -> Result:
    election = next((e for e in visible_elections(db.session, actor) if e.id == election_id), None)
    if election is None:
        raise NotFound("election")
    return Result(200, election_out(election, actor))


@operation(
    "GET",
    "/precincts",
    summary="Precincts (public reference data), by id",
    tag="reference",
    roles=ALL_ROLES,
    query=PrecinctQuery,
    responses={200: PrecinctList},
)
def list_precincts(actor: Actor, query: PrecinctQuery) -> Result:
    election = election_or_current(actor, query.election_id)
    statement = select(Precinct).where(Precinct.election_id == election.id)
    if query.region_kato is not None:
        statement = statement.join(Region, Region.id == Precinct.region_id).where(
            Region.kato == query.region_kato
        )
    if query.number is not None:
        statement = statement.where(Precinct.number == query.number)
    rows, cursor = page_of(statement, Precinct.id, query)
    return Result(200, PrecinctList(items=[precinct_out(row) for row in rows], next_after=cursor))


@operation(
    "GET",
    "/precincts/{precinct_id}",
    summary="One precinct",
    tag="reference",
    roles=ALL_ROLES,
    responses={200: PrecinctOut},
)
def get_precinct(actor: Actor, precinct_id: int) -> Result:
    precinct = db.session.get(Precinct, precinct_id)
    if precinct is None:
        raise NotFound("precinct")
    return Result(200, precinct_out(precinct))


@operation(
    "GET",
    "/localities",
    summary="Localities (settlements), for the place of stay",
    tag="reference",
    roles=ALL_ROLES,
    query=LocalityQuery,
    responses={200: LocalityList},
)
def list_localities(actor: Actor, query: LocalityQuery) -> Result:
    election = election_or_current(actor, query.election_id)
    statement = select(Locality).where(Locality.election_id == election.id)
    if query.region_kato is not None:
        statement = statement.join(Region, Region.id == Locality.region_id).where(
            Region.kato == query.region_kato
        )
    if query.after is not None:
        statement = statement.where(Locality.id > query.after)
    rows = list(db.session.scalars(statement.order_by(Locality.id)))
    if query.name:
        wanted = fold_name(query.name)
        rows = [
            row
            for row in rows
            if wanted in fold_name(row.name_ru) or wanted in fold_name(row.name_kk)
        ]
    rows = rows[: query.limit]
    return Result(
        200,
        LocalityList(
            items=[locality_out(row) for row in rows],
            next_after=next_after([row.id for row in rows], query.limit),
        ),
    )


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        user_id=token.user_id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


@operation(
    "GET",
    "/tokens",
    summary="The caller's API tokens (an admin sees everyone's)",
    tag="tokens",
    roles=ALL_ROLES,
    responses={200: TokenList},
)
def list_tokens(actor: Actor) -> Result:
    statement = select(ApiToken).order_by(ApiToken.id)
    if actor.role != "admin":
        statement = statement.where(ApiToken.user_id == actor.user_id)
    return Result(200, TokenList(items=[_token_out(row) for row in db.session.scalars(statement)]))


@operation(
    "POST",
    "/tokens",
    summary="Create a token; its secret is in this answer only",
    tag="tokens",
    roles=ALL_ROLES,
    body=TokenIn,
    responses={201: NewTokenOut},
)
def new_token(actor: Actor, body: TokenIn) -> Result:
    created = create_token(
        db.session,
        actor,
        owner_id=body.user_id or actor.user_id or 0,
        name=body.name,
        now=api_now(),
        lifetime=timedelta(days=body.lifetime_days),
    )
    shown = NewTokenOut(**_token_out(created.token).model_dump(), token=created.secret)
    # A replay must not show the secret again: it is kept nowhere.
    replayed = NewTokenOut(**_token_out(created.token).model_dump(), token=None)
    return Result(
        201,
        shown,
        location=url_for("api.list_tokens"),
        stored=replayed,
    )


@operation(
    "POST",
    "/tokens/{token_id}/revoke",
    summary="Revoke a token at once",
    tag="tokens",
    roles=ALL_ROLES,
    responses={200: TokenOut},
)
def revoke(actor: Actor, token_id: int) -> Result:
    return Result(200, _token_out(revoke_token(db.session, actor, token_id, api_now())))
