"""Voting-day check-in in a real browser: type, Enter, look, Enter, next; the keyboard only."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Inclusion, VoterEntry
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.clock import FixedClock
from tests.browser.support import (
    IN_WINDOW,
    VOTING_MORNING,
    SignedIn,
    active_element,
    shoot,
    wait_for_focus,
)
from tests.factories import World
from workflow.numbers import format_certificate_number


def _issued(session: Session, world: World) -> str:
    """A certificate issued at Almaty 101 for a stay in Oral; '<number> <code>' as typed."""
    voter = session.scalar(select(VoterEntry).where(VoterEntry.surname == "Сәрсенбаев"))
    assert voter is not None
    clerk = world.actor("clerk_almaly")
    applied = apply_for_certificate(
        session,
        clerk,
        ApplicationInput(
            world.election.id, world.almaty_almaly.id, voter.iin, "ID 1", world.oral.id
        ),
        IN_WINDOW,
    )
    issued = issue_certificate(session, clerk, applied.case.id, IN_WINDOW)
    session.commit()
    certificate = issued.certificate
    assert certificate is not None
    typed = f"{format_certificate_number(certificate.serial)} {certificate.verification_code}"
    session.rollback()  # end the read: the server must not wait on it, nor we on a stale view
    return typed


def _scan(page: Page, typed: str) -> None:
    """The scan input has the focus on load: type what the certificate shows, then Enter."""
    wait_for_focus(page, "#scan")
    assert active_element(page) == "input#scan"
    page.keyboard.type(typed)
    page.keyboard.press("Enter")


def test_typed_number_and_code_include_the_holder_once(
    signed_in: SignedIn, world: World, session: Session, clock: FixedClock
) -> None:
    typed = _issued(session, world)
    clock.instant = VOTING_MORNING  # 09:00 in Oral
    page = signed_in("checkin_oral")
    expect(page).to_have_url(re.compile(r"/checkin/$"))  # the check-in screen is their home
    expect(page.get_by_role("heading", level=1)).to_contain_text("Precinct No. 301")

    _scan(page, typed)
    holder = page.get_by_role("region", name=f"Certificate No. {typed.split()[0]}")
    expect(holder).to_contain_text("Сәрсенбаев Ерлан")
    expect(holder).to_contain_text("precinct No. 101")
    confirm = page.get_by_role("button", name="Confirm: include in the supplementary list")
    expect(confirm).to_be_focused()  # autofocus: Enter confirms
    assert active_element(page).startswith("button:Confirm: include")
    shoot(page, "checkin-holder")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text(
        "Included on line 1 of the supplementary list."
    )
    expect(page.get_by_text("Included so far: 1")).to_be_visible()
    assert session.scalar(select(Inclusion.line_number)) == 1
    session.rollback()

    # The same certificate again: the input has the focus for the next voter.
    _scan(page, typed)
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("This certificate has already been used.")
    expect(refusal).to_contain_text("It was taken in at precinct No. 301")
    expect(page.get_by_role("button", name="Confirm: include")).to_have_count(0)
    assert session.scalar(select(Inclusion.line_number).where(Inclusion.line_number > 1)) is None
    session.rollback()
