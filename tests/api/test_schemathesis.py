"""Schemathesis against the served OpenAPI document: every operation, as every role, conforms.

The document is loaded from GET /api/v1/openapi.json, as a client would, and each of its
operations is called as admin, territorial_west, clerk_oral, checkin_oral, an observer and
anonymous (no token), on SQLite and PostgreSQL. Schemathesis sends the document's examples, its
coverage cases (boundaries, missing and malformed values, unexpected methods) and fuzzed requests,
valid and invalid, and checks every answer: no server error; a documented status, content type
and headers; a body valid against the documented schema; invalid input refused; 400 without the
Idempotency-Key; 405 for an undocumented method; no success once the token is removed. Besides,
a role the registry refuses never gets a success.

The refusal comes before the input is read, so for a refused role the coverage cases are
generated but not sent: that keeps the file near half a minute per backend. Each backend and role
gets a fresh database with three cases at Oral (ids 1-3, the first one issued), which the
operations of that role then share, as one client's calls would.

Fuzzed requests per operation and role: 10 by default; for a long run set
KUELIK_SCHEMATHESIS_EXAMPLES, e.g.

    KUELIK_SCHEMATHESIS_EXAMPLES=300 .venv/bin/pytest -q -p no:cacheprovider \\
        tests/api/test_schemathesis.py

Hypothesis is derandomized and keeps no example database; a failure prints a curl command that
replays the request, and the server's traceback for a 500 is in the captured log.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from sqlalchemy.orm import Session

from app import create_app
from models import Role, User, db
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.clock import FixedClock
from services.tokens import create_token
from tests.conftest import DEFAULT_NOW, truncate_all
from tests.factories import World, make_voter, make_world
from views.api.core import OPERATIONS

EXAMPLES = int(os.environ.get("KUELIK_SCHEMATHESIS_EXAMPLES", "10"))
CALLERS = ("admin", "territorial_west", "clerk_oral", "checkin_oral", "observer", "anonymous")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    ignored_auth,
]
TOKENS_ISSUED_AT = datetime(2022, 5, 1, tzinfo=UTC)
REVOKE_PATH = "/tokens/{token_id}/revoke"


def _document_app() -> Flask:
    """An app that serves nothing but the document here: no request below touches its database."""
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True, "SECRET_KEY": "x"})


schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    _document_app(),
    # Every request carries the caller's own token: a generated or removed Authorization header
    # would be overwritten by it, and a request meant to be invalid would then be a valid one.
    config=schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}}),
)
# Who may call what, from the registry the app above was built with: (METHOD, path) -> roles.
ROLES_OF = {(op.method, op.path): op.roles for op in OPERATIONS}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=CALLERS)
def caller_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def api_app(
    request: pytest.FixtureRequest,
    backend: str,
    caller_name: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """A fresh database per backend and caller, made as `database_url` makes one per test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        copy = tmp_path_factory.mktemp("schemathesis") / "test.sqlite"
        shutil.copyfile(template, copy)
        url = f"sqlite:///{copy}"
    else:
        url = request.getfixturevalue("postgres_database")
        truncate_all(url)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "KUELIK_CLOCK_START": FixedClock(DEFAULT_NOW),
            # Imports run within the request: no thread outlives the test's database.
            "KUELIK_IMPORTS_INLINE": True,
            # Every verification comes from one address; 429 stays documented all the same.
            "KUELIK_VERIFY_LIMIT": 1_000_000,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@dataclass
class Caller:
    """Who calls: a user of the world with a token, or nobody (no Authorization header)."""

    app: Flask
    world: World
    username: str | None
    secret: str | None = None
    token_id: int | None = None

    def mint(self) -> None:
        """A new token for the user (at the start, and when the fuzzer revoked the last one)."""
        assert self.username is not None
        with self.app.app_context():
            engine = db.engine
        with Session(engine) as session:
            created = create_token(
                session,
                self.world.actor(self.username),
                owner_id=self.world.users[self.username].id,
                name="schemathesis",
                now=TOKENS_ISSUED_AT,
            )
            session.commit()
            self.secret, self.token_id = created.secret, created.token.id

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Accept-Language": "en"}
        if self.secret is not None:
            headers["Authorization"] = f"Bearer {self.secret}"
        return headers

    def may_call(self, case: Case) -> bool:
        roles = ROLES_OF[(case.operation.method.upper(), case.operation.path)]
        if roles is None:
            return True
        return self.username is not None and self.world.users[self.username].role.value in roles

    def revoked_own_token(self, case: Case, response: schemathesis.Response) -> bool:
        return (
            case.operation.path == REVOKE_PATH
            and response.request.method == "POST"  # not one of the coverage's other methods
            and response.status_code == 200
            and response.json().get("id") == self.token_id
        )


def _arrange(session: Session) -> World:
    """The test world, an observer, and three cases at Oral (the first one issued)."""
    world = make_world(session)
    observer = User(
        username="observer", full_name="Observer", password_hash="x", role=Role.OBSERVER
    )
    session.add(observer)
    session.flush()
    session.refresh(observer)  # its (empty) placements loaded: usable once the session is gone
    world.users["observer"] = observer
    clerk = world.actor("clerk_oral")
    for index in range(3):
        voter = make_voter(session, world, world.oral_precinct, surname=f"Орынбаев{index}")
        outcome = apply_for_certificate(
            session,
            clerk,
            ApplicationInput(
                world.election.id, world.oral_precinct.id, voter.iin, "ID 9", world.almaty.id
            ),
            DEFAULT_NOW,
        )
        if index == 0:
            issue_certificate(session, clerk, outcome.case.id, DEFAULT_NOW)
    session.commit()
    return world


@pytest.fixture(scope="module")
def caller(api_app: Flask, caller_name: str) -> Caller:
    with api_app.app_context():
        engine = db.engine
    with Session(engine, expire_on_commit=False) as session:
        world = _arrange(session)
    if caller_name == "anonymous":
        return Caller(api_app, world, None)
    authenticated = Caller(api_app, world, caller_name)
    authenticated.mint()
    return authenticated


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
@schema.parametrize()
def test_api_conforms_to_its_document(case: Case, api_app: Flask, caller: Caller) -> None:
    assert case.meta is not None
    permitted = caller.may_call(case)
    if case.meta.phase.name.value == "coverage" and not permitted:
        return
    response = case.call_and_validate(app=api_app, headers=caller.headers, checks=CHECKS)
    if not permitted:
        # Never a success: 401 without a token, 404 with one (as for a path no route matches),
        # or 400 for a NUL byte, which any request is refused for before anything else.
        assert response.status_code in (400, 401, 404), response.status_code
    if caller.revoked_own_token(case, response):
        caller.mint()
