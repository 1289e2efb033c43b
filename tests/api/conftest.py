"""API fixtures: the web's world, a bearer token per user, and a small client wrapper."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from services.tokens import create_token
from tests.factories import World
from tests.views.conftest import app, session, world  # noqa: F401 - fixtures shared with the web

NOW_FOR_TOKENS = "2022-05-01T00:00:00+00:00"


@dataclass
class Api:
    """A client that speaks as one token; every POST gets a fresh Idempotency-Key by default."""

    client: FlaskClient
    token: str | None
    language: str = "en"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept-Language": self.language}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(f"/api/v1{path}", query_string=query, headers=self.headers())

    def post(
        self, path: str, body: Any = None, *, key: str | None = "auto", **headers: str
    ) -> TestResponse:
        extra = dict(headers)
        if key == "auto":
            extra["Idempotency-Key"] = uuid.uuid4().hex
        elif key is not None:
            extra["Idempotency-Key"] = key
        return self.client.post(
            f"/api/v1{path}",
            json=body if body is not None else None,
            headers=self.headers(extra),
        )

    def patch(self, path: str, body: Any = None) -> TestResponse:
        return self.client.patch(
            f"/api/v1{path}",
            json=body if body is not None else None,
            headers=self.headers(),
        )


ApiAs = Callable[[str], Api]


@pytest.fixture
def tokens(app: Flask, session: Session, world: World) -> dict[str, str]:  # noqa: F811
    """A live token for every user of the world."""
    from datetime import datetime

    issued: dict[str, str] = {}
    for name in world.users:
        created = create_token(
            session,
            world.actor(name),
            owner_id=world.users[name].id,
            name="tests",
            now=datetime.fromisoformat(NOW_FOR_TOKENS),
        )
        issued[name] = created.secret
    session.commit()
    return issued


@pytest.fixture
def api_as(app: Flask, tokens: dict[str, str]) -> ApiAs:  # noqa: F811
    def build(username: str) -> Api:
        return Api(app.test_client(), tokens.get(username))

    return build
