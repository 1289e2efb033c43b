"""The API tokens page: a secret shown once, a revoke that bites, an admin acting for a user."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken
from tests.factories import World
from tests.views.conftest import SignIn, csrf_token, form_key


def _create(client: FlaskClient, url: str, name: str = "nightly report") -> str:
    page = client.get(url).get_data(as_text=True)
    answer = client.post(
        url,
        data={
            "csrf_token": csrf_token(page),
            "form_key": form_key(page),
            "name": name,
            "lifetime_days": "30",
        },
    )
    assert answer.status_code == 200
    found = re.search(r'id="new-token">([^<]+)<', answer.get_data(as_text=True))
    assert found, "the new token is shown"
    return found.group(1)


def test_a_token_made_on_the_page_opens_the_api_until_it_is_revoked(
    app: Flask, session: Session, world: World, sign_in: SignIn
) -> None:
    client = sign_in("clerk_oral")
    secret = _create(client, "/account/tokens")
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/me", headers=bearer).status_code == 200

    listing = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in listing, "the secret is shown once, never again"
    token = session.scalars(select(ApiToken)).one()
    assert token.name == "nightly report"
    page = client.get("/account/tokens").get_data(as_text=True)
    revoked = client.post(
        f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert revoked.status_code == 302
    assert api.get("/api/v1/me", headers=bearer).status_code == 401


def test_an_admin_makes_a_token_for_a_user_and_others_cannot(
    app: Flask, world: World, sign_in: SignIn
) -> None:
    user_id = world.users["checkin_oral"].id
    secret = _create(sign_in("admin"), f"/admin/users/{user_id}/tokens", "desk scanner")
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.get_json()["username"] == "checkin_oral"

    clerk = sign_in("clerk_oral")
    assert clerk.get(f"/admin/users/{user_id}/tokens").status_code == 404
