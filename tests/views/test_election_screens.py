"""Elections on the web: the bar says which election a page shows and switches it, a clerk's
desk follows, the new-election form names each mistake in the user's language, and the setup
page imports a file into the election shown."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Election, ImportJob, Placement, Precinct, VoterEntry
from services.clock import FixedClock
from tests.factories import World, make_election_copy
from tests.views.conftest import SignIn, csrf_token


@pytest.fixture
def clock() -> FixedClock:
    """1 May 2022: both elections are still being prepared, so their lists may be imported."""
    return FixedClock(datetime(2022, 5, 1, 6, 0, tzinfo=UTC))


def by_election(session: Session, world: World, *, with_staff: bool = True) -> Election:
    """A by-election on the same day as the 2022 referendum, on a copy of its network."""
    return make_election_copy(
        session,
        world,
        code="by2022",
        kind="by_election",
        voting_day=date(2022, 6, 5),
        opens_on=date(2022, 5, 20),
        deadline_on=date(2022, 6, 4),
        with_staff=with_staff,
        name_en="By-election of 5 June 2022",
    )


def choose(client: FlaskClient, election_id: int, page: str = "/desk/") -> str:
    html = client.get(page).get_data(as_text=True)
    answer = client.post(
        "/elections/choose",
        data={"csrf_token": csrf_token(html), "election_id": str(election_id), "next": page},
    )
    assert answer.status_code == 302
    return client.get(page).get_data(as_text=True)


def test_the_bar_names_the_election_and_the_desk_follows_the_choice(
    sign_in: SignIn, session: Session, world: World
) -> None:
    other = by_election(session, world)
    clerk = sign_in("clerk_oral")
    page = clerk.get("/desk/").get_data(as_text=True)
    assert "Republican referendum" in page
    assert 'id="election-choice"' in page
    shown = choose(clerk, other.id)
    assert "By-election of 5 June 2022" in shown
    # The desk's precinct is the clerk's precinct of the by-election, not of the referendum.
    there = session.scalar(
        select(Precinct).where(Precinct.election_id == other.id, Precinct.number == 301)
    )
    assert there is not None
    assert "Precinct No. 301" in shown
    # Another election named in the address shows for this request only.
    again = clerk.get(f"/desk/?election={world.election.id}").get_data(as_text=True)
    assert "Republican referendum" in again
    assert "By-election of 5 June 2022" in clerk.get("/desk/").get_data(as_text=True)


def test_staff_not_placed_in_the_election_shown_are_told_so(
    sign_in: SignIn, session: Session, world: World
) -> None:
    other = by_election(session, world, with_staff=False)
    admin = sign_in("admin")
    assert "By-election" in admin.get("/elections").get_data(as_text=True)
    clerk = sign_in("clerk_oral")
    # An election the clerk is not placed in is out of sight: the default stays.
    page = clerk.get(f"/desk/?election={other.id}").get_data(as_text=True)
    assert "Republican referendum" in page
    session.add(
        Placement(
            user_id=world.users["checkin_oral"].id,
            election_id=other.id,
            territorial_commission_id=session.scalar(
                select(Precinct.territorial_commission_id).where(
                    Precinct.election_id == other.id, Precinct.number == 301
                )
            ),
        )
    )
    session.commit()
    checkin = sign_in("checkin_oral")
    answer = checkin.get(f"/checkin/?election={other.id}")
    assert answer.status_code == 404
    assert "You have no precinct in this election" in answer.get_data(as_text=True)


def test_the_new_election_form_names_each_mistake_in_kazakh(
    sign_in: SignIn, session: Session, world: World
) -> None:
    admin = sign_in("admin")
    admin.set_cookie("kuelik_lang", "kk")
    page = admin.get("/admin/elections/new").get_data(as_text=True)
    answer = admin.post(
        "/admin/elections/new",
        data={
            "csrf_token": csrf_token(page),
            "code": "bad2026",
            "kind": "referendum",
            "name_kk": "kk",
            "name_ru": "ru",
            "name_en": "en",
            "voting_day": "2026-03-15",
            "issue_opens_on": "2026-03-10",
            "issue_opens_at": "00:00",
            "issue_deadline_on": "2026-03-16",
            "issue_deadline_at": "18:00",
            "voting_opens_at": "07:00",
            "voting_closes_at": "20:00",
            "proxy_warning_threshold": "3",
            "network": "map:kz-2026",
        },
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "is-invalid" in html
    # The mistake is named at its field, in Kazakh.
    assert "Куәліктер беру дауыс беру басталатын уақыттан кешіктірілмей аяқталуы тиіс." in html
    assert "The issue deadline is no later than the opening of voting." not in html
    assert session.scalar(select(func.count()).select_from(Election)) == 1


def test_the_setup_page_imports_a_voter_file_into_the_election(
    app: Flask, sign_in: SignIn, session: Session, world: World
) -> None:
    app.config["KUELIK_IMPORTS_INLINE"] = True
    other = by_election(session, world)
    admin = sign_in("admin")
    page = admin.get(f"/admin/elections/{other.id}/setup").get_data(as_text=True)
    oral = "270000000"
    content = (
        "region_kato,precinct_number,iin,surname,given_name,patronymic,birth_date,address\n"
        f"{oral},301,900101300017,Ахметов,Ерлан,,1990-01-01,ул. Абая 1\n"
    ).encode()
    answer = admin.post(
        f"/admin/elections/{other.id}/setup",
        data={
            "import-csrf_token": csrf_token(page),
            "import-kind": "voters",
            "import-mode": "add",
            "import-file": (io.BytesIO(content), "voters.csv"),
            "import-submit": "Import",
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:400]
    landed = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The file is being imported" in landed
    session.rollback()  # SQLite: a read begun before the request would keep its old snapshot
    job = session.scalars(select(ImportJob)).one()
    assert (job.election_id, job.status, job.kind) == (other.id, "done", "voters")
    voters = session.scalars(select(VoterEntry).where(VoterEntry.election_id == other.id)).all()
    assert [v.iin for v in voters] == ["900101300017"]
    listed = admin.get(f"/admin/elections/{other.id}/setup").get_data(as_text=True)
    assert "voters.csv" in listed
