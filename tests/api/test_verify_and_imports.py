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
# 10 May 2022: the 2022 referendum is still prepared, so its network and lists may be imported.
BEFORE_WINDOW = datetime(2022, 5, 10, 6, 0, tzinfo=UTC)
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


def test_a_series_names_its_election_so_verify_needs_no_election_code(
    app: Flask, public: Api, api_as: ApiAs, session: Session, world: World, clock: FixedClock
) -> None:
    paper_2022 = _issue(api_as, session, world, "Көктемгі")  # no series: the 2022 referendum
    source_id = world.election.id
    session.rollback()  # no read left open across the requests below
    app.config["KUELIK_IMPORTS_INLINE"] = True
    admin = api_as("admin")
    created = admin.post(
        "/elections",
        {
            "code": "by2022",
            "kind": "by_election",
            "number_series": "2207",
            "name_kk": "Қосымша сайлау",
            "name_ru": "Дополнительные выборы",
            "name_en": "By-election",
            "voting_day": "2022-07-10",
            "issue_opens_on": "2022-06-24",
            "issue_deadline_on": "2022-07-09",
            "network": {"copy_from": source_id, "with_staff": True},
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    later = created.get_json()["id"]
    allotted = admin.post(f"/elections/{later}/stock", {"per_precinct": 10, "first_serial": 1})
    assert allotted.get_json()["ranges"] == 4, allotted.get_data(as_text=True)
    voter = Row("750000000", 101, make_iin(date(1990, 1, 1)), "Жазғы", "by2022")
    job = _accepted(upload(admin, [voter], election_id=later), later)
    assert admin.get(f"/imports/{job['id']}").get_json()["summary"]["imported"] == 1

    clock.instant = datetime(2022, 6, 28, 6, 0, tzinfo=UTC)  # inside the by-election's window
    clerk = api_as("clerk_almaly")
    oral = clerk.get("/localities", election_id=later, name="Орал").get_json()["items"]
    applied = clerk.post(
        "/cases",
        {
            "election_id": later,
            "voter_iin": voter.iin,
            "applicant_document": "ID 7",
            "stay_locality_id": oral[0]["id"],
        },
    )
    assert applied.status_code == 201, applied.get_data(as_text=True)
    issue = clerk.post(f"/cases/{applied.get_json()['id']}/issue", {})
    assert issue.status_code == 200, issue.get_data(as_text=True)
    issued = issue.get_json()
    serial = issued["certificate"]["serial"]
    number = issued["certificate"]["number"]
    assert number == format_certificate_number(serial, "2207")
    code = session.scalar(
        select(Certificate.verification_code).where(Certificate.case_id == issued["id"])
    )
    session.rollback()
    assert code is not None
    paper = Paper(issued["id"], number, code, (voter.iin, "Жазғы"))

    answer = _verify(public, paper)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {
        "number": number,
        "status": "valid",
        "election_code": "by2022",
        "voting_day": "2022-07-10",
    }
    _assert_nothing_personal(answer, paper)
    # The number without a series is the 2022 referendum's, whatever serial they share.
    assert _verify(public, paper_2022).get_json()["election_code"] == "ref2022"
    problem(_verify(public, paper, number=format_certificate_number(serial)), 404, "not_found")
    problem(
        _verify(public, paper, number=format_certificate_number(serial, "9999")), 404, "not_found"
    )


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
    election_code: str = "ref2022"

    def line(self) -> str:
        return (
            f"{self.election_code},{self.region},{self.precinct},{self.iin},{self.surname},"
            "Болат,,1990-01-01,ул. Датова 3"
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
    election_id: int | None = None,
    mode: str | None = None,
) -> TestResponse:
    content = rows if isinstance(rows, bytes) else csv_bytes(rows)
    data: dict[str, Any] = {"file": (io.BytesIO(content), file_name)}
    if skip_errors is not None:
        data["skip_errors"] = "true" if skip_errors else "false"
    if election_id is not None:
        data["election_id"] = str(election_id)
    if mode is not None:
        data["mode"] = mode
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


def on_list(session: Session, rows: list[Row], election_id: int | None = None) -> list[str]:
    """The surnames of these rows that are on the (named) election's list now."""
    statement = select(VoterEntry.surname).where(VoterEntry.iin.in_([row.iin for row in rows]))
    if election_id is not None:
        statement = statement.where(VoterEntry.election_id == election_id)
    found = session.scalars(statement.order_by(VoterEntry.surname)).all()
    session.rollback()
    return list(found)


@pytest.fixture
def preparing(clock: FixedClock) -> FixedClock:
    """The clock before the 2022 window: imports into the 2022 referendum are still taken."""
    clock.instant = BEFORE_WINDOW
    return clock


@pytest.fixture
def inline(app: Flask, preparing: FixedClock) -> Flask:
    app.config["KUELIK_IMPORTS_INLINE"] = True
    return app


def _accepted(response: TestResponse, election_id: int | None = None) -> dict[str, Any]:
    assert response.status_code == 202, response.get_data(as_text=True)
    job: dict[str, Any] = response.get_json()
    assert response.headers["Location"] == f"/api/v1/imports/{job['id']}"
    assert job["status"] == "queued"
    assert job["kind"] == "voters"
    if election_id is not None:
        assert job["election_id"] == election_id
    return job


def test_admin_imports_voters_and_reads_the_summary(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    rows = [oral_row("Импортов"), almaly_row("Жүктелген")]
    election_id = world.election.id
    session.rollback()
    admin = api_as("admin")
    # No election named: the caller's current one (the 2022 referendum); no mode: add.
    job = _accepted(upload(admin, rows), election_id)
    assert job["file_name"] == "voters.csv"
    assert job["mode"] == "add"
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
    app: Flask, api_as: ApiAs, session: Session, world: World, preparing: FixedClock
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


def _jobs(session: Session) -> int:
    jobs = session.scalar(select(func.count()).select_from(ImportJob))
    session.rollback()
    return int(jobs or 0)


@pytest.mark.parametrize("kind", ["voters", "precincts"])
def test_import_refused_once_the_issue_window_opened(
    app: Flask, api_as: ApiAs, session: Session, world: World, clock: FixedClock, kind: str
) -> None:
    app.config["KUELIK_IMPORTS_INLINE"] = True
    election_id = world.election.id
    session.rollback()
    rows = [oral_row("Кешіккен")]
    admin = api_as("admin")
    # 20 May 2022 00:00 in Almaty (UTC+6 in 2022) is 18:00 UTC on the 19th: the window has
    # opened there, so the network is locked although Oral (UTC+5) waits another hour.
    clock.instant = datetime(2022, 5, 19, 18, 0, tzinfo=UTC)
    for named in (None, election_id):
        refused = problem(upload(admin, rows, kind=kind, election_id=named), 422, "invalid_input")
        assert [error["field"] for error in refused["errors"]] == ["election_id"]
    assert _jobs(session) == 0, "a refused import leaves no job behind"
    assert on_list(session, rows) == []
    # A second earlier, everywhere still before the window: the same file is taken.
    clock.instant = datetime(2022, 5, 19, 17, 59, 59, tzinfo=UTC)
    if kind == "voters":
        job = _accepted(upload(admin, rows), election_id)
        assert admin.get(f"/imports/{job['id']}").get_json()["status"] == "done"
        assert on_list(session, rows) == ["Кешіккен"]


def _second_election(admin: Api, source_id: int) -> dict[str, Any]:
    """A presidential election of November 2022, with a copy of the 2022 network and staff."""
    created = admin.post(
        "/elections",
        {
            "code": "pres2022",
            "kind": "presidential",
            "name_kk": "Президент сайлауы",
            "name_ru": "Выборы Президента",
            "name_en": "Presidential election",
            "voting_day": "2022-11-20",
            "issue_opens_on": "2022-11-04",
            "issue_deadline_on": "2022-11-19",
            "number_series": "2211",
            "network": {"copy_from": source_id, "with_staff": True},
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    election: dict[str, Any] = created.get_json()
    return election


def test_import_into_the_election_named_by_election_id(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    old_id = world.election.id
    session.rollback()
    admin = api_as("admin")
    new = _second_election(admin, old_id)
    rows = [
        Row("270000000", 301, make_iin(date(1990, 1, 1)), "Күзгі", "pres2022"),
        Row("270000000", 350, make_iin(date(1990, 1, 1)), "Ауылдағы", "pres2022"),
    ]
    territorial = api_as("territorial_west")  # placed in the copy with its commission
    job = _accepted(upload(territorial, rows, election_id=new["id"]), new["id"])
    done = territorial.get(f"/imports/{job['id']}").get_json()
    assert done["status"] == "done", done
    assert done["election_id"] == new["id"]
    assert (done["summary"]["imported"], done["summary"]["errors"]) == (2, 0)
    assert sorted(on_list(session, rows, new["id"])) == sorted(["Ауылдағы", "Күзгі"])
    assert on_list(session, rows, old_id) == []
    # A row naming the other election is refused by line; the file writes nothing.
    other = Row("270000000", 301, make_iin(date(1990, 1, 1)), "Басқа")  # ref2022's code
    mixed = territorial.get(
        f"/imports/{_accepted(upload(territorial, [other], election_id=new['id']))['id']}"
    ).get_json()
    assert mixed["summary"]["errors"] == 1
    assert "election_code" in mixed["summary"]["error_lines"][0]
    assert on_list(session, [other]) == []


def test_import_into_an_election_out_of_sight_is_not_found(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    old_id = world.election.id
    session.rollback()
    admin = api_as("admin")
    created = admin.post(
        "/elections",
        {
            "code": "by2022",
            "kind": "by_election",
            "name_kk": "Қосымша сайлау",
            "name_ru": "Дополнительные выборы",
            "name_en": "By-election",
            "voting_day": "2022-11-20",
            "issue_opens_on": "2022-11-04",
            "issue_deadline_on": "2022-11-19",
            "network": {"copy_from": old_id, "with_staff": False},
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    rows = [oral_row("Көрінбейтін")]
    territorial = api_as("territorial_west")  # not placed in it
    problem(upload(territorial, rows, election_id=created.get_json()["id"]), 404, "not_found")
    problem(upload(admin, rows, election_id=999_999), 404, "not_found")
    assert _jobs(session) == 0


def test_import_modes_add_amend_and_replace(
    inline: Flask, api_as: ApiAs, session: Session, world: World
) -> None:
    admin = api_as("admin")
    first, second = oral_row("Бірінші"), almaly_row("Екінші")
    listed = session.scalars(select(VoterEntry.surname).order_by(VoterEntry.surname)).all()
    session.rollback()
    assert listed == ["Петров", "Сәрсенбаев"]  # the world's own two voters

    def run(rows: list[Row], mode: str | None) -> dict[str, Any]:
        job = _accepted(upload(admin, rows, mode=mode))
        assert job["mode"] == (mode or "add")
        summary: dict[str, Any] = admin.get(f"/imports/{job['id']}").get_json()["summary"]
        assert summary["mode"] == (mode or "add")
        return summary

    added = run([first, second], "add")
    assert (added["imported"], added["updated"], added["written"]) == (2, 0, True)

    renamed = Row(first.region, first.precinct, first.iin, "Өзгерген")
    again = run([renamed], None)
    assert (again["errors"], again["written"]) == (1, False), "add refuses an entry on the list"
    assert on_list(session, [first]) == ["Бірінші"]

    third = oral_row("Үшінші")
    amended = run([renamed, third], "amend")
    assert (amended["imported"], amended["updated"], amended["errors"]) == (1, 1, 0)
    assert sorted(on_list(session, [first, second, third])) == sorted(
        ["Екінші", "Өзгерген", "Үшінші"]
    )

    replaced = run([third], "replace")
    assert replaced["written"] is True
    # Every entry no application refers to is cleared (the world's two voters and this file's
    # three), then the file's one comes back.
    assert (replaced["removed"], replaced["imported"]) == (5, 1)
    remaining = session.scalars(select(VoterEntry.surname)).all()
    session.rollback()
    assert remaining == ["Үшінші"], "the file became the list"

    unknown_mode = problem(upload(admin, [third], mode="merge"), 422, "invalid_input")
    assert [error["field"] for error in unknown_mode["errors"]] == ["mode"]
