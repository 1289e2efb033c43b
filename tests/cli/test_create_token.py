"""`flask create-token`: prints a working token once, keeps only its hash."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken
from tests.factories import World, make_world


@pytest.fixture
def world(session: Session) -> World:
    built = make_world(session)
    session.commit()
    return built


def test_the_printed_token_opens_the_api_and_only_its_hash_is_stored(
    app: Flask, session: Session, world: World
) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-token", "clerk_oral", "--name", "nightly report", "--days", "7"]
    )

    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("kuelik_")
    stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (stored.prefix, stored.name, stored.token_hash)
    assert (stored.expires_at - stored.created_at).days == 7
    answer = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    assert answer.get_json()["username"] == "clerk_oral"


def test_an_unknown_user_is_explained_and_nothing_is_stored(
    app: Flask, session: Session, world: World
) -> None:
    result = app.test_cli_runner().invoke(args=["create-token", "nobody", "--name", "x"])

    assert result.exit_code != 0
    assert "No active user is called 'nobody'" in result.output
    assert session.scalars(select(ApiToken)).first() is None
