"""Whole lives of certificate cases through the JSON API alone, and every refusal it can give.

The world: Almaly (101) and Bostandyk (205) share the locality Almaty; Oral (301) and the village
Derkul (350) are two other localities. Issue happens on 25 May 2022 (the default clock), check-in
on voting day, 5 June 2022, 09:00 in Oral and 10:00 in Almaty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import AuditEvent, Certificate, CertificateCase, Election, StockRange, VoterEntry
from services.clock import FixedClock
from services.sealing import election_seal, seal_certificate
from tests.api.conftest import ApiAs
from tests.factories import World, make_iin, make_voter
from workflow.numbers import format_certificate_number

PROBLEM = "application/problem+json"
VOTING_MORNING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)  # 09:00 in Oral, 10:00 in Almaty
BEFORE_POLLS_OPEN = datetime(2022, 6, 5, 1, 30, tzinfo=UTC)  # 06:30 in Oral, 07:30 in Almaty
ALMATY_DEADLINE = datetime(2022, 6, 4, 12, 0, tzinfo=UTC)  # 18:00:00 in Almaty: window closed
ALMATY_LAST_SECOND = datetime(2022, 6, 4, 11, 59, 59, tzinfo=UTC)  # 17:59:59 in Almaty: open


@dataclass(frozen=True)
class Ids:
    """Plain ids of the world, read once so that no test holds a read open across requests."""

    election: int
    almaly: int
    bostandyk: int
    oral: int
    derkul: int
    almaty_locality: int
    oral_locality: int
    derkul_locality: int


@pytest.fixture
def ids(world: World, session: Session) -> Ids:
    values = Ids(
        election=world.election.id,
        almaly=world.almaty_almaly.id,
        bostandyk=world.almaty_bostandyk.id,
        oral=world.oral_precinct.id,
        derkul=world.derkul_precinct.id,
        almaty_locality=world.almaty.id,
        oral_locality=world.oral.id,
        derkul_locality=world.derkul.id,
    )
    session.rollback()
    return values


def new_voter(session: Session, world: World, precinct_name: str, surname: str) -> str:
    """A voter on the named precinct's list; returns the IIN (the test's only handle)."""
    voter = make_voter(session, world, getattr(world, precinct_name), surname=surname)
    iin = voter.iin
    session.commit()
    return iin


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem with this status and stable code, and return its body."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.content_type == PROBLEM, text
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code, text
    assert body["status"] == status
    assert body["type"].endswith(code)
    assert body["title"]
    assert body["detail"]
    return body


def ok(response: TestResponse, status: int = 200) -> dict[str, Any]:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    body: dict[str, Any] = response.get_json()
    return body


def application(
    iin: str, stay_locality: int, *, representative: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "voter_iin": iin,
        "applicant_document": "ID 045678123",
        "stay_locality_id": stay_locality,
    }
    if representative is not None:
        body["representative"] = representative
    return body


def power_of_attorney(rep_iin: str, **changes: Any) -> dict[str, Any]:
    values = {
        "iin": rep_iin,
        "full_name": "Жанар Төлегенова",
        "power_of_attorney_number": "ДОВ-17",
        "power_of_attorney_date": "2022-05-20",
    }
    values.update(changes)
    return values


def trail(api: Any, case_id: int) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """The case's events as (event, outcome, code, before, after), oldest first."""
    items = ok(api.get(f"/cases/{case_id}/events"))["items"]
    return [
        (item["event"], item["outcome"], item["code"], item["before"], item["after"])
        for item in items
    ]


def issued_case(api: Any, iin: str, stay_locality: int, **kwargs: Any) -> dict[str, Any]:
    """Apply and issue at the api's precinct; the issued case."""
    applied = ok(api.post("/cases", application(iin, stay_locality, **kwargs)), 201)
    return ok(api.post(f"/cases/{applied['id']}/issue", {}))


def verification_code(session: Session, case_id: int) -> str:
    """The code printed on the form (the API never shows it: the paper carries it)."""
    code = session.scalar(
        select(Certificate.verification_code)
        .where(Certificate.case_id == case_id)
        .order_by(Certificate.id.desc())
    )
    session.rollback()
    assert code is not None
    return code


def presented(session: Session, case: dict[str, Any]) -> dict[str, str]:
    return {
        "number": case["certificate"]["number"],
        "verification_code": verification_code(session, case["id"]),
    }


# ---------------------------------------------------------------------------------------------
# Whole lives
# ---------------------------------------------------------------------------------------------


def test_in_person_issued_at_almaly_and_included_at_oral_on_voting_day(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Жұмабаев")
    clerk = api_as("clerk_almaly")

    found = ok(clerk.post("/voters/lookup", {"iin": iin}))
    assert [v["surname"] for v in found["voters"]] == ["Жұмабаев"]
    assert found["voters"][0]["marked_with"] is None
    assert found["voters"][0]["live_case_id"] is None

    applied = clerk.post("/cases", application(iin, ids.oral_locality))
    case = ok(applied, 201)
    assert applied.headers["Location"] == f"/api/v1/cases/{case['id']}"
    assert case["state"] == "received"
    assert case["applicant_kind"] == "voter"
    assert case["representative"] is None
    assert case["certificate"] is None
    assert case["voter_iin_masked"] != iin
    assert iin not in applied.get_data(as_text=True)

    issued = ok(clerk.post(f"/cases/{case['id']}/issue", {}))
    assert issued["state"] == "issued"
    certificate = issued["certificate"]
    assert certificate["state"] == "issued"
    assert certificate["handed_to"] == "voter"
    assert certificate["precinct_id"] == ids.almaly
    assert certificate["number"] == format_certificate_number(certificate["serial"])

    marked = ok(clerk.post("/voters/lookup", {"iin": iin}))["voters"][0]
    assert marked["marked_with"] == certificate["number"]
    assert marked["live_case_id"] == case["id"]

    pdf = clerk.get(f"/cases/{case['id']}/document.pdf")
    assert pdf.status_code == 200
    assert pdf.content_type == "application/pdf"
    assert pdf.data.startswith(b"%PDF")

    register = ok(clerk.get("/register", precinct_id=ids.almaly))["items"]
    assert [(row["number"], row["state"], row["received_by"]) for row in register] == [
        (certificate["number"], "issued", None)
    ]
    assert register[0]["voter_name"].startswith("Жұмабаев")
    register_pdf = clerk.get(f"/precincts/{ids.almaly}/register.pdf")
    assert register_pdf.status_code == 200
    assert register_pdf.data.startswith(b"%PDF")

    clock.instant = VOTING_MORNING
    desk = api_as("checkin_oral")
    shown = presented(session, issued)
    preview = ok(desk.post("/checkin/preview", shown))
    assert preview["outcome"] == "may_include"
    assert preview["holder"]["certificate_number"] == certificate["number"]
    assert preview["holder"]["home_precinct"]["number"] == 101
    assert preview["line_number"] is None
    assert ok(clerk.get(f"/cases/{case['id']}"))["state"] == "issued", "a preview changes nothing"

    included = ok(desk.post("/checkin", shown), 201)
    assert included["outcome"] == "included"
    assert included["line_number"] == 1

    inclusions = ok(desk.get("/inclusions"))["items"]
    assert [(row["line_number"], row["certificate_number"]) for row in inclusions] == [
        (1, certificate["number"])
    ]
    assert inclusions[0]["issuing_precinct_id"] == ids.almaly
    assert inclusions[0]["precinct_id"] == ids.oral
    supplementary = desk.get(f"/precincts/{ids.oral}/supplementary-list.pdf")
    assert supplementary.status_code == 200
    assert supplementary.data.startswith(b"%PDF")
    # Almaly's clerk sees nothing of Oral's supplementary list.
    assert ok(clerk.get("/inclusions"))["items"] == []

    final = ok(clerk.get(f"/cases/{case['id']}"))
    assert final["state"] == "included"
    assert final["certificate"]["state"] == "used"
    assert ok(clerk.get("/register", precinct_id=ids.almaly))["items"][0]["state"] == "used"

    assert trail(clerk, case["id"]) == [
        ("apply", "accepted", None, None, "received"),
        ("issue", "accepted", None, "received", "issued"),
        ("print", "accepted", None, None, None),
        ("include", "accepted", None, "issued", "included"),
    ]
    figures = ok(clerk.get(f"/precincts/{ids.almaly}/reconciliation"))
    assert figures == {
        "precinct_id": ids.almaly,
        "received": 50,
        "issued": 1,
        "spoilt": 0,
        "unused": 49,
        "balanced": True,
    }


def test_representative_applies_at_oral_and_the_voter_is_included_in_almaty(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "oral_precinct", "Ахметов")
    rep_iin = make_iin()
    clerk = api_as("clerk_oral")

    applied = ok(
        clerk.post(
            "/cases",
            application(iin, ids.almaty_locality, representative=power_of_attorney(rep_iin)),
        ),
        201,
    )
    assert applied["applicant_kind"] == "representative"
    assert applied["representative"] == {
        "iin_masked": applied["representative"]["iin_masked"],
        "full_name": "Жанар Төлегенова",
        "power_of_attorney_number": "ДОВ-17",
        "power_of_attorney_date": "2022-05-20",
    }
    assert rep_iin not in str(applied)
    assert applied["warnings"] == []

    issued = ok(clerk.post(f"/cases/{applied['id']}/issue", {}))
    assert issued["certificate"]["handed_to"] == "representative"
    row = ok(clerk.get("/register"))["items"][0]
    assert row["received_by"] == "Жанар Төлегенова"
    pdf = clerk.get(f"/cases/{applied['id']}/document.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")

    # Voting day in Almaty, at Bostandyk's desk: another locality than Oral, so included.
    clock.instant = VOTING_MORNING
    desk = api_as("checkin_bostandyk")
    included = ok(desk.post("/checkin", presented(session, issued)), 201)
    assert included["outcome"] == "included"
    assert included["holder"]["home_precinct"]["id"] == ids.oral
    assert ok(clerk.get(f"/cases/{applied['id']}"))["state"] == "included"
    lines = ok(api_as("admin").get("/inclusions", precinct_id=ids.bostandyk))["items"]
    assert [line["issuing_precinct_id"] for line in lines] == [ids.oral]
    assert [event[0] for event in trail(clerk, applied["id"])] == [
        "apply",
        "issue",
        "print",
        "include",
    ]


def test_certificate_checked_in_by_its_qr_code(
    app: Flask, api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Сейітов")
    issued = issued_case(api_as("clerk_almaly"), iin, ids.derkul_locality)
    certificate = session.scalar(select(Certificate).where(Certificate.case_id == issued["id"]))
    assert certificate is not None
    qr = seal_certificate(election_seal(Path(app.instance_path), "ref2022"), certificate, iin)
    session.rollback()
    clock.instant = VOTING_MORNING
    included = ok(api_as("checkin_derkul").post("/checkin", {"qr": qr}), 201)
    assert included["outcome"] == "included"
    assert included["holder"]["certificate_number"] == issued["certificate"]["number"]


def test_voter_returns_home_and_votes_on_the_home_list(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "oral_precinct", "Қайратов")
    clerk = api_as("clerk_oral")
    issued = issued_case(clerk, iin, ids.derkul_locality)
    clock.instant = VOTING_MORNING
    desk = api_as("checkin_oral")
    shown = presented(session, issued)
    assert ok(desk.post("/checkin/preview", shown))["outcome"] == "may_return_home"
    back = ok(desk.post("/checkin", shown))  # 200: no line in a supplementary list
    assert back["outcome"] == "returned_home"
    assert back["line_number"] is None
    assert back["inclusion_id"] is None

    case = ok(clerk.get(f"/cases/{issued['id']}"))
    assert case["state"] == "returned"
    assert case["certificate"]["state"] == "returned"
    voter = ok(clerk.post("/voters/lookup", {"iin": iin}))["voters"][0]
    assert voter["marked_with"] is None, "the home mark is lifted: the voter votes at home"
    assert ok(desk.get("/inclusions"))["items"] == []
    assert trail(clerk, issued["id"])[-1] == (
        "return_home",
        "accepted",
        None,
        "issued",
        "returned",
    )


def test_spoilt_form_is_voided_and_the_case_reissued_with_a_new_number(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Бекова")
    clerk = api_as("clerk_almaly")
    first = issued_case(clerk, iin, ids.oral_locality)
    first_number = first["certificate"]["number"]

    spoilt = ok(clerk.post(f"/cases/{first['id']}/spoil", {"reason": "printer jam"}))
    assert spoilt["state"] == "received"
    assert spoilt["certificate"] is None
    assert ok(clerk.post("/voters/lookup", {"iin": iin}))["voters"][0]["marked_with"] is None

    second = ok(clerk.post(f"/cases/{first['id']}/issue", {}))
    assert second["state"] == "issued"
    assert second["certificate"]["number"] != first_number
    assert second["certificate"]["serial"] == first["certificate"]["serial"] + 1

    register = ok(clerk.get("/register", precinct_id=ids.almaly))["items"]
    assert [(row["number"], row["state"]) for row in register] == [
        (first_number, "spoilt"),
        (second["certificate"]["number"], "issued"),
    ]
    figures = ok(clerk.get(f"/precincts/{ids.almaly}/reconciliation"))
    assert (figures["issued"], figures["spoilt"], figures["unused"]) == (1, 1, 48)
    assert figures["balanced"] is True
    assert [(e[0], e[3], e[4]) for e in trail(clerk, first["id"])] == [
        ("apply", None, "received"),
        ("issue", "received", "issued"),
        ("spoil", "issued", "received"),
        ("issue", "received", "issued"),
    ]


def test_lost_certificate_is_void_for_ever_and_no_duplicate_is_issued(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Омарова")
    clerk = api_as("clerk_almaly")
    issued = issued_case(clerk, iin, ids.oral_locality)
    shown = presented(session, issued)

    lost = ok(clerk.post(f"/cases/{issued['id']}/lost", {"reason": "lost on the bus"}))
    assert lost["state"] == "lost"
    assert lost["certificate"]["state"] == "lost"
    voter = ok(clerk.post("/voters/lookup", {"iin": iin}))["voters"][0]
    assert voter["marked_with"] == issued["certificate"]["number"], "the home mark stays"

    again = problem(
        clerk.post("/cases", application(iin, ids.oral_locality)), 409, "already_issued"
    )
    assert ok(clerk.get(f"/cases/{again['case_id']}"))["state"] == "refused"
    problem(clerk.post(f"/cases/{issued['id']}/issue", {}), 409, "invalid_transition")

    clock.instant = VOTING_MORNING
    refused = problem(api_as("checkin_oral").post("/checkin", shown), 422, "void")
    assert any("lost" in hint for hint in refused["hints"])
    assert ok(clerk.get(f"/cases/{issued['id']}"))["state"] == "lost"
    assert [(e[0], e[1], e[2]) for e in trail(clerk, issued["id"])] == [
        ("apply", "accepted", None),
        ("issue", "accepted", None),
        ("report_lost", "accepted", None),
        ("issue", "refused", "invalid_transition"),
        ("include", "refused", "void"),
    ]


def test_surrendered_certificate_is_cancelled_and_a_new_application_is_possible(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Ғалымов")
    clerk = api_as("clerk_almaly")
    issued = issued_case(clerk, iin, ids.oral_locality)
    shown = presented(session, issued)

    cancelled = ok(clerk.post(f"/cases/{issued['id']}/cancel", {"reason": "plans changed"}))
    assert cancelled["state"] == "cancelled"
    assert cancelled["certificate"]["state"] == "cancelled"
    assert ok(clerk.post("/voters/lookup", {"iin": iin}))["voters"][0]["marked_with"] is None
    register = ok(clerk.get("/register"))["items"]
    assert [row["state"] for row in register] == ["cancelled"]

    second = issued_case(clerk, iin, ids.derkul_locality)
    assert second["id"] != issued["id"]
    assert second["certificate"]["number"] != issued["certificate"]["number"]

    clock.instant = VOTING_MORNING
    problem(api_as("checkin_oral").post("/checkin", shown), 422, "void")
    assert trail(clerk, issued["id"])[2] == (
        "surrender",
        "accepted",
        None,
        "issued",
        "cancelled",
    )


def test_withdrawn_application_ends_and_frees_the_voter(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Тоқтаров")
    clerk = api_as("clerk_almaly")
    applied = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    withdrawn = ok(clerk.post(f"/cases/{applied['id']}/withdraw", {"reason": ""}))
    assert withdrawn["state"] == "withdrawn"
    problem(clerk.post(f"/cases/{applied['id']}/issue", {}), 409, "invalid_transition")
    ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    listed = ok(clerk.get("/cases", state="withdrawn"))["items"]
    assert [case["id"] for case in listed] == [applied["id"]]


def test_representative_over_the_threshold_is_warned_not_refused(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    rep_iin = make_iin()
    clerk = api_as("clerk_almaly")
    warnings = []
    for index in range(4):
        iin = new_voter(session, world, "almaty_almaly", f"Сенімхатов{index}")
        body = application(iin, ids.oral_locality, representative=power_of_attorney(rep_iin))
        warnings.append(ok(clerk.post("/cases", body), 201)["warnings"])
    assert warnings == [[], [], [], ["representative_threshold"]]


# ---------------------------------------------------------------------------------------------
# Refusals of an application: recorded as a refused case, named in the problem
# ---------------------------------------------------------------------------------------------


def _refused_application(
    api: Any, body: dict[str, Any], status: int, code: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The problem and the refused case it names (kept: the citizen may appeal)."""
    answer = problem(api.post("/cases", body), status, code)
    assert isinstance(answer["case_id"], int), answer
    case = ok(api.get(f"/cases/{answer['case_id']}"))
    assert case["state"] == "refused"
    assert case["refusal_code"] == code
    assert trail(api, case["id"]) == [("apply", "refused", code, None, "refused")]
    return answer, case


def test_application_refused_not_on_list_is_recorded(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    oral_voter = new_voter(session, world, "oral_precinct", "Сапаров")
    clerk = api_as("clerk_almaly")
    _answer, case = _refused_application(
        clerk, application(oral_voter, ids.oral_locality), 422, "not_on_list"
    )
    assert case["voter_id"] is None
    pdf = clerk.get(f"/cases/{case['id']}/document.pdf")  # the refusal notice
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    lookup = ok(clerk.post("/voters/lookup", {"iin": oral_voter}))
    assert lookup["voters"] == []
    assert lookup["apply_at"]["number"] == 301


def test_application_window_opens_at_local_midnight_and_closes_at_1800(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    early = new_voter(session, world, "almaty_almaly", "Ертаев")
    on_time = new_voter(session, world, "almaty_almaly", "Уақытылы")
    late = new_voter(session, world, "almaty_almaly", "Кешов")
    clerk = api_as("clerk_almaly")
    clock.instant = datetime(2022, 5, 19, 17, 59, 59, tzinfo=UTC)  # 19 May 23:59:59 in Almaty
    problem(clerk.post("/cases", application(early, ids.oral_locality)), 422, "window_closed")
    clock.instant = datetime(2022, 5, 19, 18, 0, tzinfo=UTC)  # 20 May 00:00 in Almaty: opens
    ok(clerk.post("/cases", application(early, ids.oral_locality)), 201)
    clock.instant = ALMATY_LAST_SECOND
    ok(clerk.post("/cases", application(on_time, ids.oral_locality)), 201)
    clock.instant = ALMATY_DEADLINE
    _refused_application(clerk, application(late, ids.oral_locality), 422, "window_closed")


def test_issue_after_the_deadline_is_refused_and_the_case_stays_received(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Кешікбаев")
    clerk = api_as("clerk_almaly")
    applied = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    clock.instant = ALMATY_DEADLINE
    answer = problem(clerk.post(f"/cases/{applied['id']}/issue", {}), 422, "window_closed")
    assert "case_id" not in answer, "only a refused application names its case"
    assert ok(clerk.get(f"/cases/{applied['id']}"))["state"] == "received"
    assert trail(clerk, applied["id"])[-1] == (
        "issue",
        "refused",
        "window_closed",
        "received",
        "received",
    )


def test_second_application_refused_already_issued_with_409(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Екіншиев")
    clerk = api_as("clerk_almaly")
    first = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    _answer, case = _refused_application(
        clerk, application(iin, ids.derkul_locality), 409, "already_issued"
    )
    assert case["id"] != first["id"]
    assert ok(clerk.get(f"/cases/{first['id']}"))["state"] == "received"


def test_stay_in_the_home_locality_refused_same_locality(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Жергілікті")
    _refused_application(
        api_as("clerk_almaly"), application(iin, ids.almaty_locality), 422, "same_locality"
    )


@pytest.mark.parametrize(
    "flaw",
    [
        {"power_of_attorney_number": ""},
        {"power_of_attorney_date": None},
        {"power_of_attorney_date": "2022-06-01"},  # dated after today (25 May)
        "self",
    ],
    ids=["no-number", "no-date", "future-date", "representative-is-the-voter"],
)
def test_representative_without_valid_power_of_attorney_refused_proxy_invalid(
    api_as: ApiAs, session: Session, world: World, ids: Ids, flaw: Any
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Сенімсіз")
    representative = (
        power_of_attorney(iin) if flaw == "self" else power_of_attorney(make_iin(), **flaw)
    )
    _refused_application(
        api_as("clerk_almaly"),
        application(iin, ids.oral_locality, representative=representative),
        422,
        "proxy_invalid",
    )


@pytest.mark.parametrize("whose", ["voter", "representative"])
def test_iin_with_a_wrong_check_digit_refused_invalid_iin(
    api_as: ApiAs, session: Session, world: World, ids: Ids, whose: str
) -> None:
    bad = "123456789012"
    if whose == "voter":
        body = application(bad, ids.oral_locality)
    else:
        iin = new_voter(session, world, "almaty_almaly", "Өкілсіз")
        body = application(iin, ids.oral_locality, representative=power_of_attorney(bad))
    answer, _case = _refused_application(api_as("clerk_almaly"), body, 422, "invalid_iin")
    assert bad not in str(answer)


# ---------------------------------------------------------------------------------------------
# Refusals of a desk action: the case is unchanged, the refusal audited
# ---------------------------------------------------------------------------------------------


def test_actions_in_the_wrong_state_refused_invalid_transition(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Күйсіз")
    clerk = api_as("clerk_almaly")
    applied = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    case_id = applied["id"]
    for action in ("spoil", "lost", "cancel"):
        problem(
            clerk.post(f"/cases/{case_id}/{action}", {"reason": "x"}), 409, "invalid_transition"
        )
    ok(clerk.post(f"/cases/{case_id}/issue", {}))
    problem(clerk.post(f"/cases/{case_id}/issue", {}), 409, "invalid_transition")
    problem(clerk.post(f"/cases/{case_id}/withdraw", {"reason": ""}), 409, "invalid_transition")
    problem(
        clerk.post(f"/cases/{case_id}/refuse", {"code": "other", "note": "late"}),
        409,
        "invalid_transition",
    )
    assert ok(clerk.get(f"/cases/{case_id}"))["state"] == "issued"
    refused = [(e[0], e[2]) for e in trail(clerk, case_id) if e[1] == "refused"]
    assert refused == [
        ("spoil", "invalid_transition"),
        ("report_lost", "invalid_transition"),
        ("surrender", "invalid_transition"),
        ("issue", "invalid_transition"),
        ("withdraw", "invalid_transition"),
        ("refuse", "invalid_transition"),
    ]


@pytest.mark.parametrize("action", ["spoil", "lost", "cancel"])
def test_corrections_without_a_reason_refused_reason_required(
    api_as: ApiAs, session: Session, world: World, ids: Ids, action: str
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Себепсіз")
    clerk = api_as("clerk_almaly")
    issued = issued_case(clerk, iin, ids.oral_locality)
    problem(
        clerk.post(f"/cases/{issued['id']}/{action}", {"reason": "   "}), 422, "reason_required"
    )
    assert ok(clerk.get(f"/cases/{issued['id']}"))["state"] == "issued"
    assert trail(clerk, issued["id"])[-1][1:3] == ("refused", "reason_required")


def test_refusal_on_other_ground_needs_a_note(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Жазбасыз")
    clerk = api_as("clerk_almaly")
    applied = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    problem(clerk.post(f"/cases/{applied['id']}/refuse", {"code": "other"}), 422, "reason_required")
    assert ok(clerk.get(f"/cases/{applied['id']}"))["state"] == "received"


@pytest.mark.parametrize(
    ("code", "note"),
    [("identity_not_confirmed", ""), ("other", "the applicant left before signing")],
)
def test_commission_refuses_a_received_application_on_a_stated_ground(
    api_as: ApiAs, session: Session, world: World, ids: Ids, code: str, note: str
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Қабылданбаған")
    clerk = api_as("clerk_almaly")
    applied = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    refused = ok(clerk.post(f"/cases/{applied['id']}/refuse", {"code": code, "note": note}))
    assert refused["state"] == "refused"
    assert refused["refusal_code"] == code
    assert refused["refusal_note"] == (note or None)
    notice = clerk.get(f"/cases/{applied['id']}/document.pdf")
    assert notice.status_code == 200
    assert notice.data.startswith(b"%PDF")
    assert trail(clerk, applied["id"])[:2] == [
        ("apply", "accepted", None, None, "received"),
        ("refuse", "accepted", None, "received", "refused"),
    ]
    # A refusal ends the case: the voter may apply afresh.
    ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)


def test_manual_refusal_with_an_unknown_ground_is_invalid_input(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Негізсіз")
    clerk = api_as("clerk_almaly")
    applied = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    answer = problem(
        clerk.post(f"/cases/{applied['id']}/refuse", {"code": "forged"}), 422, "invalid_input"
    )
    assert [error["field"] for error in answer["errors"]] == ["code"]


def test_issue_refused_no_stock_until_the_territorial_commission_hands_down_a_range(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    first = new_voter(session, world, "oral_precinct", "Бірінші")
    second = new_voter(session, world, "oral_precinct", "Екінші")
    session.execute(delete(StockRange).where(StockRange.precinct_id == ids.oral))
    session.commit()
    clerk = api_as("clerk_oral")
    applied = ok(clerk.post("/cases", application(first, ids.almaty_locality)), 201)
    problem(clerk.post(f"/cases/{applied['id']}/issue", {}), 422, "no_stock")
    assert ok(clerk.get(f"/cases/{applied['id']}"))["state"] == "received"

    stock = ok(
        api_as("territorial_west").post(
            "/stock", {"precinct_id": ids.oral, "first_serial": 9001, "last_serial": 9001}
        ),
        201,
    )
    assert (stock["unused"], stock["next_serial"]) == (1, 9001)
    issued = ok(clerk.post(f"/cases/{applied['id']}/issue", {}))
    assert issued["certificate"]["serial"] == 9001

    other = ok(clerk.post("/cases", application(second, ids.almaty_locality)), 201)
    problem(clerk.post(f"/cases/{other['id']}/issue", {}), 422, "no_stock")
    assert trail(clerk, applied["id"])[1:3] == [
        ("issue", "refused", "no_stock", "received", "received"),
        ("issue", "accepted", None, "received", "issued"),
    ]
    figures = ok(clerk.get(f"/precincts/{ids.oral}/reconciliation"))
    assert (figures["received"], figures["issued"], figures["unused"]) == (1, 1, 0)
    assert figures["balanced"] is True


def test_surrender_refused_when_the_election_forbids_it(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Қайтармас")
    clerk = api_as("clerk_almaly")
    issued = issued_case(clerk, iin, ids.oral_locality)
    election = session.get_one(Election, ids.election)
    election.allow_surrender = False
    session.commit()
    problem(clerk.post(f"/cases/{issued['id']}/cancel", {"reason": "plans"}), 422, "policy_forbids")
    assert ok(clerk.get(f"/cases/{issued['id']}"))["state"] == "issued"
    assert trail(clerk, issued["id"])[-1][:3] == ("surrender", "refused", "policy_forbids")


def test_surrender_refused_after_the_deadline(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Кешіккен")
    clerk = api_as("clerk_almaly")
    issued = issued_case(clerk, iin, ids.oral_locality)
    clock.instant = ALMATY_DEADLINE
    problem(clerk.post(f"/cases/{issued['id']}/cancel", {"reason": "plans"}), 422, "window_closed")
    # A loss may still be reported: it needs no window.
    assert ok(clerk.post(f"/cases/{issued['id']}/lost", {"reason": "gone"}))["state"] == "lost"


# ---------------------------------------------------------------------------------------------
# Refusals at check-in: audited, explained with hints, nothing taken in
# ---------------------------------------------------------------------------------------------


def _included_count(session: Session) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(CertificateCase)
        .where(CertificateCase._state.in_(["included", "returned"]))
    )
    session.rollback()
    return int(count or 0)


def test_checkin_before_voting_day_and_before_polls_open_refused_not_voting_hours(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Ерте")
    issued = issued_case(api_as("clerk_almaly"), iin, ids.oral_locality)
    shown = presented(session, issued)
    desk = api_as("checkin_oral")
    for instant, local in (
        (datetime(2022, 5, 25, 6, 0, tzinfo=UTC), "2022-05-25 11:00"),
        (BEFORE_POLLS_OPEN, "2022-06-05 06:30"),
    ):
        clock.instant = instant
        answer = problem(desk.post("/checkin", shown), 422, "not_voting_hours")
        assert any(local in hint for hint in answer["hints"]), "Oral's wall clock (UTC+5)"
        problem(desk.post("/checkin/preview", shown), 422, "not_voting_hours")
    assert _included_count(session) == 0
    codes = [e[2] for e in trail(api_as("clerk_almaly"), issued["id"]) if e[1] == "refused"]
    assert codes == ["not_voting_hours"] * 4


def test_checkin_until_the_last_second_before_2000_local_at_the_receiving_precinct(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    late = issued_case(
        api_as("clerk_almaly"), new_voter(session, world, "almaty_almaly", "Кеш"), ids.oral_locality
    )
    later = issued_case(
        api_as("clerk_almaly"),
        new_voter(session, world, "almaty_almaly", "Кешірек"),
        ids.oral_locality,
    )
    desk = api_as("checkin_oral")
    clock.instant = datetime(2022, 6, 5, 14, 59, 59, tzinfo=UTC)  # 19:59:59 in Oral (UTC+5)
    assert ok(desk.post("/checkin", presented(session, late)), 201)["line_number"] == 1
    clock.instant = datetime(2022, 6, 5, 15, 0, tzinfo=UTC)  # 20:00:00 in Oral
    problem(desk.post("/checkin", presented(session, later)), 422, "not_voting_hours")


def test_village_under_the_city_is_its_own_locality_at_check_in(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "oral_precinct", "Ауылдық")
    issued = issued_case(api_as("clerk_oral"), iin, ids.derkul_locality)
    clock.instant = VOTING_MORNING
    included = ok(api_as("checkin_derkul").post("/checkin", presented(session, issued)), 201)
    assert included["outcome"] == "included"


def test_checkin_of_an_unknown_or_forged_or_mistyped_number(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Жалған")
    issued = issued_case(api_as("clerk_almaly"), iin, ids.oral_locality)
    shown = presented(session, issued)
    clock.instant = VOTING_MORNING
    desk = api_as("checkin_oral")

    unknown = {"number": format_certificate_number(777), "verification_code": "ACDEFHJK"}
    problem(desk.post("/checkin", unknown), 422, "not_found")
    problem(desk.post("/checkin", {"number": "ABC", "verification_code": "X"}), 422, "not_found")
    wrong_code = "ACDEFHJK" if shown["verification_code"] != "ACDEFHJK" else "KJHFEDCA"
    forged = {"number": shown["number"], "verification_code": wrong_code}
    problem(desk.post("/checkin", forged), 422, "forged")
    digits = shown["number"].replace("-", "")
    mistyped = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    problem(
        desk.post("/checkin", {"number": mistyped, "verification_code": "X"}),
        422,
        "mistyped_number",
    )
    problem(desk.post("/checkin", {"qr": "KU1:not-a-seal"}), 422, "not_found")
    assert _included_count(session) == 0

    refused = session.scalars(
        select(AuditEvent.code).where(AuditEvent.event == "include").order_by(AuditEvent.id)
    ).all()
    session.rollback()
    assert refused == ["not_found", "not_found", "forged", "mistyped_number", "not_found"]
    # Only the forged attempt names a real certificate, so only it joins the case's trail.
    assert [e[2] for e in trail(api_as("clerk_almaly"), issued["id"]) if e[1] == "refused"] == [
        "forged"
    ]
    # The genuine certificate is still good.
    assert ok(desk.post("/checkin", shown), 201)["outcome"] == "included"


def test_forged_qr_signature_refused_forged(
    app: Flask, api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Қолтаңба")
    issued = issued_case(api_as("clerk_almaly"), iin, ids.oral_locality)
    certificate = session.scalar(select(Certificate).where(Certificate.case_id == issued["id"]))
    assert certificate is not None
    # A seal made with another election's key: a genuine format, a foreign signature.
    stranger = election_seal(Path(app.instance_path), "ref2022-forger")
    foreign = seal_certificate(stranger, certificate, iin)
    session.rollback()
    clock.instant = VOTING_MORNING
    problem(api_as("checkin_oral").post("/checkin", {"qr": foreign}), 422, "forged")
    assert _included_count(session) == 0


def test_second_presentation_refused_already_used_with_409(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Қайталаушы")
    issued = issued_case(api_as("clerk_almaly"), iin, ids.oral_locality)
    shown = presented(session, issued)
    clock.instant = VOTING_MORNING
    ok(api_as("checkin_oral").post("/checkin", shown), 201)
    again = problem(api_as("checkin_derkul").post("/checkin", shown), 409, "already_used")
    assert any("301" in hint for hint in again["hints"])
    problem(api_as("checkin_oral").post("/checkin/preview", shown), 409, "already_used")
    alerts = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.event == "alert_repeated_use")
    )
    session.rollback()
    assert alerts == 1, "a second refused use alerts the territorial commission"
    assert ok(api_as("checkin_derkul").get("/inclusions"))["items"] == []


def test_checkin_in_the_home_locality_refused_same_locality_with_a_pointer_home(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Көрші")
    issued = issued_case(api_as("clerk_almaly"), iin, ids.oral_locality)
    clock.instant = VOTING_MORNING
    answer = problem(
        api_as("checkin_bostandyk").post("/checkin", presented(session, issued)),
        422,
        "same_locality",
    )
    assert any("101" in hint for hint in answer["hints"])
    assert ok(api_as("clerk_almaly").get(f"/cases/{issued['id']}"))["state"] == "issued"


def test_return_home_refused_when_the_election_forbids_it(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "oral_precinct", "Үйдегі")
    issued = issued_case(api_as("clerk_oral"), iin, ids.derkul_locality)
    shown = presented(session, issued)
    election = session.get_one(Election, ids.election)
    election.allow_return_home = False
    session.commit()
    clock.instant = VOTING_MORNING
    problem(api_as("checkin_oral").post("/checkin", shown), 422, "policy_forbids")
    case = ok(api_as("clerk_oral").get(f"/cases/{issued['id']}"))
    assert case["state"] == "issued"
    assert trail(api_as("clerk_oral"), issued["id"])[-1][:3] == (
        "return_home",
        "refused",
        "policy_forbids",
    )
    voter = session.scalar(select(VoterEntry).where(VoterEntry.iin == iin))
    assert voter is not None
    assert voter.mark_serial == issued["certificate"]["serial"], "the home mark stays"
    session.rollback()


# ---------------------------------------------------------------------------------------------
# More than one election: numbers and seals never cross elections; kinds without certificates
# ---------------------------------------------------------------------------------------------


def another_election(api: Any, source_id: int, **values: Any) -> dict[str, Any]:
    """A new election through the API, with a copy of the 2022 network and its staff placed."""
    body: dict[str, Any] = {
        "code": "pres2022",
        "kind": "presidential",
        "number_series": "2211",
        "name_kk": "Президент сайлауы",
        "name_ru": "Выборы Президента",
        "name_en": "Presidential election",
        "voting_day": "2022-11-20",
        "issue_opens_on": "2022-11-04",
        "issue_deadline_on": "2022-11-19",
        "network": {"copy_from": source_id, "with_staff": True},
    }
    body.update(values)
    election = ok(api.post("/elections", body), 201)
    assert election["phase"] == "preparing"
    return election


def test_certificate_of_another_election_refused_wrong_election(
    app: Flask, api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    later = another_election(api_as("admin"), ids.election)
    iin = new_voter(session, world, "almaty_almaly", "Басқасайлау")
    issued = issued_case(api_as("clerk_almaly"), iin, ids.oral_locality)
    shown = presented(session, issued)
    certificate = session.scalar(select(Certificate).where(Certificate.case_id == issued["id"]))
    assert certificate is not None
    qr = seal_certificate(election_seal(Path(app.instance_path), "ref2022"), certificate, iin)
    session.rollback()
    clock.instant = VOTING_MORNING
    desk = api_as("checkin_oral")  # placed at Oral's copy in the later election too

    # The 2022 paper at the later election's desk: its number has no series, so it is 2022's.
    at_later = {**shown, "election_id": later["id"]}
    answer = problem(desk.post("/checkin", at_later), 422, "wrong_election")
    assert any("2022-06-05" in hint for hint in answer["hints"]), "the hint names its election"
    problem(desk.post("/checkin/preview", at_later), 422, "wrong_election")
    # Its genuine seal there too.
    problem(desk.post("/checkin", {"qr": qr, "election_id": later["id"]}), 422, "wrong_election")
    # A number of the later election's series at the 2022 desk.
    foreign = {
        "number": format_certificate_number(issued["certificate"]["serial"], "2211"),
        "verification_code": shown["verification_code"],
    }
    problem(desk.post("/checkin", foreign), 422, "wrong_election")
    assert _included_count(session) == 0

    refused = session.execute(
        select(AuditEvent.election_id, AuditEvent.code)
        .where(AuditEvent.event == "include", AuditEvent.outcome == "refused")
        .order_by(AuditEvent.id)
    ).all()
    session.rollback()
    assert [tuple(row) for row in refused] == [
        (later["id"], "wrong_election"),
        (later["id"], "wrong_election"),
        (later["id"], "wrong_election"),
        (ids.election, "wrong_election"),
    ]
    # The certificate is still good at a desk of its own election.
    assert ok(desk.post("/checkin", shown), 201)["outcome"] == "included"


def test_application_in_an_election_without_certificates_refused_no_certificates(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    senate = another_election(
        api_as("admin"),
        ids.election,
        code="senate2022",
        kind="senate",
        number_series="2208",
        name_en="Senate election",
        voting_day="2022-08-20",
        issue_opens_on=None,
        issue_deadline_on=None,
    )
    assert (senate["issue_opens_on"], senate["issue_deadline_on"]) == (None, None)
    clerk = api_as("clerk_almaly")
    home = ok(clerk.get("/precincts", election_id=senate["id"], number=101))["items"]
    stay = ok(clerk.get("/localities", election_id=senate["id"], name="Орал"))["items"]
    assert [precinct["number"] for precinct in home] == [101]
    # The voter is on that election's list at the clerk's precinct: only the kind stands in
    # the way.
    voter = make_voter(
        session,
        world,
        world.almaty_almaly,
        surname="Сенаттық",
        election_id=senate["id"],
        precinct_id=home[0]["id"],
    )
    iin = voter.iin
    session.commit()
    body = {**application(iin, stay[0]["id"]), "election_id": senate["id"]}
    _answer, case = _refused_application(clerk, body, 422, "no_certificates")
    assert case["election_id"] == senate["id"]
    assert case["precinct_id"] == home[0]["id"]
    # Without election_id the application goes to the clerk's current election, the 2022
    # referendum, whose list this voter is not on.
    problem(clerk.post("/cases", application(iin, ids.oral_locality)), 422, "not_on_list")


def _voter_id(api: Any, iin: str) -> int:
    voters = ok(api.post("/voters/lookup", {"iin": iin}))["voters"]
    assert len(voters) == 1
    voter_id: int = voters[0]["id"]
    return voter_id


def test_relisting_refused_while_the_voter_holds_a_certificate_holds_certificate(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "oral_precinct", "Көшпейтін")
    clerk = api_as("clerk_oral")
    voter_id = _voter_id(clerk, iin)
    applied = ok(clerk.post("/cases", application(iin, ids.almaty_locality)), 201)
    territorial = api_as("territorial_west")
    move = {"to_precinct_id": ids.derkul, "reason": "Әкімдік шешімі № 4"}
    problem(territorial.post(f"/voters/{voter_id}/move", move), 422, "holds_certificate")
    ok(clerk.post(f"/cases/{applied['id']}/issue", {}))
    problem(territorial.post(f"/voters/{voter_id}/move", move), 422, "holds_certificate")
    assert ok(clerk.post("/voters/lookup", {"iin": iin}))["voters"][0]["precinct_id"] == ids.oral
    # Once the certificate is handed back, nothing holds the entry: the move goes through.
    ok(clerk.post(f"/cases/{applied['id']}/cancel", {"reason": "plans changed"}))
    moved = ok(territorial.post(f"/voters/{voter_id}/move", move))
    assert moved["precinct_id"] == ids.derkul
    events = session.execute(
        select(AuditEvent.outcome, AuditEvent.code)
        .where(AuditEvent.event == "voter_relisted")
        .order_by(AuditEvent.id)
    ).all()
    session.rollback()
    assert [tuple(row) for row in events] == [
        ("refused", "holds_certificate"),
        ("refused", "holds_certificate"),
        ("accepted", None),
    ]


def test_relisting_refused_from_the_opening_of_voting_relisting_closed(
    api_as: ApiAs, session: Session, world: World, ids: Ids, clock: FixedClock
) -> None:
    iin = new_voter(session, world, "oral_precinct", "Көшетін")
    voter_id = _voter_id(api_as("clerk_oral"), iin)
    territorial = api_as("territorial_west")
    to_derkul = {"to_precinct_id": ids.derkul, "reason": "Әкімдік шешімі № 5"}
    to_oral = {"to_precinct_id": ids.oral, "reason": "Әкімдік шешімі № 6"}
    # Oral's wall clock decides (UTC+5 in 2022): 06:59:59 there is still before voting.
    clock.instant = datetime(2022, 6, 5, 1, 59, 59, tzinfo=UTC)
    assert ok(territorial.post(f"/voters/{voter_id}/move", to_derkul))["precinct_id"] == ids.derkul
    clock.instant = datetime(2022, 6, 5, 2, 0, tzinfo=UTC)  # 07:00:00 in Oral and Derkul
    problem(territorial.post(f"/voters/{voter_id}/move", to_oral), 422, "relisting_closed")
    clock.instant = VOTING_MORNING
    problem(api_as("admin").post(f"/voters/{voter_id}/move", to_oral), 422, "relisting_closed")
    voter = session.get_one(VoterEntry, voter_id)
    assert voter.precinct_id == ids.derkul, "the lists are final on voting day"
    session.rollback()


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("post", "/checkin", "wrong_election"),
        ("post", "/checkin/preview", "wrong_election"),
        ("post", "/cases", "no_certificates"),
        ("post", "/voters/{voter_id}/move", "holds_certificate"),
        ("post", "/voters/{voter_id}/move", "relisting_closed"),
    ],
)
def test_the_new_refusals_are_documented_on_the_operations_that_give_them(
    app: Flask, method: str, path: str, code: str
) -> None:
    """The walkthroughs above reach these codes; a client reads them in the OpenAPI document."""
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    description = document["paths"][path][method]["description"]
    assert f"`{code}`" in description, f"{method.upper()} {path}: {description}"


def test_every_refusal_code_is_reachable_through_the_api() -> None:
    """The codes this module drives; a new code must get a walkthrough of its own."""
    from workflow.errors import RefusalCode

    covered = {
        "not_on_list",
        "window_closed",
        "already_issued",
        "same_locality",
        "proxy_invalid",
        "invalid_iin",
        "not_voting_hours",
        "not_found",
        "forged",
        "already_used",
        "void",
        "mistyped_number",
        "invalid_transition",
        "policy_forbids",
        "no_stock",
        "reason_required",
        "identity_not_confirmed",
        "wrong_election",
        "no_certificates",
        "holds_certificate",
        "relisting_closed",
        "other",
    }
    assert {code.value for code in RefusalCode} == covered


# ---------------------------------------------------------------------------------------------
# Input the services refuse: invalid_input naming the field, nothing changed
# ---------------------------------------------------------------------------------------------


def test_desk_input_the_services_refuse_names_its_field(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Өрісті")
    clerk = api_as("clerk_almaly")
    nowhere = problem(clerk.post("/cases", application(iin, 999_999)), 422, "invalid_input")
    assert [error["field"] for error in nowhere["errors"]] == ["stay_locality_id"]
    assert "case_id" not in nowhere

    applied = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    to_proxy = problem(
        clerk.post(f"/cases/{applied['id']}/issue", {"handed_to": "representative"}),
        422,
        "invalid_input",
    )
    assert [error["field"] for error in to_proxy["errors"]] == ["handed_to"]
    assert ok(clerk.get(f"/cases/{applied['id']}"))["state"] == "received"

    overlap = problem(
        api_as("admin").post(
            "/stock", {"precinct_id": ids.almaly, "first_serial": 40, "last_serial": 60}
        ),
        422,
        "invalid_input",
    )
    assert [error["field"] for error in overlap["errors"]] == ["range"]


def test_nothing_to_print_for_a_case_without_an_issued_certificate(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    iin = new_voter(session, world, "almaty_almaly", "Басылмаған")
    clerk = api_as("clerk_almaly")
    applied = ok(clerk.post("/cases", application(iin, ids.oral_locality)), 201)
    problem(clerk.get(f"/cases/{applied['id']}/document.pdf"), 409, "nothing_to_print")
    ok(clerk.post(f"/cases/{applied['id']}/issue", {}))
    first = clerk.get(f"/cases/{applied['id']}/document.pdf")
    again = clerk.get(f"/cases/{applied['id']}/document.pdf")
    assert first.status_code == again.status_code == 200
    assert first.data != again.data, "a reprint carries its repeat-print mark"
    ok(clerk.post(f"/cases/{applied['id']}/cancel", {"reason": "plans changed"}))
    problem(clerk.get(f"/cases/{applied['id']}/document.pdf"), 409, "nothing_to_print")
    prints = [e for e in trail(clerk, applied["id"]) if e[0] == "print"]
    assert len(prints) == 2, "every print is audited"


def test_territorial_commission_reads_its_own_precincts_only(
    api_as: ApiAs, session: Session, world: World, ids: Ids
) -> None:
    issued_case(
        api_as("clerk_oral"),
        new_voter(session, world, "oral_precinct", "Батыс"),
        ids.almaty_locality,
    )
    issued_case(
        api_as("clerk_almaly"),
        new_voter(session, world, "almaty_almaly", "Шығыс"),
        ids.oral_locality,
    )
    territorial = api_as("territorial_west")
    assert {row["precinct_id"] for row in ok(territorial.get("/register"))["items"]} == {ids.oral}
    assert {case["precinct_id"] for case in ok(territorial.get("/cases"))["items"]} == {ids.oral}
    problem(territorial.get(f"/precincts/{ids.almaly}/reconciliation"), 404, "not_found")
    west = ok(territorial.get(f"/precincts/{ids.oral}/reconciliation"))
    assert (west["issued"], west["balanced"]) == (1, True)
    everyone = ok(api_as("admin").get("/register"))["items"]
    assert {row["precinct_id"] for row in everyone} == {ids.oral, ids.almaly}
