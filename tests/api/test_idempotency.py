"""Idempotency-Key: a retried POST replays the first answer and never acts twice.

The key is required on every authenticated POST; the first answer is stored with the action in
one transaction; a retry with the same key and body gets it back byte for byte (header
`Idempotent-Replayed: true`); the same key with another request is refused; keys belong to
their user. On PostgreSQL, twin requests racing with one key act exactly once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import services.cases
import views.api.core
from models import (
    ApiToken,
    AuditEvent,
    Certificate,
    CertificateCase,
    IdempotentRequest,
    Inclusion,
)
from services.clock import FixedClock
from tests.api.conftest import Api, ApiAs
from tests.factories import World, make_voter

PROBLEM = "application/problem+json"
VOTING_MORNING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)
BARRIER_TIMEOUT = 30.0


@dataclass(frozen=True)
class Counts:
    cases: int
    certificates: int
    events: int
    inclusions: int
    tokens: int


def counts(session: Session) -> Counts:
    """What the database holds now (the read ends at once, so it never blocks a request)."""

    def count(model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    values = Counts(
        cases=count(CertificateCase),
        certificates=count(Certificate),
        events=count(AuditEvent),
        inclusions=count(Inclusion),
        tokens=count(ApiToken),
    )
    session.rollback()
    return values


@dataclass(frozen=True)
class Desk:
    iin: str
    oral_locality: int
    almaty_locality: int


@pytest.fixture
def desk(world: World, session: Session) -> Desk:
    """A fresh voter on Almaly's list, and the localities to apply with."""
    voter = make_voter(session, world, world.almaty_almaly, surname="Қайталанов")
    values = Desk(voter.iin, world.oral.id, world.almaty.id)
    session.commit()
    return values


def apply_body(desk: Desk, **changes: Any) -> dict[str, Any]:
    body = {
        "voter_iin": desk.iin,
        "applicant_document": "ID 1",
        "stay_locality_id": desk.oral_locality,
    }
    body.update(changes)
    return body


def assert_replayed(first: TestResponse, again: TestResponse) -> None:
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.status_code == first.status_code
    assert again.content_type == first.content_type
    assert again.get_data() == first.get_data(), "the first answer, byte for byte"
    assert again.headers.get("Location") == first.headers.get("Location")


def problem_code(response: TestResponse, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    code: str = response.get_json()["code"]
    return code


def test_retried_application_replays_the_first_answer_and_records_one_case(
    api_as: ApiAs, session: Session, desk: Desk
) -> None:
    clerk = api_as("clerk_almaly")
    before = counts(session)
    first = clerk.post("/cases", apply_body(desk), key="apply-1")
    assert first.status_code == 201, first.get_data(as_text=True)
    after_first = counts(session)
    assert after_first.cases == before.cases + 1

    for _retry in range(2):
        again = clerk.post("/cases", apply_body(desk), key="apply-1")
        assert_replayed(first, again)
    assert counts(session) == after_first, "a retry never acts again (not even an audit event)"


def test_retried_issue_takes_one_number_and_marks_once(
    api_as: ApiAs, session: Session, desk: Desk
) -> None:
    clerk = api_as("clerk_almaly")
    case_id = clerk.post("/cases", apply_body(desk)).get_json()["id"]
    first = clerk.post(f"/cases/{case_id}/issue", {}, key="issue-1")
    assert first.status_code == 200, first.get_data(as_text=True)
    after_first = counts(session)
    again = clerk.post(f"/cases/{case_id}/issue", {}, key="issue-1")
    assert_replayed(first, again)
    assert counts(session) == after_first
    # Without the key's memory the same request is a second, refused action.
    fresh = clerk.post(f"/cases/{case_id}/issue", {}, key="issue-2")
    assert problem_code(fresh, 409) == "invalid_transition"
    assert counts(session).certificates == after_first.certificates


def test_retried_refused_application_replays_the_refusal_and_records_one_refused_case(
    api_as: ApiAs, session: Session, desk: Desk
) -> None:
    clerk = api_as("clerk_almaly")
    # A stay in the home locality: refused, and the refusal is recorded as a case.
    body = apply_body(desk, stay_locality_id=desk.almaty_locality)
    before = counts(session)
    first = clerk.post("/cases", body, key="refused-1")
    assert problem_code(first, 422) == "same_locality"
    case_id = first.get_json()["case_id"]
    after_first = counts(session)
    assert (after_first.cases, after_first.events) == (before.cases + 1, before.events + 1)

    again = clerk.post("/cases", body, key="refused-1")
    assert_replayed(first, again)
    assert again.get_json()["case_id"] == case_id
    assert counts(session) == after_first


def test_retried_checkin_includes_once_and_answers_included_not_already_used(
    api_as: ApiAs, session: Session, desk: Desk, clock: FixedClock
) -> None:
    clerk = api_as("clerk_almaly")
    case_id = clerk.post("/cases", apply_body(desk)).get_json()["id"]
    number = clerk.post(f"/cases/{case_id}/issue", {}).get_json()["certificate"]["number"]
    code = session.scalar(
        select(Certificate.verification_code).where(Certificate.case_id == case_id)
    )
    session.rollback()
    clock.instant = VOTING_MORNING
    body = {"number": number, "verification_code": code}
    desk_api = api_as("checkin_oral")
    first = desk_api.post("/checkin", body, key="checkin-1")
    assert first.status_code == 201, first.get_data(as_text=True)
    after_first = counts(session)
    again = desk_api.post("/checkin", body, key="checkin-1")
    assert_replayed(first, again)
    assert again.get_json()["outcome"] == "included"
    assert counts(session) == after_first
    assert after_first.inclusions == 1


def test_replay_returns_the_first_answer_even_after_the_case_moved_on(
    api_as: ApiAs, session: Session, desk: Desk
) -> None:
    clerk = api_as("clerk_almaly")
    first = clerk.post("/cases", apply_body(desk), key="then")
    case_id = first.get_json()["id"]
    assert clerk.post(f"/cases/{case_id}/issue", {}).status_code == 200
    again = clerk.post("/cases", apply_body(desk), key="then")
    assert_replayed(first, again)
    assert again.get_json()["state"] == "received"
    assert clerk.get(f"/cases/{case_id}").get_json()["state"] == "issued"


@pytest.mark.parametrize(
    "second",
    ["other-body", "other-path"],
)
def test_same_key_with_another_request_refused_idempotency_key_reused(
    api_as: ApiAs, session: Session, desk: Desk, second: str
) -> None:
    clerk = api_as("clerk_almaly")
    first = clerk.post("/cases", apply_body(desk), key="reused")
    assert first.status_code == 201
    case_id = first.get_json()["id"]
    after_first = counts(session)
    if second == "other-body":
        response = clerk.post("/cases", apply_body(desk, applicant_document="ID 2"), key="reused")
    else:
        response = clerk.post(f"/cases/{case_id}/withdraw", {"reason": ""}, key="reused")
    assert problem_code(response, 422) == "idempotency_key_reused"
    assert "Idempotent-Replayed" not in response.headers
    assert counts(session) == after_first, "nothing was done"
    assert clerk.get(f"/cases/{case_id}").get_json()["state"] == "received"


def test_post_without_a_key_refused_idempotency_key_missing_and_nothing_done(
    api_as: ApiAs, session: Session, desk: Desk
) -> None:
    clerk = api_as("clerk_almaly")
    before = counts(session)
    assert problem_code(clerk.post("/cases", apply_body(desk), key=None), 400) == (
        "idempotency_key_missing"
    )
    blank = clerk.post("/cases", apply_body(desk), key="   ")
    assert problem_code(blank, 400) == "idempotency_key_missing"
    assert counts(session) == before
    # A GET needs no key.
    assert clerk.get("/cases").status_code == 200


@pytest.mark.parametrize("key", ["x" * 256, "ключ", "tab\there"], ids=["long", "cyrillic", "tab"])
def test_malformed_key_refused_idempotency_key_invalid(
    api_as: ApiAs, session: Session, desk: Desk, key: str
) -> None:
    clerk = api_as("clerk_almaly")
    before = counts(session)
    # A header travels as latin-1: Cyrillic arrives as the bytes of its UTF-8 form.
    raw = key.encode().decode("latin-1")
    response = clerk.post("/cases", apply_body(desk), key=raw)
    assert problem_code(response, 400) == "idempotency_key_invalid"
    assert counts(session) == before


def test_longest_allowed_key_is_accepted(api_as: ApiAs, session: Session, desk: Desk) -> None:
    clerk = api_as("clerk_almaly")
    first = clerk.post("/cases", apply_body(desk), key="k" * 255)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert_replayed(first, clerk.post("/cases", apply_body(desk), key="k" * 255))


def test_keys_belong_to_their_user(api_as: ApiAs, session: Session, world: World) -> None:
    """Two users with one key act twice; neither ever gets the other's stored answer."""
    almaly = make_voter(session, world, world.almaty_almaly, surname="Алмалы")
    oral = make_voter(session, world, world.oral_precinct, surname="Орал")
    almaly_body = {"voter_iin": almaly.iin, "applicant_document": "1", "stay_locality_id": 2}
    oral_body = {"voter_iin": oral.iin, "applicant_document": "1", "stay_locality_id": 1}
    session.commit()
    before = counts(session)
    first = api_as("clerk_almaly").post("/cases", almaly_body, key="shared-key")
    second = api_as("clerk_oral").post("/cases", oral_body, key="shared-key")
    assert (first.status_code, second.status_code) == (201, 201), second.get_data(as_text=True)
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["id"] != second.get_json()["id"]
    assert counts(session).cases == before.cases + 2

    # The very same request by two users: a token each, never the other's secret replayed.
    body = {"name": "same script"}
    mine = api_as("clerk_almaly").post("/tokens", body, key="token-key")
    theirs = api_as("clerk_oral").post("/tokens", body, key="token-key")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.get_json()["token"] != theirs.get_json()["token"]
    assert mine.get_json()["user_id"] != theirs.get_json()["user_id"]
    stored = session.scalar(
        select(func.count())
        .select_from(IdempotentRequest)
        .where(IdempotentRequest.key == "token-key")
    )
    session.rollback()
    assert stored == 2


def test_invalid_body_does_not_use_up_the_key(api_as: ApiAs, session: Session, desk: Desk) -> None:
    """A request refused before it started acting stores nothing: the corrected one may follow."""
    clerk = api_as("clerk_almaly")
    broken = clerk.post("/cases", {"voter_iin": desk.iin}, key="fix-me")
    assert problem_code(broken, 422) == "invalid_input"
    fixed = clerk.post("/cases", apply_body(desk), key="fix-me")
    assert fixed.status_code == 201, fixed.get_data(as_text=True)


def test_public_verify_needs_no_key(api_as: ApiAs) -> None:
    anonymous = Api(api_as("admin").client, None)
    response = anonymous.post(
        "/verify", {"number": "00000001-3", "verification_code": "ACDEFHJK"}, key=None
    )
    assert problem_code(response, 404) == "not_found"


# ---------------------------------------------------------------------------------------------
# Twins in flight (PostgreSQL): real threads, one test client each, a barrier
# ---------------------------------------------------------------------------------------------


def _race(apis: list[Api], send: Callable[[Api], TestResponse]) -> list[TestResponse]:
    barrier = threading.Barrier(len(apis), timeout=BARRIER_TIMEOUT)
    answers: list[TestResponse | BaseException | None] = [None] * len(apis)

    def run(index: int) -> None:
        try:
            barrier.wait()
            answers[index] = send(apis[index])
        except BaseException as error:  # reported below, in the main thread
            answers[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(apis))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
        assert not thread.is_alive(), "a twin hung: a lock nobody releases"
    responses = []
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
        assert answer is not None
        responses.append(answer)
    return responses


TWINS = 3
TRIALS = 4
HOLD_SECONDS = 0.2


def _twin_trials(
    api_as: ApiAs, session: Session, world: World, *, same_key: bool
) -> list[tuple[list[TestResponse], int]]:
    """Each trial: TWINS clients post one application for a fresh voter at the same instant."""
    results = []
    for trial in range(TRIALS):
        voter = make_voter(session, world, world.almaty_almaly, surname=f"Егіз{trial}")
        body = {"voter_iin": voter.iin, "applicant_document": "1", "stay_locality_id": 2}
        voter_id = voter.id
        session.commit()
        apis = [api_as("clerk_almaly") for _ in range(TWINS)]
        key = uuid.uuid4().hex
        responses = _race(
            apis,
            lambda api, body=body, key=key: api.post(
                "/cases", body, key=key if same_key else uuid.uuid4().hex
            ),
        )
        cases = session.scalar(
            select(func.count())
            .select_from(CertificateCase)
            .where(CertificateCase.voter_id == voter_id)
        )
        session.rollback()
        results.append((responses, int(cases or 0)))
    return results


def _postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("twin requests in flight need PostgreSQL's row locks")


def _slow_down_the_action(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the winner inside its transaction a moment, so its twins arrive while it acts."""
    real = services.cases.apply_for_certificate

    def slow(*args: Any, **kwargs: Any) -> Any:
        outcome = real(*args, **kwargs)
        time.sleep(HOLD_SECONDS)
        return outcome

    monkeypatch.setattr(services.cases, "apply_for_certificate", slow)


def test_twin_requests_in_flight_with_one_key_act_exactly_once(
    api_as: ApiAs,
    session: Session,
    world: World,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _postgres_only(database_url)
    _slow_down_the_action(monkeypatch)
    for responses, cases in _twin_trials(api_as, session, world, same_key=True):
        assert cases == 1, "one key, one action"
        statuses = sorted(response.status_code for response in responses)
        # Every twin gets the winner's answer (or, while it is being written, 409 in use).
        assert set(statuses) <= {201, 409}, [r.get_data(as_text=True) for r in responses]
        winners = [r for r in responses if "Idempotent-Replayed" not in r.headers]
        winners = [r for r in winners if r.status_code == 201]
        assert len(winners) == 1
        for response in responses:
            if response.status_code == 201:
                assert response.get_data() == winners[0].get_data()
            else:
                assert response.get_json()["code"] == "idempotency_key_in_use"


def test_negative_control_without_the_key_check_twins_act_twice(
    api_as: ApiAs,
    session: Session,
    world: World,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same harness with the key's claim disabled must see every twin act."""
    _postgres_only(database_url)
    _slow_down_the_action(monkeypatch)
    monkeypatch.setattr(views.api.core, "_claim", lambda *args: None)
    for _responses, cases in _twin_trials(api_as, session, world, same_key=True):
        assert cases == TWINS, "without the claim each twin records a case"
