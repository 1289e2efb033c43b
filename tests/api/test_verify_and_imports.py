"""Public verification of a certificate (no token, no personal data, rate-limited), and CSV
imports answered with a job (inline for most tests, one on the background thread).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import Certificate, ImportJob, RateCounter, VoterEntry
from services.clock import FixedClock
from tests.api.conftest import Api, ApiAs
from tests.factories import World, make_iin, make_voter
from workflow.numbers import format_certificate_number

PROBLEM = "application/problem+json"
VOTING_MORNING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)
POLL_TIMEOUT = 20.0


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.content_type == PROBLEM, text
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code, text
    return body


# ---------------------------------------------------------------------------------------------
# POST /verify
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paper:
    """What is printed on a certificate, and the personal data that must never be echoed."""

    case_id: int
    number: str
    code: str
    personal: tuple[str, ...]


@pytest.fixture
def public(app: Flask, world: World) -> Api:
    return Api(app.test_client(), None)


def _issue(api_as: ApiAs, session: Session, world: World, surname: str) -> Paper:
    voter = make_voter(session, world, world.almaty_almaly, surname=surname, given_name="Дәурен")
    iin, oral = voter.iin, world.oral.id
    session.commit()
    clerk = api_as("clerk_almaly")
    applied = clerk.post(
        "/cases", {"voter_iin": iin, "applicant_document": "ID 7", "stay_locality_id": oral}
    ).get_json()
    issued = clerk.post(f"/cases/{applied['id']}/issue", {}).get_json()
    code = session.scalar(
        select(Certificate.verification_code).where(Certificate.case_id == applied["id"])
    )
    session.rollback()
    assert code is not None
    masked = issued["voter_iin_masked"]
    return Paper(
        applied["id"],
        issued["certificate"]["number"],
        code,
        (surname, "Дәурен", "Серікұлы", iin, masked, "ID 7", "ул. Абая"),
    )


def _verify(api: Api, paper: Paper, **changes: str) -> TestResponse:
    body = {"number": paper.number, "verification_code": paper.code}
    body.update(changes)
    return api.post("/verify", body, key=None)


def _assert_nothing_personal(response: TestResponse, paper: Paper) -> None:
    text = response.get_data(as_text=True)
    for value in paper.personal:
        assert value not in text, f"{value!r} leaked"


def test_verify_answers_valid_then_used_without_personal_data(
    public: Api, api_as: ApiAs, session: Session, world: World, clock: FixedClock
) -> None:
    paper = _issue(api_as, session, world, "Тексерілген")
    valid = _verify(public, paper)
    assert valid.status_code == 200, valid.get_data(as_text=True)
    assert valid.get_json() == {
        "number": paper.number,
        "status": "valid",
        "election_code": "ref2022",
        "voting_day": "2022-06-05",
    }
    _assert_nothing_personal(valid, paper)
    # The code is read case-insensitively, the number with any separators.
    relaxed = _verify(
        public, paper, number=paper.number.replace("-", " "), verification_code=paper.code.lower()
    )
    assert relaxed.get_json()["status"] == "valid"
    explicit = _verify(public, paper, election_code="ref2022")
    assert explicit.get_json()["status"] == "valid"

    clock.instant = VOTING_MORNING
    desk = api_as("checkin_oral")
    included = desk.post("/checkin", {"number": paper.number, "verification_code": paper.code})
    assert included.status_code == 201
    used = _verify(public, paper)
    assert used.get_json()["status"] == "used"
    _assert_nothing_personal(used, paper)


@pytest.mark.parametrize(
    ("action", "status"),
    [("lost", "void"), ("spoil", "void"), ("cancel", "void"), ("return_home", "used")],
)
def test_verify_after_each_end_of_a_certificate(
    public: Api,
    api_as: ApiAs,
    session: Session,
    world: World,
    clock: FixedClock,
    action: str,
    status: str,
) -> None:
    if action == "return_home":
        voter = make_voter(session, world, world.oral_precinct, surname="Үйге")
        iin, derkul = voter.iin, world.derkul.id
        session.commit()
        clerk = api_as("clerk_oral")
        case = clerk.post(
            "/cases", {"voter_iin": iin, "applicant_document": "1", "stay_locality_id": derkul}
        ).get_json()
        number = clerk.post(f"/cases/{case['id']}/issue", {}).get_json()["certificate"]["number"]
        code = session.scalar(
            select(Certificate.verification_code).where(Certificate.case_id == case["id"])
        )
        session.rollback()
        paper = Paper(case["id"], number, str(code), (iin,))
        clock.instant = VOTING_MORNING
        back = api_as("checkin_oral").post(
            "/checkin", {"number": number, "verification_code": paper.code}
        )
        assert back.get_json()["outcome"] == "returned_home"
    else:
        paper = _issue(api_as, session, world, "Аяқталған")
        done = api_as("clerk_almaly").post(f"/cases/{paper.case_id}/{action}", {"reason": "why"})
        assert done.status_code == 200, done.get_data(as_text=True)
    answer = _verify(public, paper)
    assert answer.status_code == 200
    assert answer.get_json()["status"] == status
    _assert_nothing_personal(answer, paper)


def test_wrong_code_answers_exactly_like_an_unknown_number(
    public: Api, api_as: ApiAs, session: Session, world: World
) -> None:
    paper = _issue(api_as, session, world, "Құпия")
    wrong = "ACDEFHJK" if paper.code != "ACDEFHJK" else "KJHFEDCA"
    forged = _verify(public, paper, verification_code=wrong)
    unknown = _verify(public, paper, number=format_certificate_number(4321))
    other_election = _verify(public, paper, election_code="ref2019")
    problem(forged, 404, "not_found")
    assert forged.get_data() == unknown.get_data(), "a wrong code must not reveal the number"
    problem(other_election, 404, "not_found")
    assert forged.headers.get("Content-Type") == unknown.headers.get("Content-Type")
    _assert_nothing_personal(forged, paper)


def test_mistyped_check_digit_is_caught_before_any_lookup(
    public: Api, api_as: ApiAs, session: Session, world: World
) -> None:
    paper = _issue(api_as, session, world, "Қате")
    digits = paper.number.replace("-", "")
    mistyped = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    body = problem(_verify(public, paper, number=mistyped), 422, "mistyped_number")
    assert "case_id" not in body
    _assert_nothing_personal(
        public.post("/verify", {"number": mistyped, "verification_code": "X"}, key=None), paper
    )
    problem(_verify(public, paper, number="12345"), 422, "mistyped_number")


def test_verify_needs_no_token_and_ignores_a_bad_one(
    app: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    paper = _issue(api_as, session, world, "Ашық")
    stranger = Api(app.test_client(), "kuelik_revoked-or-made-up")
    assert _verify(stranger, paper).get_json()["status"] == "valid"


def test_verify_is_limited_per_client_with_retry_after_until_the_minute_passes(
    app: Flask, public: Api, api_as: ApiAs, session: Session, world: World, clock: FixedClock
) -> None:
    paper = _issue(api_as, session, world, "Шектеулі")
    app.config["KUELIK_VERIFY_LIMIT"] = 3
    answers = [_verify(public, paper).status_code for _ in range(2)]
    answers.append(_verify(public, paper, verification_code="WRONG").status_code)
    assert answers == [200, 200, 404], "every answer counts, a refusal too"

    limited = _verify(public, paper)
    body = problem(limited, 429, "too_many_requests")
    assert limited.headers["Retry-After"] == "60"
    assert body["status"] == 429
    _assert_nothing_personal(limited, paper)

    clock.advance(timedelta(seconds=45))
    later = _verify(public, paper)
    problem(later, 429, "too_many_requests")
    assert later.headers["Retry-After"] == "15"

    # Another client (another address) has a budget of its own.
    neighbour = Api(app.test_client(), None)
    neighbour.client.environ_base["REMOTE_ADDR"] = "192.0.2.55"
    assert _verify(neighbour, paper).status_code == 200

    clock.advance(timedelta(seconds=15))  # one minute after the window opened: a new window
    assert _verify(public, paper).status_code == 200
    assert [_verify(public, paper).status_code for _ in range(3)] == [200, 200, 429]

    keys = session.scalars(select(RateCounter.key)).all()
    session.rollback()
    assert len(keys) == 2
    assert all("127.0.0.1" not in key and "192.0.2.55" not in key for key in keys)


def test_verify_limit_defaults_to_thirty_a_minute(
    app: Flask, public: Api, api_as: ApiAs, session: Session, world: World
) -> None:
    paper = _issue(api_as, session, world, "Отыз")
    app.config.pop("KUELIK_VERIFY_LIMIT", None)
    statuses = [_verify(public, paper).status_code for _ in range(31)]
    assert statuses == [200] * 30 + [429]


# ---------------------------------------------------------------------------------------------
# Imports
# ---------------------------------------------------------------------------------------------

HEADER = (
    "election_code,region_kato,precinct_number,iin,surname,given_name,patronymic,birth_date,address"
)


@dataclass(frozen=True)
class Row:
    region: str
    precinct: int
    iin: str
    surname: str

    def line(self) -> str:
        return (
            f"ref2022,{self.region},{self.precinct},{self.iin},{self.surname},Болат,,"
            f"1990-01-01,ул. Датова 3"
        )


def oral_row(surname: str) -> Row:
    return Row("270000000", 301, make_iin(date(1990, 1, 1)), surname)


def almaly_row(surname: str) -> Row:
    return Row("750000000", 101, make_iin(date(1990, 1, 1)), surname)


def csv_bytes(rows: list[Row]) -> bytes:
    return ("\ufeff" + "\n".join([HEADER, *(row.line() for row in rows)]) + "\n").encode()


def upload(
    api: Api,
    rows: list[Row] | bytes,
    *,
    skip_errors: bool | None = None,
    key: str | None = "auto",
    kind: str = "voters",
    file_name: str = "voters.csv",
) -> TestResponse:
    content = rows if isinstance(rows, bytes) else csv_bytes(rows)
    data: dict[str, Any] = {"file": (io.BytesIO(content), file_name)}
    if skip_errors is not None:
        data["skip_errors"] = "true" if skip_errors else "false"
    extra = {}
    if key == "auto":
        extra["Idempotency-Key"] = f"upload-{time.monotonic_ns()}"
    elif key is not None:
        extra["Idempotency-Key"] = key
    return api.client.post(
        f"/api/v1/imports/{kind}",
        data=data,
        content_type="multipart/form-data",
        headers=api.headers(extra),
    )


def on_list(session: Session, rows: list[Row]) -> list[str]:
    """The surnames of these rows that are on the election's list now."""
    found = session.scalars(
        select(VoterEntry.surname)
        .where(VoterEntry.iin.in_([row.iin for row in rows]))
        .order_by(VoterEntry.surname)
    ).all()
    session.rollback()
    return list(found)


@pytest.fixture
def inline(app: Flask) -> Flask:
    app.config["KUELIK_IMPORTS_INLINE"] = True
    return app


def _accepted(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 202, response.get_data(as_text=True)
    job: dict[str, Any] = response.get_json()
    assert response.headers["Location"] == f"/api/v1/imports/{job['id']}"
    assert job["status"] == "queued"
    assert job["kind"] == "voters"
    return job


def test_admin_imports_voters_and_reads_the_summary(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    rows = [oral_row("Импортов"), almaly_row("Жүктелген")]
    admin = api_as("admin")
    job = _accepted(upload(admin, rows))
    assert job["file_name"] == "voters.csv"
    done = admin.get(f"/imports/{job['id']}").get_json()
    assert done["status"] == "done", done
    assert (done["rows_checked"], done["rows_imported"]) == (2, 2)
    assert done["started_at"] is not None
    assert done["finished_at"] is not None
    summary = done["summary"]
    assert (summary["read"], summary["imported"], summary["errors"]) == (2, 2, 0)
    assert summary["written"] is True
    assert on_list(session, rows) == ["Жүктелген", "Импортов"]
    # The imported voter is at once on the desk's list.
    found = api_as("clerk_oral").post("/voters/lookup", {"iin": rows[0].iin}).get_json()
    assert [voter["surname"] for voter in found["voters"]] == ["Импортов"]


def test_territorial_import_with_a_row_outside_its_territory_writes_nothing(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    rows = [oral_row("Батыстық"), almaly_row("Сырттан")]
    territorial = api_as("territorial_west")
    job = _accepted(upload(territorial, rows))
    done = territorial.get(f"/imports/{job['id']}").get_json()
    assert done["status"] == "done"
    summary = done["summary"]
    assert (summary["read"], summary["imported"], summary["errors"]) == (2, 0, 1)
    assert summary["written"] is False
    assert done["rows_imported"] == 0
    assert [line.split(":")[0] for line in summary["error_lines"]] == ["line 3"]
    assert "precinct" in summary["error_lines"][0]
    text = str(done)
    for row in rows:
        assert row.iin not in text, "no personal data in a report"
        assert row.surname not in text
    assert on_list(session, rows) == [], "all or nothing"


def test_territorial_import_skipping_errors_writes_only_its_own_rows(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    rows = [oral_row("Өзіміздікі"), almaly_row("Бөгделер"), oral_row("Деркөлдік")]
    rows[2] = Row(rows[2].region, 350, rows[2].iin, rows[2].surname)
    territorial = api_as("territorial_west")
    job = _accepted(upload(territorial, rows, skip_errors=True))
    assert job["skip_errors"] is True
    done = territorial.get(f"/imports/{job['id']}").get_json()
    assert done["status"] == "done"
    assert (done["summary"]["imported"], done["summary"]["skipped"]) == (2, 1)
    assert on_list(session, rows) == ["Деркөлдік", "Өзіміздікі"]
    # Another manager's job is not theirs to read; the admin reads every job.
    assert api_as("admin").get(f"/imports/{job['id']}").status_code == 200
    admin_job = _accepted(upload(api_as("admin"), [oral_row("Әкімдік")]))
    problem(territorial.get(f"/imports/{admin_job['id']}"), 404, "not_found")


def test_import_of_a_bad_row_reports_it_by_line(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    good = oral_row("Дұрыс")
    twice = oral_row("Қайталанған")
    content = (
        csv_bytes([good, twice, twice]) + b"ref2022,270000000,301,123456789012,X,Y,,1990-01-01,a\n"
    )
    admin = api_as("admin")
    done = admin.get(f"/imports/{_accepted(upload(admin, content))['id']}").get_json()
    summary = done["summary"]
    assert summary["errors"] == 2
    assert [line.split(":")[0] for line in summary["error_lines"]] == ["line 4", "line 5"]
    assert on_list(session, [good, twice]) == []


def test_unreadable_file_and_missing_file(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    admin = api_as("admin")
    job = _accepted(upload(admin, b"not,a,voter,file\n1,2,3,4\n"))
    done = admin.get(f"/imports/{job['id']}").get_json()
    assert done["summary"]["file_unreadable"] is True
    assert done["summary"]["written"] is False

    missing = admin.client.post(
        "/api/v1/imports/voters",
        data={"skip_errors": "true"},
        content_type="multipart/form-data",
        headers=admin.headers({"Idempotency-Key": "no-file"}),
    )
    answer = problem(missing, 422, "invalid_input")
    assert [error["field"] for error in answer["errors"]] == ["body"]
    as_json = admin.post("/imports/voters", {"file": "x"})
    problem(as_json, 415, "unsupported_media_type")


def test_retried_upload_replays_the_job_and_another_file_with_the_key_is_refused(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    rows = [oral_row("Бірреттік")]
    admin = api_as("admin")
    first = upload(admin, rows, key="upload-once")
    job = _accepted(first)
    # The same file again (a multipart body has a fresh boundary each time): the same job.
    again = upload(admin, rows, key="upload-once")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_data() == first.get_data()
    jobs = session.scalar(select(func.count()).select_from(ImportJob))
    session.rollback()
    assert jobs == 1
    # Another file under the same key is another request.
    other = upload(admin, [oral_row("Басқа")], key="upload-once")
    problem(other, 422, "idempotency_key_reused")
    other_flag = upload(admin, rows, key="upload-once", skip_errors=True)
    problem(other_flag, 422, "idempotency_key_reused")
    assert admin.get(f"/imports/{job['id']}").get_json()["status"] == "done"


def test_import_runs_on_a_background_thread_and_is_polled_to_its_end(
    app: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    app.config["KUELIK_IMPORTS_INLINE"] = False
    rows = [oral_row(f"Фондық{index}") for index in range(25)]
    territorial = api_as("territorial_west")
    job = _accepted(upload(territorial, rows))
    deadline = time.monotonic() + POLL_TIMEOUT
    seen = []
    while True:
        state = territorial.get(f"/imports/{job['id']}").get_json()
        seen.append(state["status"])
        if state["status"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, f"the job did not end: {seen}"
        time.sleep(0.05)
    assert state["status"] == "done", state
    assert state["failure"] is None
    assert (state["rows_checked"], state["rows_imported"]) == (25, 25)
    assert state["summary"]["imported"] == 25
    assert len(on_list(session, rows)) == 25
