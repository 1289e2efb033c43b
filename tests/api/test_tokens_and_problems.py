"""Bearer tokens (shown once, stored as a hash, revoked when their owner moves or leaves) and the
shape of every error: RFC 9457 problem+json with a stable code and a detail in the caller's
language.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import ApiToken, IdempotentRequest, Role, User
from services.accounts import UserInput, move_user, set_active
from services.clock import FixedClock
from tests.api.conftest import Api, ApiAs
from tests.factories import World, make_voter

PROBLEM = "application/problem+json"
KAZAKH_LETTERS = re.compile("[әғқңөұүһі]", re.IGNORECASE)
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.content_type == PROBLEM, text
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code, text
    return body


def anonymous(app: Flask, language: str = "en") -> Api:
    return Api(app.test_client(), None, language)


def as_token(app: Flask, secret: str) -> Api:
    return Api(app.test_client(), secret)


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------


def test_new_token_is_shown_once_and_only_its_sha256_is_kept(
    app: Flask, api_as: ApiAs, session: Session
) -> None:
    clerk = api_as("clerk_oral")
    created = clerk.post("/tokens", {"name": "desk script", "lifetime_days": 30}, key="t1")
    assert created.status_code == 201, created.get_data(as_text=True)
    shown = created.get_json()
    secret = shown["token"]
    assert secret.startswith("kuelik_")
    assert len(secret) > 40
    assert secret.startswith(shown["prefix"])
    assert len(shown["prefix"]) < len(secret)
    assert as_token(app, secret).get("/me").get_json()["username"] == "clerk_oral"

    row = session.get_one(ApiToken, shown["id"])
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    kept = " ".join(str(value) for value in vars(row).values())
    assert secret not in kept
    stored = session.scalars(select(IdempotentRequest.body)).all()
    assert all(secret.encode() not in body for body in stored), "not even in the replay store"
    session.rollback()

    replay = clerk.post("/tokens", {"name": "desk script", "lifetime_days": 30}, key="t1")
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    replayed = replay.get_json()
    assert replayed["token"] is None
    assert {k: v for k, v in replayed.items() if k != "token"} == {
        k: v for k, v in shown.items() if k != "token"
    }

    listed = clerk.get("/tokens").get_json()["items"]
    assert secret not in str(listed)
    assert all("token" not in item and "token_hash" not in item for item in listed)
    assert shown["id"] in [item["id"] for item in listed]


def test_revoked_token_is_refused_with_401(app: Flask, api_as: ApiAs) -> None:
    clerk = api_as("clerk_oral")
    made = clerk.post("/tokens", {"name": "short-lived"}).get_json()
    api = as_token(app, made["token"])
    assert api.get("/me").status_code == 200
    revoked = clerk.post(f"/tokens/{made['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"] is not None
    answer = problem(api.get("/me"), 401, "unauthenticated")
    assert answer["status"] == 401
    assert api.get("/me").headers["WWW-Authenticate"].startswith("Bearer")
    # Revoking twice is harmless and keeps the first instant.
    again = clerk.post(f"/tokens/{made['id']}/revoke")
    assert again.get_json()["revoked_at"] == revoked.get_json()["revoked_at"]


def test_expired_token_is_refused_with_401(app: Flask, api_as: ApiAs, clock: FixedClock) -> None:
    made = api_as("clerk_oral").post("/tokens", {"name": "a day", "lifetime_days": 1}).get_json()
    api = as_token(app, made["token"])
    clock.advance(timedelta(days=1) - timedelta(seconds=1))
    assert api.get("/me").status_code == 200
    clock.advance(timedelta(seconds=1))
    problem(api.get("/me"), 401, "unauthenticated")


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer kuelik_not-a-real-token", "Token x"],
)
def test_missing_or_unknown_credentials_get_401(app: Flask, world: World, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/api/v1/me", headers=headers)
    problem(response, 401, "unauthenticated")


def test_deactivated_user_token_gets_401_and_stays_revoked_after_reactivation(
    app: Flask, api_as: ApiAs, tokens: dict[str, str], session: Session, world: World
) -> None:
    api = api_as("clerk_oral")
    assert api.get("/me").status_code == 200
    admin = world.actor("admin")
    clerk_id = world.users["clerk_oral"].id
    now = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)
    set_active(session, admin, clerk_id, False, now)
    session.commit()
    problem(api.get("/me"), 401, "unauthenticated")
    set_active(session, admin, clerk_id, True, now)
    session.commit()
    problem(api.get("/me"), 401, "unauthenticated")
    revoked = session.scalars(select(ApiToken.revoked_at).where(ApiToken.user_id == clerk_id))
    assert all(instant is not None for instant in revoked)
    session.rollback()


def test_inactive_owner_alone_is_enough_to_refuse_the_token(
    api_as: ApiAs, session: Session, world: World
) -> None:
    """Even a token not (yet) revoked stops working once its owner is inactive."""
    api = api_as("clerk_oral")
    user = session.get_one(User, world.users["clerk_oral"].id)
    user.active = False
    session.commit()
    problem(api.get("/me"), 401, "unauthenticated")


def test_moving_a_user_revokes_their_tokens(api_as: ApiAs, session: Session, world: World) -> None:
    api = api_as("clerk_almaly")
    assert api.get("/me").get_json()["precinct_id"] == world.almaty_almaly.id
    move_user(
        session,
        world.actor("admin"),
        world.users["clerk_almaly"].id,
        UserInput(
            username="clerk_almaly",
            full_name="Айгүл Сейітова",
            role=Role.CLERK,
            precinct_id=world.almaty_bostandyk.id,
        ),
        datetime(2022, 5, 25, 6, 0, tzinfo=UTC),
    )
    session.commit()
    # The token kept the rights of the old placement: it must not survive the move.
    problem(api.get("/me"), 401, "unauthenticated")
    listed = api_as("admin").get("/tokens").get_json()["items"]
    mine = [item for item in listed if item["user_id"] == world.users["clerk_almaly"].id]
    assert mine
    assert all(item["revoked_at"] is not None for item in mine)


def test_non_admin_cannot_create_or_revoke_another_users_token(
    app: Flask, api_as: ApiAs, world: World
) -> None:
    other_id = world.users["clerk_almaly"].id
    victim = api_as("clerk_almaly").post("/tokens", {"name": "mine"}).get_json()
    clerk = api_as("clerk_oral")
    problem(clerk.post("/tokens", {"name": "theirs", "user_id": other_id}), 404, "not_found")
    problem(clerk.post(f"/tokens/{victim['id']}/revoke"), 404, "not_found")
    # The answer for someone else's token is the same as for a token that does not exist.
    missing = clerk.post("/tokens/999999/revoke")
    assert missing.get_json() == clerk.post(f"/tokens/{victim['id']}/revoke").get_json()
    assert victim["id"] not in [item["id"] for item in clerk.get("/tokens").get_json()["items"]]
    assert as_token(app, victim["token"]).get("/me").status_code == 200, "still live"


def test_admin_creates_and_revokes_a_token_for_another_user(
    app: Flask, api_as: ApiAs, world: World
) -> None:
    admin = api_as("admin")
    target = world.users["checkin_oral"].id
    made = admin.post("/tokens", {"name": "scanner", "user_id": target})
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert body["user_id"] == target
    api = as_token(app, body["token"])
    assert api.get("/me").get_json()["username"] == "checkin_oral"
    assert admin.post(f"/tokens/{body['id']}/revoke").status_code == 200
    problem(api.get("/me"), 401, "unauthenticated")


# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusable:
    iin: str
    stay_locality_id: int


@pytest.fixture
def oral_voter(session: Session, world: World) -> Refusable:
    """A voter on Oral's list: Almaly's clerk is refused with not_on_list."""
    voter = make_voter(session, world, world.oral_precinct, surname="Тілдер")
    values = Refusable(voter.iin, world.derkul.id)
    session.commit()
    return values


def _refusal_in(api_as: ApiAs, voter: Refusable, language: str) -> dict[str, Any]:
    api = api_as("clerk_almaly")
    api.language = language
    body = {
        "voter_iin": voter.iin,
        "applicant_document": "ID 1",
        "stay_locality_id": voter.stay_locality_id,
    }
    return problem(api.post("/cases", body), 422, "not_on_list")


def test_problem_has_the_rfc_9457_members_and_a_stable_code(
    api_as: ApiAs, oral_voter: Refusable
) -> None:
    body = _refusal_in(api_as, oral_voter, "en")
    assert body["type"] == "/api/v1/docs#problem-not_on_list"
    assert body["title"] == "Refused"
    assert body["status"] == 422
    assert body["detail"] == "The voter is not on this precinct's voter list."
    assert isinstance(body["case_id"], int)
    assert "errors" not in body, "absent members are left out"
    assert "hints" not in body
    assert oral_voter.iin not in str(body)


def test_detail_is_in_the_language_of_accept_language(api_as: ApiAs, oral_voter: Refusable) -> None:
    """Kazakh, Russian and English details for one refusal; the code does not change.

    Needs compiled catalogs (`make translations`); Kazakh is told from Russian by its own letters.
    """
    details = {lang: _refusal_in(api_as, oral_voter, lang)["detail"] for lang in ("kk", "ru", "en")}
    assert details["en"] == "The voter is not on this precinct's voter list."
    assert len(set(details.values())) == 3, details
    assert KAZAKH_LETTERS.search(details["kk"]), details["kk"]
    assert CYRILLIC.search(details["ru"]), details
    assert not KAZAKH_LETTERS.search(details["ru"]), details


def test_english_is_the_default_for_programs(api_as: ApiAs, oral_voter: Refusable) -> None:
    body = _refusal_in(api_as, oral_voter, "")
    assert body["detail"] == "The voter is not on this precinct's voter list."


def test_validation_problem_names_every_field_at_fault(api_as: ApiAs, world: World) -> None:
    clerk = api_as("clerk_almaly")
    answer = problem(
        clerk.post(
            "/cases",
            {
                "voter_iin": "12345",
                "stay_locality_id": 0,
                "surprise": True,
                "representative": {"iin": "900101300017", "full_name": ""},
            },
        ),
        422,
        "invalid_input",
    )
    fields = sorted(error["field"] for error in answer["errors"])
    assert fields == [
        "applicant_document",
        "representative.full_name",
        "representative.power_of_attorney_number",
        "stay_locality_id",
        "surprise",
        "voter_iin",
    ]
    assert all(error["detail"] for error in answer["errors"])
    by_field = {error["field"]: error["detail"] for error in answer["errors"]}
    assert by_field["applicant_document"] == "This field is required."
    assert by_field["surprise"] == "This field is not known."
    assert "12345" not in str(answer), "the input is not echoed"


def test_query_validation_names_the_parameter(api_as: ApiAs, world: World) -> None:
    clerk = api_as("clerk_almaly")
    answer = problem(
        clerk.get("/cases", limit=0, state="nonsense", colour="red"), 422, "invalid_input"
    )
    assert sorted(error["field"] for error in answer["errors"]) == ["colour", "limit", "state"]


@pytest.mark.parametrize("body", [None, [], "text", 17])
def test_body_that_is_not_an_object_is_invalid_input(
    api_as: ApiAs, world: World, body: Any
) -> None:
    clerk = api_as("clerk_almaly")
    response = clerk.client.post(
        "/api/v1/cases",
        data="null" if body is None else json.dumps(body),
        content_type="application/json",
        headers=clerk.headers({"Idempotency-Key": "shape"}),
    )
    answer = problem(response, 422, "invalid_input")
    assert answer["errors"]


def test_non_json_body_is_415(api_as: ApiAs, world: World) -> None:
    clerk = api_as("clerk_almaly")
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = clerk.client.post(
            "/api/v1/cases",
            data="voter_iin=900101300017",
            content_type=content_type,
            headers=clerk.headers({"Idempotency-Key": content_type}),
        )
        problem(response, 415, "unsupported_media_type")


def test_malformed_json_is_400(api_as: ApiAs, world: World) -> None:
    clerk = api_as("clerk_almaly")
    for raw in (b'{"voter_iin": ', b"\xff\xfe{}", b"{'single': 'quotes'}"):
        response = clerk.client.post(
            "/api/v1/cases",
            data=raw,
            content_type="application/json",
            headers=clerk.headers({"Idempotency-Key": "malformed"}),
        )
        problem(response, 400, "malformed_json")


@pytest.mark.parametrize("token", [True, False], ids=["with-token", "without-token"])
def test_unknown_path_under_the_api_is_a_404_problem(
    app: Flask, api_as: ApiAs, token: bool
) -> None:
    api = api_as("admin") if token else anonymous(app)
    for path in ("/nothing-here", "/cases/1/nothing", "/cases/not-a-number", "/"):
        response = api.get(path)
        body = problem(response, 404, "not_found")
        assert body["status"] == 404
        assert body["title"] == "Not found"
    assert problem(app.test_client().get("/api/v1"), 404, "not_found")


def test_wrong_method_is_a_405_problem(app: Flask, api_as: ApiAs) -> None:
    api = api_as("admin")
    for method, path in (
        ("DELETE", "/api/v1/cases"),
        ("PUT", "/api/v1/cases/1"),
        ("GET", "/api/v1/cases/1/issue"),
        ("PATCH", "/api/v1/tokens"),
    ):
        response = api.client.open(path, method=method, headers=api.headers())
        body = problem(response, 405, "method_not_allowed")
        assert body["status"] == 405
        assert "Allow" in response.headers


def test_out_of_scope_record_looks_like_a_missing_one(
    api_as: ApiAs, session: Session, world: World
) -> None:
    voter = make_voter(session, world, world.oral_precinct, surname="Бөтен")
    body = {"voter_iin": voter.iin, "applicant_document": "1", "stay_locality_id": world.almaty.id}
    session.commit()
    case_id = api_as("clerk_oral").post("/cases", body).get_json()["id"]
    outsider = api_as("clerk_almaly")
    hidden = outsider.get(f"/cases/{case_id}")
    missing = outsider.get("/cases/999999")
    problem(hidden, 404, "not_found")
    assert hidden.get_data() == missing.get_data()


def test_an_action_through_the_api_names_its_token_in_the_audit_trail(
    session: Session, world: World, api_as: ApiAs
) -> None:
    from models import AuditEvent

    voter = make_voter(session, world, world.almaty_almaly, surname="Омарова")
    iin, oral = voter.iin, world.oral.id
    session.commit()
    clerk = api_as("clerk_almaly")
    applied = clerk.post(
        "/cases", {"voter_iin": iin, "applicant_document": "ID 1", "stay_locality_id": oral}
    )
    assert applied.status_code == 201, applied.get_data(as_text=True)
    token_id = clerk.get("/tokens").get_json()["items"][0]["id"]

    session.expire_all()
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == applied.get_json()["id"])
    ).one()
    assert event.event == "apply"
    assert event.payload["api_token_id"] == token_id
    assert event.actor_id == world.users["clerk_almaly"].id


@pytest.mark.parametrize("trick", ["\u202e", "\u2066", "\x85", "\x00"])
def test_direction_overrides_and_control_characters_are_refused_by_field(
    api_as: ApiAs, trick: str
) -> None:
    """A right-to-left override would print a name other than the one stored."""
    answer = api_as("clerk_almaly").post(
        "/cases",
        {
            "voter_iin": "900101300017",
            "applicant_document": f"ID {trick}123",
            "stay_locality_id": 2,
        },
    )
    body = problem(answer, 422, "invalid_input")
    assert body["errors"] == [
        {"field": "applicant_document", "detail": "Control characters are not allowed here."}
    ]
