"""A new election set up through the API alone, then the whole life of its cases, to the second.

From an empty country with one central-commission account: create the 15 March 2026 referendum
(window 27 February to 14 March 18:00, voting 07:00-20:00) on the 2026 map, import its precincts
and voters, create its staff, hand down its stock; then apply in person and by representative,
issue, refuse after 18:00 local, check in at another locality, return home, all at the exact
second of each bound in Almaty and Oral, which since 1 March 2024 both read UTC+5. Last, a
by-election overlapping it, copied from it, where the same voter holds a second certificate.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app import create_app
from models import AuditEvent, Role, User, db
from services.audit import SYSTEM
from services.clock import FixedClock
from services.importing import PRECINCT_COLUMNS as precinct_columns
from services.importing import VOTER_COLUMNS as voter_columns
from services.passwords import hash_password
from services.tokens import create_token
from tests.factories import make_iin

SECOND = timedelta(seconds=1)
# Local wall clock in 2026, everywhere UTC+5: local minus five hours is UTC.
LOCAL = timedelta(hours=5)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC) - LOCAL  # type: ignore[misc]


PREPARING = local(2026, 2, 10, 9, 0, 0)
WINDOW_OPENS = local(2026, 2, 27, 0, 0, 0)
DEADLINE = local(2026, 3, 14, 18, 0, 0)
POLLS_OPEN = local(2026, 3, 15, 7, 0, 0)
POLLS_CLOSE = local(2026, 3, 15, 20, 0, 0)

VOTER_COLUMNS = list(voter_columns)
PRECINCT_COLUMNS = list(precinct_columns)
PRECINCTS = [
    [
        "750000000", "750000000", "Алматы", "Алматы", "city", "751110000", "Алмалы ауданы",
        "Алмалинский район", "41", "Төле би көшесі, 104", "ул. Толе би, 104",
        "Алмалинская районная территориальная комиссия г. Алматы",
        "Алматы қаласы Алмалы аудандық аумақтық комиссиясы",
    ],
    [
        "750000000", "750000000", "Алматы", "Алматы", "city", "751410000", "Бостандық ауданы",
        "Бостандыкский район", "301", "Тимирязев көшесі, 38", "ул. Тимирязева, 38",
        "Бостандыкская районная территориальная комиссия г. Алматы",
        "Алматы қаласы Бостандық аудандық аумақтық комиссиясы",
    ],
    [
        "270000000", "271010000", "Орал", "Уральск", "city", "", "", "", "1",
        "Достық-Дружба даңғылы, 180", "пр. Достык-Дружба, 180",
        "Уральская городская территориальная комиссия", "Орал қалалық аумақтық комиссиясы",
    ],
    [
        "270000000", "271010000", "Орал", "Уральск", "city", "", "", "", "15",
        "Құрманғазы көшесі, 162", "ул. Курмангазы, 162",
        "Уральская городская территориальная комиссия", "Орал қалалық аумақтық комиссиясы",
    ],
]  # fmt: skip


def csv_file(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


class Client:
    """One token's view of the API; every POST carries a fresh Idempotency-Key."""

    def __init__(self, app: Flask, secret: str) -> None:
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(f"/api/v1{path}", query_string=query, headers=self.headers)

    def post(self, path: str, body: Any) -> TestResponse:
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        return self.client.post(f"/api/v1{path}", json=body, headers=headers)

    def patch(self, path: str, body: Any) -> TestResponse:
        return self.client.patch(f"/api/v1{path}", json=body, headers=self.headers)

    def upload(self, kind: str, content: bytes, **form: str) -> TestResponse:
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        return self.client.post(
            f"/api/v1/imports/{kind}",
            data={"file": (io.BytesIO(content), f"{kind}.csv"), **form},
            content_type="multipart/form-data",
            headers=headers,
        )

    def ok(self, response: TestResponse, status: int = 200) -> Any:
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(PREPARING)


@pytest.fixture
def app(database_url: str, clock: FixedClock) -> Iterator[Flask]:
    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "KUELIK_CLOCK_START": clock,
            "KUELIK_IMPORTS_INLINE": True,
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def admin(app: Flask) -> Client:
    """The one account of an empty country: the central commission's administrator."""
    with app.app_context():
        session = db.session()
        user = User(
            username="cec", full_name="ОСК", password_hash=hash_password("x" * 12), role=Role.ADMIN
        )
        session.add(user)
        session.flush()
        secret = create_token(
            session,
            SYSTEM,
            owner_id=user.id,
            name="setup",
            now=PREPARING - timedelta(days=1),
        ).secret
        session.commit()
    return Client(app, secret)


def _token_for(admin: Client, user_id: int) -> str:
    created = admin.ok(admin.post("/tokens", {"name": "desk", "user_id": user_id}), 201)
    return str(created["token"])


class Setup:
    """What the administrator built, by id, and a client per staff member."""

    def __init__(self, app: Flask, admin: Client, clock: FixedClock) -> None:
        self.app, self.admin, self.clock = app, admin, clock
        election = admin.ok(
            admin.post(
                "/elections",
                {
                    "code": "ref2026",
                    "kind": "referendum",
                    "name_kk": "Республикалық референдум 2026",
                    "name_ru": "Республиканский референдум 2026 года",
                    "name_en": "Republican referendum of 15 March 2026",
                    "voting_day": "2026-03-15",
                    "issue_opens_on": "2026-02-27",
                    "issue_deadline_on": "2026-03-14",
                    "network": {"map": "kz-2026"},
                },
            ),
            201,
        )
        self.election = election
        self.id = int(election["id"])
        job = admin.ok(
            admin.upload(
                "precincts",
                csv_file(PRECINCT_COLUMNS, PRECINCTS),
                election_id=str(self.id),
            ),
            202,
        )
        finished = admin.ok(admin.get(f"/imports/{job['id']}"))
        assert finished["status"] == "done", (finished["failure"], finished["summary"])
        precincts = admin.ok(admin.get("/precincts", election_id=self.id, limit=100))["items"]
        self.precinct = {(p["region_kato"], p["number"]): p for p in precincts}
        localities = admin.ok(admin.get("/localities", election_id=self.id, limit=100))["items"]
        self.locality = {item["kato"]: item["id"] for item in localities}
        self.almaty_voter = make_iin(date(1981, 3, 4))
        self.oral_voter = make_iin(date(1990, 7, 8), male=False)
        self.proxied_voter = make_iin(date(1960, 1, 2))
        self.late_voter = make_iin(date(1977, 5, 5))
        almaty, oral = ("750000000", "41"), ("270000000", "1")
        voters = [
            [*almaty, self.almaty_voter, "Сейітов", "Ерлан", "Маратұлы", "1981-03-04", "Абая, 1"],
            [*almaty, self.proxied_voter, "Ахметов", "Бекзат", "", "1960-01-02", "Абая, 2"],
            [*almaty, self.late_voter, "Омарова", "Әсел", "", "1977-05-05", "Абая, 3"],
            [*oral, self.oral_voter, "Петрова", "Лариса", "Ивановна", "1990-07-08", "Достык, 5"],
        ]
        job = admin.ok(
            admin.upload(
                "voters",
                csv_file(
                    VOTER_COLUMNS,
                    voters,
                ),
                election_id=str(self.id),
            ),
            202,
        )
        assert admin.ok(admin.get(f"/imports/{job['id']}"))["summary"]["imported"] == 4
        self.staff: dict[str, Client] = {}
        for username, role, key in (
            ("clerk_almaly", "clerk", ("750000000", 41)),
            ("clerk_oral", "clerk", ("270000000", 1)),
            ("checkin_oral", "checkin", ("270000000", 15)),
            ("checkin_oral_home", "checkin", ("270000000", 1)),
            ("checkin_bostandyk", "checkin", ("750000000", 301)),
        ):
            user = admin.ok(
                admin.post(
                    "/users",
                    {
                        "username": username,
                        "full_name": username,
                        "role": role,
                        "password": "a long password",
                        "precinct_id": self.precinct[key]["id"],
                    },
                ),
                201,
            )
            self.staff[username] = Client(app, _token_for(admin, int(user["id"])))
        stock = admin.ok(admin.post(f"/elections/{self.id}/stock", {"per_precinct": 100}))
        assert stock == {"ranges": 4, "first": 1, "last": 400}

    def at(self, instant: datetime) -> None:
        self.clock.instant = instant

    def apply(self, clerk: str, iin: str, stay_kato: str, **extra: Any) -> TestResponse:
        body = {
            "voter_iin": iin,
            "applicant_document": "ID 012345678",
            "stay_locality_id": self.locality[stay_kato],
            "election_id": self.id,
            **extra,
        }
        return self.staff[clerk].post("/cases", body)


@pytest.fixture
def setup(app: Flask, admin: Client, clock: FixedClock) -> Setup:
    return Setup(app, admin, clock)


def test_an_election_set_up_through_the_api_alone_runs_a_whole_life(
    setup: Setup, app: Flask
) -> None:
    admin = setup.admin
    assert setup.election["phase"] == "preparing"
    assert setup.election["number_series"] == "2603"
    election = admin.ok(admin.get(f"/elections/{setup.id}"))
    assert election["issue_deadline_at"] == "18:00"

    # One second before the window opens in Almaty (UTC+5): refused, and recorded.
    setup.at(WINDOW_OPENS - SECOND)
    early = setup.apply("clerk_almaly", setup.almaty_voter, "271010000")
    assert early.status_code == 422
    assert early.get_json()["code"] == "window_closed"
    assert early.get_json()["case_id"]

    # At the first second: received; issued; the number carries the election's series.
    setup.at(WINDOW_OPENS)
    case = setup.staff["clerk_almaly"].ok(
        setup.apply("clerk_almaly", setup.almaty_voter, "271010000"), 201
    )
    issued = setup.staff["clerk_almaly"].ok(
        setup.staff["clerk_almaly"].post(f"/cases/{case['id']}/issue", {})
    )
    number, code = issued["certificate"]["number"], issued["verification_code"]
    assert re.fullmatch(r"2603-[0-9]{8}-[0-9]", number)

    # By representative, at the last second before 18:00 on 14 March.
    setup.at(DEADLINE - SECOND)
    proxied = setup.staff["clerk_almaly"].ok(
        setup.apply(
            "clerk_almaly",
            setup.proxied_voter,
            "271010000",
            representative={
                "iin": make_iin(date(1985, 3, 3), male=False),
                "full_name": "Сәуле Омарова",
                "power_of_attorney_number": "POA-17",
                "power_of_attorney_date": "2026-03-01",
            },
        ),
        201,
    )
    handed = setup.staff["clerk_almaly"].ok(
        setup.staff["clerk_almaly"].post(
            f"/cases/{proxied['id']}/issue", {"handed_to": "representative"}
        )
    )
    assert handed["certificate"]["handed_to"] == "representative"

    # Received before 18:00, issued at 18:00:00 local: refused, the window has closed.
    late = setup.staff["clerk_almaly"].ok(
        setup.apply("clerk_almaly", setup.late_voter, "271010000"), 201
    )
    setup.at(DEADLINE)
    refused = setup.staff["clerk_almaly"].post(f"/cases/{late['id']}/issue", {})
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "window_closed"

    # Oral's voter applies to vote in Almaty (issued the day before the deadline).
    setup.at(DEADLINE - timedelta(days=1))
    home_case = setup.staff["clerk_oral"].ok(
        setup.apply("clerk_oral", setup.oral_voter, "750000000"), 201
    )
    home = setup.staff["clerk_oral"].ok(
        setup.staff["clerk_oral"].post(f"/cases/{home_case['id']}/issue", {})
    )

    # Voting day at Oral, another locality: one second early refused, at 07:00:00 included.
    desk = setup.staff["checkin_oral"]
    present = {"number": number, "verification_code": code, "election_id": setup.id}
    setup.at(POLLS_OPEN - SECOND)
    early_vote = desk.post("/checkin", present)
    assert early_vote.get_json()["code"] == "not_voting_hours"
    setup.at(POLLS_OPEN)
    included = desk.ok(desk.post("/checkin", present), 201)
    assert included["outcome"] == "included"
    assert included["line_number"] == 1
    again = desk.post("/checkin", present)
    assert again.status_code == 409
    assert again.get_json()["code"] == "already_used"

    # In Almaty, the voter's home locality but another precinct: sent home.
    same = setup.staff["checkin_bostandyk"].post(
        "/checkin",
        {
            "number": handed["certificate"]["number"],
            "verification_code": handed["verification_code"],
        },
    )
    assert same.get_json()["code"] == "same_locality"

    # Back home in Oral, in the last second of voting: the voter votes on the own entry.
    setup.at(POLLS_CLOSE - SECOND)
    back = setup.staff["checkin_oral_home"].ok(
        setup.staff["checkin_oral_home"].post(
            "/checkin",
            {
                "number": home["certificate"]["number"],
                "verification_code": home["verification_code"],
            },
        )
    )
    assert back["outcome"] == "returned_home"
    setup.at(POLLS_CLOSE)
    after = setup.staff["checkin_oral_home"].post(
        "/checkin",
        {
            "number": handed["certificate"]["number"],
            "verification_code": handed["verification_code"],
        },
    )
    assert after.get_json()["code"] == "not_voting_hours"
    assert admin.ok(admin.get(f"/elections/{setup.id}"))["phase"] == "closed"


def test_a_calendar_violation_through_the_api_names_its_field_and_stores_nothing(
    admin: Client, app: Flask
) -> None:
    answer = admin.post(
        "/elections",
        {
            "code": "bad2026",
            "name_kk": "kk",
            "name_ru": "ru",
            "name_en": "en",
            "voting_day": "2026-03-15",
            "issue_opens_on": "2026-03-14",
            "issue_deadline_on": "2026-03-16",
            "voting_opens_at": "20:00",
            "voting_closes_at": "07:00",
        },
    )
    assert answer.status_code == 422
    problem = answer.get_json()
    assert problem["code"] == "invalid_election"
    assert {error["field"] for error in problem["errors"]} == {
        "issue_deadline_on",
        "voting_closes_at",
    }
    assert admin.ok(admin.get("/elections"))["items"] == []
    kazakh = admin.client.post(
        "/api/v1/elections",
        json={
            "code": "bad2026",
            "name_kk": "kk",
            "name_ru": "ru",
            "name_en": "en",
            "voting_day": "2026-02-30",
        },
        headers={**admin.headers, "Accept-Language": "kk", "Idempotency-Key": "kk-1"},
    )
    assert kazakh.status_code == 422
    assert kazakh.get_json()["errors"][0]["field"] == "voting_day"


def test_after_the_window_opened_only_a_correction_with_a_reason_changes_the_calendar(
    setup: Setup,
) -> None:
    admin = setup.admin
    setup.at(WINDOW_OPENS + timedelta(days=2))
    refused = admin.patch(f"/elections/{setup.id}", {"issue_deadline_at": "20:00"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == [
        {"field": "reason", "detail": refused.get_json()["errors"][0]["detail"]}
    ]
    assert admin.ok(admin.get(f"/elections/{setup.id}"))["issue_deadline_at"] == "18:00"
    frozen = admin.patch(
        f"/elections/{setup.id}", {"number_series": "2699", "reason": "a court decision"}
    )
    assert frozen.status_code == 422
    assert frozen.get_json()["errors"][0]["field"] == "number_series"
    corrected = admin.ok(
        admin.patch(
            f"/elections/{setup.id}",
            {"issue_deadline_at": "20:00", "reason": "Resolution No. 5 of the CEC"},
        )
    )
    assert corrected["issue_deadline_at"] == "20:00"
    assert corrected["corrections"][0]["reason"] == "Resolution No. 5 of the CEC"
    assert corrected["corrections"][0]["changed"] == {"issue_deadline_at": ["18:00", "20:00"]}
    # Imports no longer change the network once the window is open.
    locked = admin.upload(
        "precincts", csv_file(PRECINCT_COLUMNS, PRECINCTS[:1]), election_id=str(setup.id)
    )
    assert locked.status_code == 422
    assert locked.get_json()["errors"][0]["field"] == "election_id"


def test_two_overlapping_elections_one_voter_a_certificate_in_each(
    setup: Setup, app: Flask
) -> None:
    admin = setup.admin
    by_election = admin.ok(
        admin.post(
            "/elections",
            {
                "code": "by2026",
                "kind": "by_election",
                "name_kk": "Қосымша сайлау",
                "name_ru": "Дополнительные выборы",
                "name_en": "By-election of 15 March 2026",
                "voting_day": "2026-03-15",
                "issue_opens_on": "2026-02-27",
                "issue_deadline_on": "2026-03-14",
                "network": {"copy_from": setup.id, "with_staff": True},
            },
        ),
        201,
    )
    other = int(by_election["id"])
    job = admin.ok(
        admin.upload(
            "voters",
            csv_file(
                VOTER_COLUMNS,
                [
                    [
                        "750000000",
                        "41",
                        setup.almaty_voter,
                        "Сейітов",
                        "Ерлан",
                        "Маратұлы",
                        "1981-03-04",
                        "ул. Абая, 1",
                    ]
                ],
            ),
            election_id=str(other),
        ),
        202,
    )
    assert admin.ok(admin.get(f"/imports/{job['id']}"))["status"] == "done"
    admin.ok(admin.post(f"/elections/{other}/stock", {"per_precinct": 10}))
    localities = admin.ok(admin.get("/localities", election_id=other, limit=100))["items"]
    oral_there = next(item["id"] for item in localities if item["kato"] == "271010000")

    setup.at(WINDOW_OPENS + timedelta(days=1))
    clerk = setup.staff["clerk_almaly"]
    first_case = clerk.ok(setup.apply("clerk_almaly", setup.almaty_voter, "271010000"), 201)
    first = clerk.ok(clerk.post(f"/cases/{first_case['id']}/issue", {}))
    second_case = clerk.ok(
        clerk.post(
            "/cases",
            {
                "voter_iin": setup.almaty_voter,
                "applicant_document": "ID 012345678",
                "stay_locality_id": oral_there,
                "election_id": other,
            },
        ),
        201,
    )
    second = clerk.ok(clerk.post(f"/cases/{second_case['id']}/issue", {}))
    assert first["certificate"]["number"] != second["certificate"]["number"]
    assert second["certificate"]["number"].startswith(by_election["number_series"] + "-")

    setup.at(POLLS_OPEN + timedelta(hours=2))
    desk = setup.staff["checkin_oral"]
    crossed = desk.post(
        "/checkin",
        {
            "number": second["certificate"]["number"],
            "verification_code": second["verification_code"],
            "election_id": setup.id,
        },
    )
    assert crossed.status_code == 422
    assert crossed.get_json()["code"] == "wrong_election"
    for certificate, election_id in ((first, setup.id), (second, other)):
        taken = desk.ok(
            desk.post(
                "/checkin",
                {
                    "number": certificate["certificate"]["number"],
                    "verification_code": certificate["verification_code"],
                    "election_id": election_id,
                },
            ),
            201,
        )
        assert taken["line_number"] == 1
    with app.app_context():
        refusals = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.code == "wrong_election", AuditEvent.election_id == setup.id)
        )
    assert refusals == 1


def test_the_setup_is_in_the_audit_trail(setup: Setup, app: Flask) -> None:
    with app.app_context():
        events = set(db.session.scalars(select(AuditEvent.event).distinct()))
    assert {
        "election_created",
        "network_map_loaded",
        "precincts_imported",
        "voters_imported",
        "user_created",
        "stock_received",
    } <= events
