"""The clerk's day in a real browser, keyboard first: sign in, find, apply, issue, refuse."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Certificate, VoterEntry
from services.cases import ApplicationInput, apply_for_certificate
from services.clock import FixedClock
from tests.browser.support import (
    AT_DEADLINE,
    BEFORE_DEADLINE,
    IN_WINDOW,
    OpenPage,
    SignedIn,
    active_element,
    shoot,
    sign_in,
    wait_for_focus,
)
from tests.factories import World, make_iin
from tests.views.conftest import PASSWORD

SAME_LOCALITY = "No certificate is issued to vote at another polling station in the same locality."
WINDOW_CLOSED = (
    "Certificates are issued only from the opening of the issue window until its deadline, "
    "local time of this precinct."
)


def _find_and_open(page: Page, typed: str, surname: str) -> None:
    """From the dashboard: the search box has the focus; type, Enter, open the voter."""
    wait_for_focus(page, "#q")
    assert active_element(page) == "input#q"
    page.keyboard.type(typed)
    page.keyboard.press("Enter")
    row = page.get_by_role("row").filter(has_text=surname)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Open").click()
    expect(
        page.get_by_role("heading", name="Application for an absentee certificate")
    ).to_be_visible()


def _apply(page: Page, document: str, stay: str) -> None:
    """Type the document, Tab to the place of stay, choose the locality whose name starts so.

    (Playwright types Cyrillic as inserted text, not key presses, so a closed select's own
    type-ahead cannot be driven from here: the option is chosen by its label.)
    """
    page.get_by_label("Identity document of the person at the desk").focus()
    page.keyboard.type(document)
    page.keyboard.press("Tab")
    assert active_element(page) == "select#stay_locality_id"
    select = page.locator("#stay_locality_id")
    option = select.locator("option").filter(has_text=re.compile(f"^{stay} / "))
    select.select_option(option.get_attribute("value"))
    expect(select.locator("option:checked")).to_have_text(re.compile(f"^{stay} / "))


def _register(page: Page) -> None:
    page.get_by_role("button", name="Register the application").click()
    expect(page).to_have_url(re.compile(r"/desk/cases/\d+$"))


def _issue(page: Page) -> None:
    page.get_by_label("I have checked the identity document").check()
    page.get_by_role("button", name="Issue", exact=True).click()


def _certificates(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(Certificate))
    session.rollback()  # end the read: the next one must see what the server commits
    return count or 0


def test_sign_in_find_by_russian_spelling_apply_in_person_and_issue(
    open_page: OpenPage, session: Session
) -> None:
    page = open_page()
    page.goto("/login")
    wait_for_focus(page, "#username")
    # Bootstrap is served by the app itself (no CDN at a polling station) and applies.
    navbar = page.locator("nav.navbar")
    expect(navbar).to_have_css("background-color", "rgb(13, 110, 253)")
    shoot(page, "login")
    page.keyboard.type("clerk_almaly")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/desk/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Precinct No. 101")
    expect(page.get_by_text("Certificates can be issued until")).to_be_visible()
    wait_for_focus(page, "#q")
    shoot(page, "dashboard")

    # «Сарсенбаев»: the Kazakh ә typed as a Russian а, lower case or not.
    page.keyboard.type("Сарсенбаев ерлан")
    page.keyboard.press("Enter")
    row = page.get_by_role("row").filter(has_text="Сәрсенбаев")
    expect(row).to_have_count(1)
    expect(page.get_by_text("1 found")).to_be_visible()
    shoot(page, "voter-search")
    row.get_by_role("link", name="Open").click()

    wait_for_focus(page, "#applicant_document")  # the form opens on the first field to type
    _apply(page, "ID 045678123", "Орал")
    expect(page.get_by_label("The voter in person")).to_be_checked()
    _register(page)
    expect(page.get_by_role("status").filter(has_text="Application received.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("received")

    _issue(page)
    expect(page.get_by_text("Certificate issued. Print it and hand it over.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("issued")
    certificate_row = page.locator("table").first.locator("tbody tr")
    expect(certificate_row).to_have_count(1)
    expect(certificate_row).to_contain_text("the voter")
    expect(page.get_by_role("link", name="Print the certificate")).to_be_visible()
    shoot(page, "case-issued")
    assert _certificates(session) == 1


def test_representative_applies_and_receives_the_certificate(signed_in: SignedIn) -> None:
    page = signed_in("clerk_almaly")
    _find_and_open(page, "сарсенбаев", "Сәрсенбаев")
    page.get_by_label("A representative").check()
    _apply(page, "ID 099887766", "Орал")
    representative_iin = make_iin(date(1985, 3, 3), male=False)
    page.get_by_label("Representative's IIN").fill(representative_iin)
    page.get_by_label("Representative's full name").fill("Ахметова Дана Болатқызы")
    page.get_by_label("Power of attorney number").fill("17-ДОВ")
    page.get_by_label("Power of attorney date").fill("2022-05-24")
    shoot(page, "application-form")
    _register(page)

    applicant = page.locator("dd").filter(has_text="Representative")
    expect(applicant).to_contain_text("Ахметова Дана Болатқызы")
    expect(applicant).to_contain_text("power of attorney No. 17-ДОВ of 2022-05-24")
    expect(applicant).not_to_contain_text(representative_iin)  # masked, never in full
    # The issue form offers the representative, already chosen.
    expect(page.get_by_label("The representative")).to_be_checked()
    _issue(page)
    expect(page.get_by_text("Certificate issued.")).to_be_visible()
    expect(page.locator("table").first.locator("tbody tr")).to_contain_text("the representative")


def test_same_locality_is_refused_with_the_reason(signed_in: SignedIn, session: Session) -> None:
    page = signed_in("clerk_almaly")
    _find_and_open(page, "Сарсенбаев", "Сәрсенбаев")
    _apply(page, "ID 045678123", "Алматы")  # the home city: one locality for all its districts
    _register(page)
    expect(page.get_by_role("alert")).to_have_text(f"Refused: {SAME_LOCALITY}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("refused")
    expect(page.locator("dd.refusal")).to_contain_text(SAME_LOCALITY)
    expect(page.get_by_role("link", name="Print the refusal notice")).to_be_visible()
    expect(page.get_by_role("button", name="Issue", exact=True)).to_have_count(0)
    shoot(page, "refusal")
    assert _certificates(session) == 0


def test_issue_at_18_00_on_the_last_day_is_refused(
    signed_in: SignedIn, session: Session, clock: FixedClock
) -> None:
    clock.instant = BEFORE_DEADLINE  # 17:50 in Almaty: the application is taken in time
    page = signed_in("clerk_almaly")
    expect(page.get_by_text("Time left: 0 h 10 min")).to_be_visible()
    _find_and_open(page, "Сарсенбаев", "Сәрсенбаев")
    _apply(page, "ID 045678123", "Орал")
    _register(page)
    expect(page.get_by_text("Application received.")).to_be_visible()

    clock.instant = AT_DEADLINE  # 18:00:00 in Almaty: the window is half-open, this is out
    _issue(page)
    expect(page.get_by_role("alert")).to_have_text(f"Refused: {WINDOW_CLOSED}")
    expect(page.get_by_role("row").filter(has_text="issue")).to_contain_text(WINDOW_CLOSED)
    assert _certificates(session) == 0


def test_clerk_of_another_precinct_gets_the_not_found_page(
    open_page: OpenPage, world: World, session: Session
) -> None:
    voter = session.scalar(select(VoterEntry).where(VoterEntry.surname == "Сәрсенбаев"))
    assert voter is not None
    outcome = apply_for_certificate(
        session,
        world.actor("clerk_almaly"),
        ApplicationInput(
            world.election.id, world.almaty_almaly.id, voter.iin, "ID 1", world.oral.id
        ),
        IN_WINDOW,
    )
    session.commit()
    case_url = f"/desk/cases/{outcome.case.id}"
    session.rollback()

    own = open_page()
    sign_in(own, "clerk_almaly", PASSWORD)
    assert own.goto(case_url).status == 200  # type: ignore[union-attr]
    expect(own.get_by_role("heading", level=1)).to_contain_text("received")
    # Another district of the same city, and another region: neither may see it.
    for username in ("clerk_bostandyk", "clerk_oral"):
        other = open_page()
        sign_in(other, username, PASSWORD)
        response = other.goto(case_url)
        assert response is not None
        assert response.status == 404
        expect(other.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(other.get_by_text("There is no such page or record.")).to_be_visible()
        expect(other.get_by_text("Сәрсенбаев")).to_have_count(0)


def test_language_switch_changes_the_interface(signed_in: SignedIn) -> None:
    page = signed_in("clerk_almaly")
    nav = page.get_by_role("navigation", name="Main menu")
    expect(nav.get_by_role("link", name="Find a voter")).to_be_visible()

    page.get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page).to_have_url(re.compile(r"/desk/\??$"))
    expect(page.get_by_role("link", name="Найти избирателя")).to_be_visible()
    expect(page.get_by_role("button", name="Выйти")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Избирательный участок № 101")

    page.get_by_role("button", name="Қазақша").click()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("link", name="Сайлаушыны іздеу")).to_be_visible()
    expect(page.get_by_role("button", name="Шығу")).to_be_visible()
    expect(page.get_by_text("Бүгін", exact=True)).to_be_visible()
    shoot(page, "dashboard-kk")
    # The choice stays on the next page.
    page.get_by_role("link", name="Сайлаушыны іздеу").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Сайлаушыны іздеу")
