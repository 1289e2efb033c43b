"""Hypothesis fuzzes every form: zero server errors, and no database change on rejected input.

Every POST route, and the GET routes that read query parameters (/desk/voters?q=,
/desk/register?state=&day=&format=), gets hostile values from `tests.views.fuzzing`: Kazakh and
Russian names, emoji, control characters, markup and script, SQL metacharacters, very long
strings, numbers out of range, impossible dates, fields left out, doubled, or added (precinct_id,
state, number: which must be ignored). Each route is used by a user allowed to use it, with a
valid CSRF token (mostly) and the one-time form key from the page (else a replay, garbage, none).

For every request: the status is below 500 (also on the page a redirect leads to), no markup
payload comes back unescaped, a redirect never leaves the site, and when the route rejected the
input (a re-rendered form, a danger flash, 400/404/413) every table is exactly as before except
the audit trail, the claimed form keys and, for sign-in, the throttle. Besides: every form once
with a 1 MB body and once with 17 MB (past MAX_CONTENT_LENGTH: 413), record ids past any column
in the path, election dates at the ends of the calendar, and the exact inputs that once failed.

Elections: the shown election's settings are fuzzed inside its window (every accepted change a
correction with its reason), a second election while it is still prepared (anything may change),
new elections with their network, an election's setup (CSV uploads, number stock, staff) and the
choice of the election the screens show (which lives in the session, never in the database).

Examples per route: 25 by default; for a long run set KUELIK_FUZZ_EXAMPLES, e.g.

    KUELIK_FUZZ_EXAMPLES=500 .venv/bin/pytest -q -p no:cacheprovider tests/views/test_form_fuzz.py

Every example reuses the test's database, so the tests arrange what a later example needs
(a fresh voter or case per example, a password restored after a successful change). SQLite
only by default; KUELIK_FUZZ_POSTGRES=1 also runs the PostgreSQL parameter (TEST_DATABASE_URL).
When a request answers 500, the test raises the server's own exception (from the app's log),
with the request in a note: Hypothesis then tells distinct bugs apart.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import (
    AuditEvent,
    Certificate,
    CertificateCase,
    Election,
    ImportJob,
    Region,
    StockRange,
    User,
)
from services.cases import ApplicationInput, apply_for_certificate, issue_certificate
from services.clock import FixedClock
from services.elections import ElectionInput, create_election
from services.network import copy_network
from services.sealing import election_seal, seal_certificate
from tests.factories import World, make_iin, make_voter
from tests.views.conftest import ELECTION_2022_FORM, PASSWORD, SignIn, csrf_token, form_key
from tests.views.fuzzing import (
    IINS,
    NAMES,
    Answer,
    FieldValue,
    Fuzzer,
    ServerErrors,
    bool_text,
    csrf_modes,
    date_text,
    describe,
    extra_fields,
    field_value,
    form_values,
    int_text,
    key_modes,
    short_text,
    text_value,
    time_text,
    with_csrf,
)
from workflow.errors import MANUAL_REFUSAL_CODES
from workflow.numbers import format_certificate_number
from workflow.rules import Representative
from workflow.states import ApplicantKind, CaseState

EXAMPLES = int(os.environ.get("KUELIK_FUZZ_EXAMPLES", "25"))
ON_POSTGRES = os.environ.get("KUELIK_FUZZ_POSTGRES") == "1"
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Each signed-out example costs a fresh sign-in (scrypt, ~0.2 s): fewer of those.
FEW = settings(FUZZ, max_examples=max(5, EXAMPLES // 3))

ISSUE_TIME = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)  # noon in Almaty, inside the issue window
VOTING_MORNING = datetime(2022, 6, 5, 4, 0, tzinfo=UTC)  # 09:00 in Oral, 10:00 in Almaty
MEGABYTE = 1024 * 1024
CASE_URL = re.compile(r"^/desk/cases/\d+$")
# The page after an inclusion names the election the desk worked in.
DONE_URL = re.compile(r"^/checkin/done/\d+(\?election=\d+)?$")

# Every POST route is fuzzed here; a new one fails this suite until it is added.
FUZZED_POSTS = frozenset(
    {
        "auth.login",
        "auth.logout",
        "auth.change_password",
        "i18n.set_language",
        "desk.apply",
        "desk.issue",
        "desk.refuse",
        "desk.withdraw",
        "desk.spoil",
        "desk.lost",
        "desk.cancel",
        "checkin.scan",
        "checkin.confirm",
        "admin.users",
        "admin.user",
        "admin.reset_password",
        "admin.toggle_active",
        "admin.election",
        "elections.choose",
        "elections.new",
        "elections.edit",
        "elections.setup",
        "tokens.mine",
        "tokens.of_user",
        "tokens.revoke",
    }
)


@pytest.fixture(autouse=True)
def _sqlite_unless_asked(request: pytest.FixtureRequest) -> None:
    """Examples share one database per test; PostgreSQL runs only when asked for."""
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("database_url") if callspec else None
    if backend == "postgresql" and not ON_POSTGRES:
        pytest.skip("fuzzing runs on SQLite; set KUELIK_FUZZ_POSTGRES=1 for PostgreSQL too")


@dataclass
class Stage:
    """What the examples of one test share: ids, signed-in clients, keys used so far."""

    app: Flask
    session: Session
    world: World
    sign_in: SignIn
    fuzzer: Fuzzer
    errors: ServerErrors
    refs: dict[str, str] = field(default_factory=dict)
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    used_keys: list[str] = field(default_factory=list)  # keys the server has stored, in order
    arranged: set[str] = field(default_factory=set)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints the arguments of a failing example: not the whole world."""
        printer.text("Stage(...)")

    def client(self, username: str) -> FlaskClient:
        if username not in self.clients:
            self.clients[username] = self.sign_in(username)
        return self.clients[username]

    def token(self, username: str) -> str:
        return csrf_token(self.client(username).get("/").get_data(as_text=True))

    def key(self, mode: str, page_key: str | None) -> str | None:
        """The one-time key to send: from the page, a replay, garbage, too long, or none."""
        if mode == "replay" and self.used_keys:
            return self.used_keys[-1]
        if mode.startswith("garbage:"):
            return mode.removeprefix("garbage:")
        if mode == "long":
            return "k" * 65
        if mode == "missing":
            return None
        return page_key or secrets.token_urlsafe(24)

    def replays(self, key: str | None) -> bool:
        """Whether the server has this key already: the submission acts no more."""
        return key is not None and key in self.used_keys

    def remember(self, key: str | None) -> None:
        """After an accepted submission: the server stores a non-empty key of up to 64 chars."""
        if key and len(key) <= 64 and key not in self.used_keys:
            self.used_keys.append(key)

    def voter(self, surname: str = "Фаззер") -> tuple[int, str]:
        """A fresh voter on the Almaly list: (id, IIN)."""
        voter = make_voter(self.session, self.world, self.world.almaty_almaly, surname=surname)
        result = (voter.id, voter.iin)
        self.session.commit()
        return result

    def case(self, state: CaseState, representative: bool = False) -> int:
        """A fresh Almaly case, received or issued, in person or by a representative."""
        _voter_id, iin = self.voter()
        clerk = self.world.actor("clerk_almaly")
        proxy = (
            Representative(IINS[0], "Өкіл Сенімді", "ID 1", "7", date(2022, 5, 20))
            if representative
            else None
        )
        applied = apply_for_certificate(
            self.session,
            clerk,
            ApplicationInput(
                self.world.election.id,
                self.world.almaty_almaly.id,
                iin,
                "ID 045678123",
                self.world.oral.id,
                proxy,
            ),
            ISSUE_TIME,
        )
        case_id = applied.case.id
        if state is CaseState.ISSUED:
            issued = issue_certificate(self.session, clerk, case_id, ISSUE_TIME)
            assert issued.certificate is not None, issued.transition.refusal
        self.session.commit()
        return case_id

    def certificate(self) -> dict[str, str]:
        """A fresh certificate issued at Almaly for a stay in Oral: its number, code and seal."""
        case_id = self.case(CaseState.ISSUED)
        certificate = self.session.scalar(select(Certificate).where(Certificate.case_id == case_id))
        assert certificate is not None
        seal = election_seal(Path(self.app.instance_path), self.world.election.code)
        qr = seal_certificate(seal, certificate, certificate.voter.iin)
        values = {
            "@number": format_certificate_number(certificate.serial),
            "@code": certificate.verification_code,
            "@qr": qr,
        }
        self.session.rollback()
        return values


@pytest.fixture
def server_errors(app: Flask) -> Iterator[ServerErrors]:
    with ServerErrors.watching(app) as errors:
        yield errors


@pytest.fixture
def stage(
    app: Flask, session: Session, world: World, sign_in: SignIn, server_errors: ServerErrors
) -> Stage:
    # Room for a certificate per example and then some, whatever KUELIK_FUZZ_EXAMPLES says.
    session.add(
        StockRange(
            election_id=world.election.id,
            precinct_id=world.almaty_almaly.id,
            first_serial=1_000_000,
            last_serial=1_000_000 + 20 * EXAMPLES + 1_000,
            next_serial=1_000_000,
        )
    )
    session.commit()
    refs = {
        "@election": str(world.election.id),
        "@oral": str(world.oral.id),
        "@derkul": str(world.derkul.id),
        "@almaty": str(world.almaty.id),
        "@almaly": str(world.almaty_almaly.id),
        "@oral_precinct": str(world.oral_precinct.id),
        "@tc_west": str(world.oral_precinct.territorial_commission_id),
        "@tc_almaty": str(world.almaty_almaly.territorial_commission_id),
        "@managed": str(world.users["checkin_derkul"].id),
    }
    session.rollback()
    fuzzer = Fuzzer(session, errors=server_errors)
    return Stage(app, session, world, sign_in, fuzzer, server_errors, refs)


def _resolve(value: FieldValue, refs: dict[str, str]) -> FieldValue:
    """Fill "@name" placeholders, also inside longer text (e.g. a number with noise around it)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(_resolve(item, refs)) for item in value]
    for name in sorted(refs, key=len, reverse=True):
        value = value.replace(name, refs[name])
    return value


def _form(
    values: dict[str, FieldValue],
    extras: dict[str, str],
    refs: dict[str, str],
    prefix: str = "",
) -> dict[str, FieldValue]:
    """Extra fields first (a declared field of the same name wins), then the form's own."""
    data: dict[str, FieldValue] = dict(extras)
    for name, value in values.items():
        data[prefix + name] = _resolve(value, refs)
    return data


def test_every_form_is_fuzzed(app: Flask) -> None:
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
        and rule.endpoint != "static"
        # The API has no forms: schemathesis fuzzes it against its OpenAPI document.
        and not rule.endpoint.startswith("api.")
    }
    assert posts == FUZZED_POSTS, (
        f"not fuzzed: {sorted(posts - FUZZED_POSTS)}, stale: {sorted(FUZZED_POSTS - posts)}"
    )


# --- sign-in, sign-out, password, language ------------------------------------------------------

NEXT_TARGETS = (
    "/desk/",
    "/admin/users",
    "//evil.example/",
    "/\\evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\nSet-Cookie: stolen=1",
    "https://evil.example/",
    "javascript:alert(1)",
    "/desk/voters?q=<script>alert(1)</script>",
)
next_value: st.SearchStrategy[FieldValue] = st.one_of(
    st.none(), st.sampled_from(NEXT_TARGETS), short_text
)
LOGIN_FORM = form_values(
    {
        "username": field_value(
            st.sampled_from(("admin", "clerk_almaly", "CLERK_ALMALY", " admin ")), text_value
        ),
        "password": field_value(st.sampled_from((PASSWORD, "wrong password")), text_value),
    }
)


@FUZZ
@given(form=LOGIN_FORM, extras=extra_fields, csrf=csrf_modes, target=next_value)
def test_login(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str, target: FieldValue
) -> None:
    fuzzer = Fuzzer(
        stage.session, ignore=stage.fuzzer.ignore | {"login_throttle"}, errors=stage.errors
    )
    client = stage.app.test_client()  # a fresh visitor each time: a success signs it in
    token = csrf_token(client.get("/login").get_data(as_text=True))
    data = with_csrf(_form(form, extras, stage.refs), csrf, token)
    before = fuzzer.snapshot()
    answer = fuzzer.send(client, "POST", "/login", data, query={"next": target})
    fuzzer.check(before, answer, lambda a: a.status == 302, "sign-in")


@FEW
@given(extras=extra_fields, csrf=csrf_modes)
def test_logout(stage: Stage, extras: dict[str, str], csrf: str) -> None:
    client = stage.client("clerk_almaly")
    data = with_csrf(dict(extras), csrf, stage.token("clerk_almaly"))
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", "/logout", data)
    if stage.fuzzer.check(before, answer, lambda a: a.status == 302, "sign-out"):
        stage.clients.pop("clerk_almaly")  # signed out: the next example signs in again


PASSWORD_FORM = form_values(
    {
        "current_password": field_value(st.just(PASSWORD), text_value),
        "new_password": field_value(
            st.sampled_from(("жаңа құпия сөз 2022", "New password 2022!")), text_value
        ),
        "confirm_password": field_value(
            st.sampled_from(("жаңа құпия сөз 2022", "New password 2022!")), text_value
        ),
    }
)


@FEW
@given(form=PASSWORD_FORM, extras=extra_fields, csrf=csrf_modes)
def test_change_password(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str
) -> None:
    client = stage.client("clerk_almaly")
    data = with_csrf(_form(form, extras, stage.refs), csrf, stage.token("clerk_almaly"))
    stored = stage.session.scalar(select(User.password_hash).where(User.username == "clerk_almaly"))
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", "/password", data)
    if stage.fuzzer.check(before, answer, lambda a: a.status == 302, "password change"):
        # Changed: put the known password back and sign in again for the next example.
        stage.session.execute(
            update(User).where(User.username == "clerk_almaly").values(password_hash=stored)
        )
        stage.session.commit()
        stage.clients.pop("clerk_almaly")


printable_ascii = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@FUZZ
@given(
    code=st.one_of(st.sampled_from(("kk", "ru", "en", "KK", "de", "")), short_text),
    target=next_value,
    referrer=st.one_of(
        st.none(), st.sampled_from(("http://localhost/desk/?q=1",)), printable_ascii
    ),
    extras=extra_fields,
    csrf=csrf_modes,
)
def test_set_language(
    stage: Stage,
    code: str,
    target: FieldValue,
    referrer: str | None,
    extras: dict[str, str],
    csrf: str,
) -> None:
    client = stage.client("clerk_almaly")
    data = with_csrf(_form({"next": target}, extras, stage.refs), csrf, stage.token("clerk_almaly"))
    headers = {"Referer": referrer} if referrer is not None else {}
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(
        client, "POST", "/language/" + quote(code, safe=""), data, headers=headers
    )
    stage.fuzzer.check(before, answer, lambda a: a.status == 302, "language")


# --- the clerk's desk ---------------------------------------------------------------------------

SEARCH_QUERY = form_values(
    {
        "q": field_value(
            st.sampled_from(("сарсенбаев", "Сәрсенбаев Ерлан", "Фаззер", IINS[0], "ер")),
            text_value,
        )
    }
)


@FUZZ
@given(query=SEARCH_QUERY, extras=extra_fields)
def test_voter_search(stage: Stage, query: dict[str, FieldValue], extras: dict[str, str]) -> None:
    client = stage.client("clerk_almaly")
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(
        client, "GET", "/desk/voters", query=_form(query, extras, stage.refs)
    )
    stage.fuzzer.check(before, answer, lambda _a: False, "search changes nothing")


REGISTER_QUERY = form_values(
    {
        "state": field_value(
            st.sampled_from(("", "issued", "used", "lost", "spoilt", "cancelled")), text_value
        ),
        "day": field_value(
            st.sampled_from(("2022-05-25", "2022-05-24", "0001-01-01", "9999-12-31")), date_text
        ),
        "format": field_value(st.sampled_from(("csv", "html", "pdf")), short_text),
    }
)


@FUZZ
@given(query=REGISTER_QUERY, extras=extra_fields)
def test_register_filters(
    stage: Stage, query: dict[str, FieldValue], extras: dict[str, str]
) -> None:
    if "register" not in stage.arranged:
        stage.case(CaseState.ISSUED)  # one row to list
        stage.arranged.add("register")
    client = stage.client("clerk_almaly")
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(
        client, "GET", "/desk/register", query=_form(query, extras, stage.refs)
    )
    stage.fuzzer.check(before, answer, lambda _a: False, "the register changes nothing")


APPLY_FORM = form_values(
    {
        "mode": field_value(st.sampled_from(("voter", "representative")), text_value),
        "applicant_document": field_value(
            st.sampled_from(("ID 045678123", "Жеке куәлік № 045678123", "паспорт N1234567")),
            text_value,
        ),
        "stay_locality_id": field_value(
            st.sampled_from(("@oral", "@derkul", "@almaty", "0")), int_text
        ),
        "representative_iin": field_value(st.sampled_from(IINS), st.one_of(int_text, text_value)),
        "representative_name": field_value(st.sampled_from(NAMES), text_value),
        "power_of_attorney_number": field_value(st.sampled_from(("12", "№ 7/2022")), text_value),
        "power_of_attorney_date": field_value(
            st.sampled_from(("2022-05-20", "2022-05-25")), date_text
        ),
    }
)


@FUZZ
@given(form=APPLY_FORM, extras=extra_fields, csrf=csrf_modes, key_mode=key_modes)
def test_apply(
    stage: Stage,
    form: dict[str, FieldValue],
    extras: dict[str, str],
    csrf: str,
    key_mode: str,
) -> None:
    client = stage.client("clerk_almaly")
    voter_id, iin = stage.voter()
    url = f"/desk/voters/{voter_id}/apply"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    key = stage.key(key_mode, form_key(html))
    data = with_csrf(_form({**form, "form_key": key}, extras, stage.refs), csrf, csrf_token(html))
    before = stage.fuzzer.snapshot()
    replayed = stage.replays(key)
    answer = stage.fuzzer.send(client, "POST", url, data)

    def accepted(answer: Answer) -> bool:
        # A refusal on the merits is recorded as a refused case: the input itself was accepted.
        return answer.status == 302 and bool(CASE_URL.match(answer.location)) and not replayed

    if stage.fuzzer.check(before, answer, accepted, "application"):
        stage.remember(key)
        case = stage.session.scalar(
            select(CertificateCase).order_by(CertificateCase.id.desc()).limit(1)
        )
        assert case is not None
        # Extra fields (precinct_id, state, ...) are ignored: the clerk's precinct, this voter.
        assert case.precinct_id == stage.world.almaty_almaly.id, describe(data)
        assert case.voter_iin == iin, describe(data)
        assert case.state in (CaseState.RECEIVED, CaseState.REFUSED), describe(data)
        case_id, received = case.id, case.state is CaseState.RECEIVED
        by_proxy = case.applicant_kind is ApplicantKind.REPRESENTATIVE
        stage.session.rollback()
        # What was typed ends up on paper: the certificate (or refusal notice) must print.
        if received:
            handed_to = ApplicantKind.REPRESENTATIVE if by_proxy else ApplicantKind.VOTER
            clerk = stage.world.actor("clerk_almaly")
            issue_certificate(stage.session, clerk, case_id, ISSUE_TIME, handed_to)
            stage.session.commit()
        printed = stage.fuzzer.send(client, "GET", f"/desk/cases/{case_id}/print")
        assert printed.status == 200, f"{printed.status} printing after {describe(data)}"
        assert printed.response.data.startswith(b"%PDF"), describe(data)
        for url in ("/desk/register?format=csv", "/desk/register.pdf"):
            stage.fuzzer.send(client, "GET", url)


REFUSAL_CODES = tuple(sorted(code.value for code in MANUAL_REFUSAL_CODES))
confirm_value = field_value(st.just("y"), bool_text)
reason_value = field_value(st.sampled_from((*NAMES, "Бланк бүлінді")), text_value)
ACTION_FORMS: dict[str, st.SearchStrategy[dict[str, FieldValue]]] = {
    "issue": form_values(
        {
            "handed_to": field_value(st.sampled_from(("voter", "representative")), text_value),
            "confirm": confirm_value,
        }
    ),
    "refuse": form_values(
        {
            "code": field_value(st.sampled_from(REFUSAL_CODES), text_value),
            "note": reason_value,
            "confirm": confirm_value,
        }
    ),
    **{
        name: form_values({"reason": reason_value, "confirm": confirm_value})
        for name in ("withdraw", "spoil", "lost", "cancel")
    },
}
# The state each action starts from; sometimes the other one, for the machine's refusals.
ACTION_STATE = {
    "issue": CaseState.RECEIVED,
    "refuse": CaseState.RECEIVED,
    "withdraw": CaseState.RECEIVED,
    "spoil": CaseState.ISSUED,
    "lost": CaseState.ISSUED,
    "cancel": CaseState.ISSUED,
}


def _section_key(html: str, action: str) -> str | None:
    marker = f'aria-labelledby="{action}-title"'
    if marker not in html:
        return None
    return form_key(html[html.index(marker) :])


@pytest.mark.parametrize("action", sorted(ACTION_FORMS))
@FUZZ
@given(
    data=st.data(),
    extras=extra_fields,
    csrf=csrf_modes,
    key_mode=key_modes,
    usual_state=st.sampled_from((True, True, True, False)),
    representative=st.booleans(),
)
def test_case_actions(
    stage: Stage,
    action: str,
    data: st.DataObject,
    extras: dict[str, str],
    csrf: str,
    key_mode: str,
    usual_state: bool,
    representative: bool,
) -> None:
    form = data.draw(ACTION_FORMS[action], label="form")
    state = ACTION_STATE[action]
    if not usual_state:
        state = CaseState.ISSUED if state is CaseState.RECEIVED else CaseState.RECEIVED
    case_id = stage.case(state, representative)
    client = stage.client("clerk_almaly")
    html = client.get(f"/desk/cases/{case_id}").get_data(as_text=True)
    key = stage.key(key_mode, _section_key(html, action))
    body = with_csrf(_form({**form, "form_key": key}, extras, stage.refs), csrf, csrf_token(html))
    before = stage.fuzzer.snapshot()
    replayed = stage.replays(key)
    answer = stage.fuzzer.send(client, "POST", f"/desk/cases/{case_id}/{action}", body)
    assert answer.status in (302, 400), f"{answer.status}: {describe(body)}"
    if stage.fuzzer.check(before, answer, lambda a: a.alerts("success"), action):
        assert not replayed, f"a replayed key acted again: {describe(body)}"
        stage.remember(key)


# --- voting-day check-in -----------------------------------------------------------------------

SCAN_KINDS = ("@number @code", "@number/@code", "@qr", "@number", "@code @number")
scan_value: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(SCAN_KINDS),
    st.tuples(short_text, st.sampled_from(SCAN_KINDS), short_text).map("".join),
    text_value,
)
SCAN_FORM = form_values({"scan": field_value(scan_value, text_value)})


def _decorate(values: dict[str, str], lower: bool) -> dict[str, str]:
    return {name: value.lower() if lower else value for name, value in values.items()}


@FUZZ
@given(form=SCAN_FORM, extras=extra_fields, csrf=csrf_modes, lower=st.booleans())
def test_checkin_scan(
    stage: Stage,
    clock: FixedClock,
    form: dict[str, FieldValue],
    extras: dict[str, str],
    csrf: str,
    lower: bool,
) -> None:
    if "scan" not in stage.arranged:
        stage.refs.update(stage.certificate())
        clock.instant = VOTING_MORNING
        stage.arranged.add("scan")
    refs = {**stage.refs, **_decorate({k: stage.refs[k] for k in ("@qr", "@code")}, lower)}
    client = stage.client("checkin_oral")
    body = with_csrf(_form(form, extras, refs), csrf, stage.token("checkin_oral"))
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", "/checkin/", body)
    # Only looking: whatever was typed, nothing but the audit trail may change.
    stage.fuzzer.check(before, answer, lambda _a: False, "scan")


CONFIRM_FORM = form_values({"scan": field_value(scan_value, text_value)})


@FUZZ
@given(form=CONFIRM_FORM, extras=extra_fields, csrf=csrf_modes, key_mode=key_modes)
def test_checkin_confirm(
    stage: Stage,
    clock: FixedClock,
    form: dict[str, FieldValue],
    extras: dict[str, str],
    csrf: str,
    key_mode: str,
) -> None:
    refs = {**stage.refs, **stage.certificate()}  # a fresh, unused certificate per example
    clock.instant = VOTING_MORNING
    client = stage.client("checkin_oral")
    token = stage.token("checkin_oral")
    scan = f"{refs['@number']} {refs['@code']}"
    look = stage.fuzzer.send(client, "POST", "/checkin/", {"csrf_token": token, "scan": scan})
    page_key = re.search(r'id="form_key" name="form_key" type="hidden" value="([^"]+)"', look.page)
    key = stage.key(key_mode, page_key.group(1) if page_key else None)
    body = with_csrf(_form({**form, "form_key": key}, extras, refs), csrf, token)
    before = stage.fuzzer.snapshot()
    replayed = stage.replays(key)
    answer = stage.fuzzer.send(client, "POST", "/checkin/confirm", body)

    def accepted(answer: Answer) -> bool:
        return answer.status == 302 and bool(DONE_URL.match(answer.location)) and not replayed

    if stage.fuzzer.check(before, answer, accepted, "confirm"):
        stage.remember(key)


# --- commission screens ------------------------------------------------------------------------

ROLES = ("admin", "territorial", "clerk", "checkin", "observer")
STRONG = ("Str0ng-pass-2022", "қазақша құпия сөз 1", "Пароль надёжный 7")
USER_FORM = form_values(
    {
        "username": field_value(st.from_regex(r"[A-Za-z0-9_.-]{1,24}", fullmatch=True), text_value),
        "full_name": field_value(st.sampled_from(NAMES), text_value),
        "role": field_value(st.sampled_from(ROLES), text_value),
        "precinct_id": field_value(st.sampled_from(("@almaly", "@oral_precinct", "0")), int_text),
        "territorial_commission_id": field_value(
            st.sampled_from(("@tc_west", "@tc_almaty", "0")), int_text
        ),
        "password": field_value(st.sampled_from(STRONG), text_value),
    }
)


@FUZZ
@given(form=USER_FORM, extras=extra_fields, csrf=csrf_modes)
def test_create_user(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str
) -> None:
    client = stage.client("admin")
    body = with_csrf(_form(form, extras, stage.refs), csrf, stage.token("admin"))
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", "/admin/users", body)
    if stage.fuzzer.check(before, answer, lambda a: a.status == 302, "new user"):
        newest = stage.session.scalar(select(User).order_by(User.id.desc()).limit(1))
        assert newest is not None
        assert newest.active, describe(body)  # an extra "active" field is ignored
        stage.session.rollback()


TOKEN_FORM = form_values(
    {
        "name": field_value(st.sampled_from(("script", "нөмір импорты", "x" * 100)), text_value),
        "lifetime_days": field_value(st.sampled_from(("1", "90", "366")), int_text),
    }
)


@FUZZ
@given(form=TOKEN_FORM, extras=extra_fields, csrf=csrf_modes, for_other=st.booleans())
def test_create_token(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str, for_other: bool
) -> None:
    client = stage.client("admin")
    body = with_csrf(_form(form, extras, stage.refs), csrf, stage.token("admin"))
    url = f"/admin/users/{stage.refs['@managed']}/tokens" if for_other else "/account/tokens"
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", url, body)
    stage.fuzzer.check(before, answer, lambda a: 'id="new-token"' in a.page, "new token")


@FUZZ
@given(extras=extra_fields, csrf=csrf_modes, token_id=st.sampled_from(("1", "0", "999999")))
def test_revoke_token(stage: Stage, extras: dict[str, str], csrf: str, token_id: str) -> None:
    client = stage.client("admin")
    body = with_csrf(dict(extras), csrf, stage.token("admin"))
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", f"/account/tokens/{token_id}/revoke", body)
    stage.fuzzer.check(before, answer, lambda a: a.alerts("success"), "revoke token")


MOVE_FORM = form_values(
    {
        "full_name": field_value(st.sampled_from(NAMES), text_value),
        "role": field_value(st.sampled_from(ROLES), text_value),
        "precinct_id": field_value(st.sampled_from(("@almaly", "@oral_precinct", "0")), int_text),
        "territorial_commission_id": field_value(
            st.sampled_from(("@tc_west", "@tc_almaty", "0")), int_text
        ),
    }
)


@FUZZ
@given(form=MOVE_FORM, extras=extra_fields, csrf=csrf_modes)
def test_move_user(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str
) -> None:
    client = stage.client("admin")
    body = with_csrf(
        _form(form, extras, stage.refs, prefix="move-"),
        csrf,
        stage.token("admin"),
        name="move-csrf_token",
    )
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", f"/admin/users/{stage.refs['@managed']}", body)
    stage.fuzzer.check(before, answer, lambda a: a.status == 302, "move")


@FUZZ
@given(
    password=field_value(st.sampled_from(STRONG), text_value).any,
    extras=extra_fields,
    csrf=csrf_modes,
)
def test_reset_password(
    stage: Stage, password: FieldValue, extras: dict[str, str], csrf: str
) -> None:
    client = stage.client("admin")
    body = with_csrf(
        _form({"password": password}, extras, stage.refs, prefix="pw-"),
        csrf,
        stage.token("admin"),
        name="pw-csrf_token",
    )
    before = stage.fuzzer.snapshot()
    url = f"/admin/users/{stage.refs['@managed']}/password"
    answer = stage.fuzzer.send(client, "POST", url, body)
    stage.fuzzer.check(before, answer, lambda a: a.alerts("success"), "password reset")


@FUZZ
@given(extras=extra_fields, csrf=csrf_modes, prefixed=st.booleans())
def test_toggle_active(stage: Stage, extras: dict[str, str], csrf: str, prefixed: bool) -> None:
    client = stage.client("admin")
    name = "active-csrf_token" if prefixed else "csrf_token"
    body = with_csrf(dict(extras), csrf, stage.token("admin"), name=name)
    before = stage.fuzzer.snapshot()
    url = f"/admin/users/{stage.refs['@managed']}/active"
    answer = stage.fuzzer.send(client, "POST", url, body)
    stage.fuzzer.check(before, answer, lambda a: a.alerts("success"), "activation")


# --- elections ---------------------------------------------------------------------------------

EARLIEST_DAY, LATEST_DAY = date(1991, 12, 16), date(2199, 12, 31)  # the service's bounds
KINDS = ("referendum", "presidential", "mazhilis", "maslikhat", "by_election", "senate")
REASONS = (
    "ОСК қаулысы № 12",
    "Постановление ЦИК № 12 от 24.05.2022",
    "Court ruling of 24 May 2022",
)
SHOW_URL = re.compile(r"^/elections/(\d+)$")
ELECTION_EVENTS = ("election_created", "election_updated", "election_corrected")


def _ordered_dates(days: list[date]) -> dict[str, FieldValue]:
    opens, deadline, voting = sorted(days)
    return {
        "issue_opens_on": opens.isoformat(),
        "issue_deadline_on": deadline.isoformat(),
        "voting_day": voting.isoformat(),
    }


def _hours(pair: list[time]) -> dict[str, FieldValue]:
    opens, closes = sorted(moment.strftime("%H:%M") for moment in pair)
    if opens == closes:
        opens, closes = "07:00", "20:00"
    return {"voting_opens_at": opens, "voting_closes_at": closes}


def _calendar(days: st.SearchStrategy[list[date]]) -> st.SearchStrategy[dict[str, FieldValue]]:
    """Names, a calendar drawn from `days` (ordered), hours, policies: the shared part of the
    new-election, edit and correction forms."""
    return st.builds(
        lambda names, chosen, hours, issue_times, flags, threshold: {
            **names,
            **_ordered_dates(chosen),
            **_hours(hours),
            **issue_times,
            **flags,
            "proxy_warning_threshold": threshold,
        },
        st.fixed_dictionaries(
            {
                # No NUL: that is refused before any form is read (a test of its own).
                name: st.one_of(
                    st.sampled_from(NAMES),
                    short_text.filter(lambda text: bool(text.strip()) and "\x00" not in text),
                )
                for name in ("name_kk", "name_ru", "name_en")
            }
        ),
        days,
        st.lists(st.times(), min_size=2, max_size=2),
        st.fixed_dictionaries(
            {
                "issue_opens_at": st.one_of(
                    st.just("00:00"), st.times().map(lambda t: t.strftime("%H:%M"))
                ),
                "issue_deadline_at": st.one_of(
                    st.just("18:00"), st.times().map(lambda t: t.strftime("%H:%M"))
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                name: st.one_of(st.none(), st.just("y"), bool_text)
                for name in (
                    "allow_surrender",
                    "allow_return_home",
                    "refuse_inclusion_in_home_locality",
                )
            }
        ),
        st.integers(min_value=0, max_value=1000).map(str),
    )


EXTREME_DAYS = st.sampled_from(
    (EARLIEST_DAY, LATEST_DAY, date(2022, 6, 5), date(1, 1, 1), date(9999, 12, 31))
)
# Any real dates: mostly within the service's bounds, sometimes at or past their ends.
any_days = st.lists(
    st.one_of(st.dates(EARLIEST_DAY, LATEST_DAY), st.dates(), EXTREME_DAYS), min_size=3, max_size=3
)
# Ahead of the test clock (25 May 2022): a new election, or one still prepared, stays so.
future_days = st.lists(st.dates(date(2022, 6, 1), LATEST_DAY), min_size=3, max_size=3)
# A correction of the 2022 referendum on 25 May 2022: its window stays opened (from 1 to 24
# May), the deadline and voting day stay ahead, so that most corrections can be accepted.
correction_days = st.builds(
    lambda opens, deadline, after: [opens, deadline, deadline + timedelta(days=after)],
    st.dates(date(2022, 5, 1), date(2022, 5, 24)),
    st.dates(date(2022, 5, 26), date(2022, 6, 20)),
    st.one_of(st.integers(min_value=1, max_value=10), st.just(0)),
)
# Empty: the service picks a free series; four digits may be taken already (then refused).
series_text = st.one_of(st.just(""), st.just(""), st.from_regex(r"[0-9]{4}", fullmatch=True))
# "@n" becomes a number of its own in each example, so that most codes are free.
code_text = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True).map(lambda code: f"{code}-@n"),
    st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
)
# The fields of the election form and what a hostile admin might put in each.
ELECTION_FIELDS = {
    "code": text_value,
    "kind": st.one_of(st.sampled_from(KINDS), text_value),
    "number_series": st.one_of(int_text, text_value),
    "name_kk": text_value,
    "name_ru": text_value,
    "name_en": text_value,
    "voting_day": date_text,
    "issue_opens_on": date_text,
    "issue_deadline_on": date_text,
    "issue_opens_at": time_text,
    "issue_deadline_at": time_text,
    "voting_opens_at": time_text,
    "voting_closes_at": time_text,
    "allow_surrender": bool_text,
    "allow_return_home": bool_text,
    "refuse_inclusion_in_home_locality": bool_text,
    "proxy_warning_threshold": int_text,
    "reason": st.one_of(st.sampled_from(REASONS), text_value),
}
NEW_ELECTION_FIELDS = {
    **{name: value for name, value in ELECTION_FIELDS.items() if name != "reason"},
    "network": st.one_of(
        st.sampled_from(("map:kz-2022", "map:kz-2026", "copy:@election", "map:", "copy:")),
        text_value,
    ),
    "with_staff": bool_text,
}


def _spoilt(
    valid: st.SearchStrategy[dict[str, FieldValue]],
    fields: dict[str, st.SearchStrategy[str]],
) -> st.SearchStrategy[dict[str, FieldValue]]:
    """A valid form with up to two fields spoilt (or left out), or hostile values throughout."""
    return st.one_of(
        st.builds(
            lambda form, bad: {**form, **bad},
            valid,
            st.dictionaries(
                st.sampled_from(sorted(fields)),
                st.one_of(st.none(), *fields.values()),
                max_size=2,
            ),
        ),
        valid,
        valid,
        st.fixed_dictionaries(
            {name: field_value(strategy, strategy).any for name, strategy in fields.items()}
        ),
    )


# The 2022 referendum corrected inside its window: code, kind and series as they are, a reason.
correction_form = _spoilt(
    st.builds(
        lambda calendar, reason: {
            **calendar,
            "code": "ref2022",
            "kind": "referendum",
            "number_series": "",
            "reason": reason,
        },
        st.one_of(_calendar(correction_days), _calendar(correction_days), _calendar(any_days)),
        st.sampled_from(REASONS),
    ),
    ELECTION_FIELDS,
)
# Any election's data, for a new one or one still prepared.
valid_election: st.SearchStrategy[dict[str, FieldValue]] = st.builds(
    lambda calendar, code, kind, series, reason: {
        **calendar,
        "code": code,
        "kind": kind,
        "number_series": series,
        # An election without certificates has no window at all.
        **({"issue_opens_on": "", "issue_deadline_on": ""} if kind == "senate" else {}),
        **({} if reason is None else {"reason": reason}),
    },
    _calendar(future_days),  # days out of the bounds come as spoilt fields
    code_text,
    st.sampled_from(KINDS),
    series_text,
    st.one_of(st.none(), st.sampled_from(REASONS)),
)
election_form = _spoilt(valid_election, ELECTION_FIELDS)
new_election_form = _spoilt(
    st.builds(
        lambda form, network, with_staff: {**form, "network": network, "with_staff": with_staff},
        valid_election,
        st.sampled_from(("map:kz-2022", "map:kz-2026", "copy:@election")),
        st.sampled_from(("y", None)),
    ),
    NEW_ELECTION_FIELDS,
)
# Pages that read the election settings: an accepted change must not break any of them.
SETTINGS_READERS = {
    "admin": (
        "/",
        "/admin/election",
        "/admin/figures",
        "/admin/reconciliation.pdf",
        "/elections",
        "/elections/@election",
    ),
    "clerk_almaly": ("/desk/", "/desk/register", "/desk/register?format=csv", "/elections"),
    "checkin_oral": ("/checkin/",),
}


def _election_events(session: Session) -> list[tuple[int, str, Any]]:
    """(id, event, payload) of every change to an election so far."""
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.event, AuditEvent.payload)
        .where(AuditEvent.event.in_(ELECTION_EVENTS))
        .order_by(AuditEvent.id)
    ).all()
    session.rollback()
    return [(row[0], row[1], row[2]) for row in rows]


_examples = count(1)


def _fresh(stage: Stage) -> None:
    """A number of its own for "@n" in this example."""
    stage.refs["@n"] = str(next(_examples))


def _read_settings(stage: Stage) -> None:
    for username, urls in SETTINGS_READERS.items():
        for url in urls:
            stage.fuzzer.send(stage.client(username), "GET", str(_resolve(url, stage.refs)))


@FUZZ
@given(form=correction_form, extras=extra_fields, csrf=csrf_modes)
def test_election_settings(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str
) -> None:
    """The shown election (the 2022 referendum, inside its window): every change a correction."""
    client = stage.client("admin")
    body = with_csrf(_form(form, extras, stage.refs), csrf, stage.token("admin"))
    events = _election_events(stage.session)
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", "/admin/election", body)
    new_events = _election_events(stage.session)[len(events) :]
    if stage.fuzzer.check(before, answer, lambda a: a.status == 302, "election"):
        event("election settings accepted")
        assert answer.location == f"/elections/{stage.world.election.id}", describe(body)
        # Inside the window: a correction with its reason, never a plain edit.
        assert all(kind == "election_corrected" for _id, kind, _p in new_events), new_events
        assert all(str(payload["reason"]).strip() for _id, _k, payload in new_events)
        frozen = stage.session.execute(
            select(Election.code, Election.kind, Election.number_series).where(
                Election.id == stage.world.election.id
            )
        ).one()
        stage.session.rollback()
        assert tuple(frozen) == ("ref2022", "referendum", None), describe(body)
        _read_settings(stage)
    else:
        assert new_events == [], f"a refused change was audited as made: {describe(body)}"


def _preparing_election(stage: Stage) -> str:
    """A second election, still prepared (voting on 20 November 2022), with a copy of the 2022
    network and its staff placed; its id."""
    if "@preparing" not in stage.refs:
        admin = stage.world.actor("admin")
        election = create_election(
            stage.session,
            admin,
            ElectionInput(
                code="pres2022",
                kind="presidential",
                name_kk="Президент сайлауы",
                name_ru="Выборы Президента",
                name_en="Presidential election",
                voting_day=date(2022, 11, 20),
                issue_opens_on=date(2022, 11, 4),
                issue_deadline_on=date(2022, 11, 19),
            ),
            ISSUE_TIME,
        )
        copy_network(
            stage.session,
            admin,
            source_id=stage.world.election.id,
            target_id=election.id,
            now=ISSUE_TIME,
            with_staff=True,
        )
        stage.session.commit()
        stage.refs["@preparing"] = str(election.id)
        stage.session.rollback()
    return stage.refs["@preparing"]


@FUZZ
@given(form=election_form, extras=extra_fields, csrf=csrf_modes)
def test_edit_election(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str
) -> None:
    """An election still prepared: anything may change (until a change opens its window)."""
    election_id = _preparing_election(stage)
    _fresh(stage)
    client = stage.client("admin")
    body = with_csrf(_form(form, extras, stage.refs), csrf, stage.token("admin"))
    events = _election_events(stage.session)
    before = stage.fuzzer.snapshot()
    url = f"/admin/elections/{election_id}/edit"
    answer = stage.fuzzer.send(client, "POST", url, body)
    new_events = _election_events(stage.session)[len(events) :]
    if stage.fuzzer.check(before, answer, lambda a: a.status == 302, "edit election"):
        assert answer.location == f"/elections/{election_id}", describe(body)
        assert len(new_events) <= 1, new_events
        for page in (f"/elections/{election_id}", url, f"/admin/elections/{election_id}/setup"):
            stage.fuzzer.send(client, "GET", page)
    else:
        assert new_events == [], f"a refused change was audited as made: {describe(body)}"


@FUZZ
@given(form=new_election_form, extras=extra_fields, csrf=csrf_modes)
def test_new_election(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str
) -> None:
    _fresh(stage)
    client = stage.client("admin")
    body = with_csrf(_form(form, extras, stage.refs), csrf, stage.token("admin"))
    events = _election_events(stage.session)
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", "/admin/elections/new", body)
    new_events = _election_events(stage.session)[len(events) :]

    def accepted(answer: Answer) -> bool:
        return answer.status == 302 and bool(SHOW_URL.match(answer.location))

    if stage.fuzzer.check(before, answer, accepted, "new election"):
        match = SHOW_URL.match(answer.location)
        assert match is not None
        created = stage.session.get(Election, int(match.group(1)))
        assert created is not None, describe(body)
        # Every new election prints its own series; none takes another's code.
        assert created.number_series is not None
        assert len(created.number_series) == 4
        regions = stage.session.scalar(
            select(func.count()).select_from(Region).where(Region.election_id == created.id)
        )
        stage.session.rollback()
        assert regions, f"a new election without its network: {describe(body)}"
        assert [kind for _id, kind, _p in new_events] == ["election_created"]
        for page in ("/elections", answer.location, f"/admin/elections/{match.group(1)}/setup"):
            stage.fuzzer.send(client, "GET", page)
    else:
        assert new_events == [], f"a refused election was audited as created: {describe(body)}"


CHOICE_FORM = form_values(
    {
        "election_id": field_value(st.sampled_from(("@election", "@preparing")), int_text),
        "next": field_value(
            st.sampled_from(("/desk/", "/elections", "/checkin/?election=@election")),
            st.one_of(st.sampled_from(NEXT_TARGETS), text_value),
        ),
    }
)


@FUZZ
@given(
    form=CHOICE_FORM,
    extras=extra_fields,
    csrf=csrf_modes,
    username=st.sampled_from(("clerk_almaly", "checkin_oral", "admin", "territorial_west")),
)
def test_choose_election(
    stage: Stage, form: dict[str, FieldValue], extras: dict[str, str], csrf: str, username: str
) -> None:
    """The choice lives in the session: it never changes the database, and a redirect after it
    never leaves the site."""
    _preparing_election(stage)
    client = stage.client(username)
    body = with_csrf(_form(form, extras, stage.refs), csrf, stage.token(username))
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", "/elections/choose", body)
    stage.fuzzer.check(before, answer, lambda _a: False, "choosing changes nothing")
    assert answer.status in (302, 400), f"{answer.status}: {describe(body)}"
    wanted = body.get("election_id")
    if (
        csrf == "valid"
        and answer.status == 302
        and wanted
        in (
            stage.refs["@election"],
            stage.refs["@preparing"],
        )
    ):
        event("election chosen")
        page = client.get("/elections").get_data(as_text=True)
        assert f'<option value="{wanted}" selected>' in page, describe(body)


UPLOADS = {
    "voters": lambda stage: _voter_csv(stage),
    "precincts": lambda _stage: (
        "region_kato,locality_kato,locality_name_kk,locality_name_ru,locality_kind,district_kato,"
        "district_name_kk,district_name_ru,number,address_kk,address_ru,"
        "territorial_commission_ru,territorial_commission_kk\n"
        "270000000,271010000,Орал,Уральск,city,,,,"
        f"{secrets.randbelow(8000) + 1000},Достық 1,Дружбы 1,Уральская ТК,Орал ТК\n"
    ).encode(),
    "garbage": lambda _stage: b"not,a,file\n\x00\xff\xfe<script>alert(1)</script>\n",
    "empty": lambda _stage: b"",
    "bom only": lambda _stage: "\ufeff".encode(),
}


def _voter_csv(stage: Stage) -> bytes:
    lines = [
        "region_kato,precinct_number,iin,surname,given_name,patronymic,birth_date,address",
        *(
            f"{region},{number},{make_iin()},{surname},Болат,,1990-01-01,ул. Датова 3"
            for region, number, surname in (
                ("270000000", 301, "Жүктелген"),
                ("270000000", 350, "<script>alert(1)</script>"),
                ("750000000", 101, "Сырттан"),
            )
        ),
    ]
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


SETUP_FORMS: dict[str, st.SearchStrategy[dict[str, FieldValue]]] = {
    "import": form_values(
        {
            "kind": field_value(st.sampled_from(("voters", "precincts")), text_value),
            "mode": field_value(st.sampled_from(("add", "amend", "replace")), text_value),
            "skip_errors": field_value(st.sampled_from(("y", "")), bool_text),
            "submit": field_value(st.just("Import"), text_value),
        }
    ),
    "stock": form_values(
        {
            "per_precinct": field_value(st.sampled_from(("1", "50", "100000")), int_text),
            "first_serial": field_value(st.sampled_from(("", "1", "5000", "99999999")), int_text),
            "submit": field_value(st.just("Hand down"), text_value),
        }
    ),
    "copy": form_values(
        {
            "source": field_value(st.sampled_from(("@election", "@preparing")), int_text),
            "carry_staff": field_value(st.just("Place"), text_value),
        }
    ),
}


@pytest.mark.parametrize("section", sorted(SETUP_FORMS))
@FUZZ
@given(
    data=st.data(),
    extras=extra_fields,
    csrf=csrf_modes,
    username=st.sampled_from(("admin", "territorial_west")),
    which=st.sampled_from(("@preparing", "@preparing", "@election")),
    upload=st.one_of(st.sampled_from(sorted(UPLOADS)), st.none()),
)
def test_election_setup(
    stage: Stage,
    app: Flask,
    section: str,
    data: st.DataObject,
    extras: dict[str, str],
    csrf: str,
    username: str,
    which: str,
    upload: str | None,
) -> None:
    """Imports (a real file, or none, or garbage), number stock and staff, each of its own form;
    the 2022 referendum's window is open, so its network no longer changes by import."""
    app.config["KUELIK_IMPORTS_INLINE"] = True
    _preparing_election(stage)
    form = data.draw(SETUP_FORMS[section], label="form")
    client = stage.client(username)
    body: dict[str, Any] = with_csrf(
        _form(form, extras, stage.refs, prefix=f"{section}-"),
        csrf,
        stage.token(username),
        name=f"{section}-csrf_token",
    )
    if section == "import" and upload is not None:
        # The test client sends a (stream, file name) pair as a file part of a multipart body.
        body["import-file"] = (io.BytesIO(UPLOADS[upload](stage)), f"{upload}.csv")
    url = f"/admin/elections/{stage.refs[which]}/setup"
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(client, "POST", url, body)
    assert answer.status in (200, 302, 400, 404), f"{answer.status}: {describe(body)}"
    if stage.fuzzer.check(before, answer, lambda a: a.alerts("success"), "setup"):
        assert answer.location == url, describe(body)
        if section == "import":
            assert which == "@preparing", "an election whose window opened took an import"
            job = stage.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()).limit(1))
            assert job is not None
            assert job.election_id == int(stage.refs["@preparing"])
            assert job.status in ("done", "failed"), job.status
            stage.session.rollback()
        if section == "copy":
            assert username == "admin", "only the central commission carries staff over"


# --- large bodies, and numbers in the path -----------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One form for the large-body test: who posts it, where, and its text fields."""

    name: str
    username: str | None
    url: Callable[[Stage], str]
    fields: tuple[str, ...]
    method: str = "POST"
    ignore: frozenset[str] = frozenset()


def _fresh_voter_url(stage: Stage) -> str:
    return f"/desk/voters/{stage.voter()[0]}/apply"


def _case_url(action: str, state: CaseState) -> Callable[[Stage], str]:
    return lambda stage: f"/desk/cases/{stage.case(state)}/{action}"


def _managed(suffix: str) -> Callable[[Stage], str]:
    return lambda stage: f"/admin/users/{stage.refs['@managed']}{suffix}"


ROUTES = (
    Route(
        "login",
        None,
        lambda _s: "/login",
        ("username", "password"),
        ignore=frozenset({"login_throttle"}),
    ),
    Route("logout", "clerk_almaly", lambda _s: "/logout", ("note",)),
    Route(
        "password",
        "clerk_almaly",
        lambda _s: "/password",
        ("current_password", "new_password", "confirm_password"),
    ),
    Route("language", "clerk_almaly", lambda _s: "/language/ru", ("next",)),
    Route("voters", "clerk_almaly", lambda _s: "/desk/voters", ("q",), method="GET"),
    Route("register", "clerk_almaly", lambda _s: "/desk/register", ("state", "day"), method="GET"),
    Route(
        "apply",
        "clerk_almaly",
        _fresh_voter_url,
        ("applicant_document", "representative_name", "power_of_attorney_number"),
    ),
    Route("issue", "clerk_almaly", _case_url("issue", CaseState.RECEIVED), ("handed_to",)),
    Route("refuse", "clerk_almaly", _case_url("refuse", CaseState.RECEIVED), ("note", "code")),
    *(
        Route(action, "clerk_almaly", _case_url(action, state), ("reason",))
        for action, state in (
            ("withdraw", CaseState.RECEIVED),
            ("spoil", CaseState.ISSUED),
            ("lost", CaseState.ISSUED),
            ("cancel", CaseState.ISSUED),
        )
    ),
    Route("scan", "checkin_oral", lambda _s: "/checkin/", ("scan",)),
    Route("confirm", "checkin_oral", lambda _s: "/checkin/confirm", ("scan", "form_key")),
    Route("new user", "admin", lambda _s: "/admin/users", ("username", "full_name", "password")),
    Route("move user", "admin", _managed(""), ("move-full_name", "move-role")),
    Route("reset password", "admin", _managed("/password"), ("pw-password",)),
    Route("activation", "admin", _managed("/active"), ("note",)),
    Route("election", "admin", lambda _s: "/admin/election", ("name_kk", "name_ru", "name_en")),
    Route("choose", "clerk_almaly", lambda _s: "/elections/choose", ("election_id", "next")),
    Route("new election", "admin", lambda _s: "/admin/elections/new", ("code", "name_kk")),
    Route(
        "edit election",
        "admin",
        lambda s: f"/admin/elections/{_preparing_election(s)}/edit",
        ("name_kk", "name_ru", "reason"),
    ),
    Route(
        "setup",
        "admin",
        lambda s: f"/admin/elections/{_preparing_election(s)}/setup",
        ("stock-per_precinct", "stock-first_serial", "stock-submit"),
    ),
)


USERS = ("anonymous", "clerk_almaly", "checkin_oral", "admin")
LARGE_PIECE = "Жеке куәлік <script>alert(1)</script> ' OR 1=1 -- 😀 "  # 70 bytes in UTF-8


def _one_megabyte(fields: tuple[str, ...]) -> dict[str, FieldValue]:
    """1 MB of Kazakh text, markup and SQL spread over (up to) four fields: each field's value
    is long enough to fail every Length check, and the view's validation really runs."""
    names = [*fields, "padding_1", "padding_2", "padding_3", "padding_4"][:4]
    size = len(LARGE_PIECE.encode())
    repeats = MEGABYTE // size // len(names) + 1
    return dict.fromkeys(names, LARGE_PIECE * repeats)


def _large_body_failures(stage: Stage, route: Route) -> list[str]:
    """1 MB is an ordinary input (refused, never a crash); 17 MB is past the limit: 413."""
    fuzzer = Fuzzer(stage.session, ignore=stage.fuzzer.ignore | route.ignore, errors=stage.errors)
    if route.username is None:
        client = stage.app.test_client()
        token = csrf_token(client.get("/login").get_data(as_text=True))
    else:
        client = stage.client(route.username)
        token = stage.token(route.username)
    failures = []
    try:
        url = route.url(stage)
        before = fuzzer.snapshot()
        if route.method == "GET":
            # No body: a query string of 1 MB (no real server would take such a request line).
            answer = fuzzer.send(client, "GET", url, query=_one_megabyte(route.fields))
        else:
            answer = fuzzer.send(
                client, "POST", url, {"csrf_token": token, **_one_megabyte(route.fields)}
            )
        # Nothing of this size is a valid value of any of these fields; these three have none.
        if not (route.name in ("language", "logout", "activation") and answer.status == 302):
            fuzzer.unchanged(before, f"1 MB to {route.name}: {answer.status}")
        if route.method == "POST":
            if route.name == "logout":
                stage.clients.pop("clerk_almaly", None)
                client = stage.client("clerk_almaly")
                token = stage.token("clerk_almaly")
            # Multipart holds each field to Werkzeug's 500 kB (MAX_FORM_MEMORY_SIZE): 413.
            url = route.url(stage)
            before = fuzzer.snapshot()
            answer = fuzzer.send(
                client,
                "POST",
                url,
                {"csrf_token": token, route.fields[0]: LARGE_PIECE * (MEGABYTE // 70)},
                content_type="multipart/form-data",
            )
            assert answer.status in (200, 302, 400, 404, 413), f"multipart: {answer.status}"
            fuzzer.unchanged(before, f"1 MB multipart field to {route.name}: {answer.status}")
            url = route.url(stage)
            before = fuzzer.snapshot()
            answer = fuzzer.send(
                client, "POST", url, {"csrf_token": token, route.fields[0]: "x" * (17 * MEGABYTE)}
            )
            assert answer.status == 413, f"17 MB to {route.name}: {answer.status}"
            fuzzer.unchanged(before, f"17 MB to {route.name}")
        if route.name == "logout":
            stage.clients.pop("clerk_almaly", None)  # maybe signed out: the next route signs in
    except Exception as error:  # collect them all: one report for every route of this user
        notes = " ".join(getattr(error, "__notes__", []))
        failures.append(f"{route.name}: {type(error).__name__}: {str(error)[:160]} {notes[:200]}")
    return failures


@pytest.mark.parametrize("username", USERS)
def test_large_bodies(stage: Stage, username: str) -> None:
    """Every form of the user once with a 1 MB body, once with 17 MB (past MAX_CONTENT_LENGTH)."""
    failures: list[str] = []
    for route in ROUTES:
        if (route.username or "anonymous") == username:
            failures += _large_body_failures(stage, route)
    assert not failures, "\n".join(failures)


# Multipart posts whose part name ends in a backslash, as a browser writes it (`name="a\"`):
# Werkzeug reads such a part as a field without a name (None), which every form must survive.
UNREADABLE_PART_NAMES = ("\\", "a\\")
MULTIPART_POSTS = (
    ("anonymous", "/login"),
    ("clerk_almaly", "/desk/voters/@voter/apply"),
    ("admin", "/admin/elections/@preparing/setup"),
)


# The CSRF check looks for the token by its plain name, then (a prefixed form's) by its ending.
@pytest.mark.parametrize("token_name", ["csrf_token", "import-csrf_token"])
@pytest.mark.parametrize("name", UNREADABLE_PART_NAMES)
def test_multipart_part_without_a_readable_name_is_refused_not_a_crash(
    stage: Stage, name: str, token_name: str
) -> None:
    _preparing_election(stage)
    stage.refs["@voter"] = str(stage.voter()[0])
    failures: list[str] = []
    for username, pattern in MULTIPART_POSTS:
        if username == "anonymous":
            client = stage.app.test_client()
            token = csrf_token(client.get("/login").get_data(as_text=True))
        else:
            client = stage.client(username)
            token = stage.token(username)
        url = str(_resolve(pattern, stage.refs))
        before = stage.fuzzer.snapshot()
        try:
            body = {name: "0", token_name: token}
            stage.fuzzer.send(client, "POST", url, body, content_type="multipart/form-data")
            stage.fuzzer.unchanged(before, f"part {name!r} to {url}")
        except Exception as error:  # every route, one report
            failures.append(f"{username} POST {url}: {type(error).__name__}: {error}")
    assert not failures, "\n".join(failures)


INT_ROUTES = (
    ("GET", "/desk/voters/{}/apply", "clerk_almaly"),
    ("POST", "/desk/voters/{}/apply", "clerk_almaly"),
    ("GET", "/desk/cases/{}", "clerk_almaly"),
    ("POST", "/desk/cases/{}/issue", "clerk_almaly"),
    ("POST", "/desk/cases/{}/withdraw", "clerk_almaly"),
    ("GET", "/desk/cases/{}/print", "clerk_almaly"),
    ("GET", "/checkin/done/{}", "checkin_oral"),
    ("GET", "/admin/users/{}", "admin"),
    ("POST", "/admin/users/{}/password", "admin"),
    ("POST", "/admin/users/{}/active", "admin"),
    ("GET", "/elections/{}", "clerk_almaly"),
    ("GET", "/admin/elections/{}/edit", "admin"),
    ("POST", "/admin/elections/{}/edit", "admin"),
    ("GET", "/admin/elections/{}/setup", "admin"),
    ("POST", "/admin/elections/{}/setup", "admin"),
    ("GET", "/desk/?election={}", "clerk_almaly"),
)


@pytest.mark.parametrize(
    "number", [2**31, 2**63 - 1, 2**63, 10**20, 10**40], ids=lambda n: f"n{len(str(n))}"
)
def test_numbers_in_the_path(stage: Stage, number: int) -> None:
    """A record id past any column's range is a record that does not exist: 404, not 500."""
    failures: list[str] = []
    for method, pattern, username in INT_ROUTES:
        client = stage.client(username)
        url = pattern.format(number)
        before = stage.fuzzer.snapshot()
        try:
            answer = stage.fuzzer.send(
                client,
                method,
                url,
                {"csrf_token": stage.token(username)} if method == "POST" else None,
            )
            # /checkin/done/<id> of no inclusion answers 200 with the "taken back" screen: not a
            # crash, but a made-up id ought to be a 404 (reported, not asserted here).
            allowed = (200, 302, 404) if "/done/" in pattern else (302, 404)
            if "?election=" in pattern:
                allowed = (200,)  # an election that does not exist: the default one is shown
            assert answer.status in allowed, f"{answer.status} on {method} {url}"
            stage.fuzzer.unchanged(before, f"{method} {url}")
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
    assert not failures, "\n".join(failures)


@dataclass(frozen=True)
class Pin:
    """One exact input, kept as a regression test (found by the fuzzer, or worth pinning)."""

    name: str
    username: str  # "anonymous": a visitor posting the sign-in form with a good password
    method: str
    url: str
    values: dict[str, str]
    rejected: bool  # True: the database must not change


ELECTION_2022 = ELECTION_2022_FORM
NEW_USER = {
    "username": "nul.user",
    "role": "observer",
    "precinct_id": "0",
    "territorial_commission_id": "0",
    "password": "Str0ng-pass-2022",
}
PINNED = (
    Pin("register-state", "clerk_almaly", "GET", "/desk/register", {"state": "nonsense"}, True),
    Pin("register-state-blank", "clerk_almaly", "GET", "/desk/register", {"state": " "}, True),
    Pin("register-day-min", "clerk_almaly", "GET", "/desk/register", {"day": "0001-01-01"}, True),
    Pin("register-day-max", "clerk_almaly", "GET", "/desk/register", {"day": "9999-12-31"}, True),
    Pin(
        "register-day-max-csv",
        "clerk_almaly",
        "GET",
        "/desk/register",
        {"day": "9999-12-31", "format": "csv"},
        True,
    ),
    Pin(
        "language-next-tab",
        "clerk_almaly",
        "POST",
        "/language/ru",
        {"next": "/\t/x.example/"},
        False,
    ),
    Pin(
        "language-next-lf",
        "clerk_almaly",
        "POST",
        "/language/ru",
        {"next": "/\n/x.example/"},
        False,
    ),
    Pin(
        "language-next-cr",
        "clerk_almaly",
        "POST",
        "/language/ru",
        {"next": "/\r/x.example/"},
        False,
    ),
    Pin("login-next-tab", "anonymous", "POST", "/login?next=/%09/x.example/", {}, False),
    Pin("login-next-lf", "anonymous", "POST", "/login?next=/%0A/x.example/", {}, False),
    # NUL: SQLite stores it, PostgreSQL refuses it in any text parameter.
    Pin("login-nul", "anonymous", "POST", "/login", {"username": "admin\x00"}, True),
    Pin("search-nul", "clerk_almaly", "GET", "/desk/voters", {"q": "ер\x00"}, True),
    Pin("search-nul-iin", "clerk_almaly", "GET", "/desk/voters", {"q": "\x00" * 12}, True),
    Pin(
        "user-nul",
        "admin",
        "POST",
        "/admin/users",
        {**NEW_USER, "full_name": "Нұр\x00лан"},
        False,
    ),
    Pin(
        "election-nul",
        "admin",
        "POST",
        "/admin/election",
        {**ELECTION_2022, "name_kk": "Референдум\x00", "reason": REASONS[0]},
        True,
    ),
    Pin(
        "election-reason-nul",
        "admin",
        "POST",
        "/admin/election",
        {**ELECTION_2022, "name_kk": "Референдум", "reason": "ОСК\x00"},
        True,
    ),
    Pin(
        "new-election-nul",
        "admin",
        "POST",
        "/admin/elections/new",
        {**ELECTION_2022, "code": "nul\x00", "network": "map:kz-2026", "with_staff": "y"},
        True,
    ),
    Pin(
        "new-election-network-nul",
        "admin",
        "POST",
        "/admin/elections/new",
        {**ELECTION_2022, "code": "ref2026", "voting_day": "2026-03-15", "network": "map:\x00"},
        True,
    ),
    Pin("choose-nul", "clerk_almaly", "POST", "/elections/choose", {"election_id": "1\x00"}, True),
    Pin(
        "choose-next-tab",
        "clerk_almaly",
        "POST",
        "/elections/choose",
        {"election_id": "@election", "next": "/\t/x.example/"},
        True,
    ),
    Pin(
        "choose-next-query",
        "clerk_almaly",
        "POST",
        "/elections/choose",
        {"election_id": "@election", "next": "/desk/?election=1?election=2"},
        True,
    ),
    Pin(
        "desk-election-nul",
        "clerk_almaly",
        "GET",
        "/desk/",
        {"election": "1\x00"},
        True,
    ),
    Pin(
        "desk-election-digits",
        "clerk_almaly",
        "GET",
        "/desk/",
        {"election": "١"},  # an Arabic-Indic one: a digit to str.isdigit, not to int()
        True,
    ),
    Pin(
        "apply-key-nul",
        "clerk_almaly",
        "POST",
        "/desk/voters/@voter/apply",
        {
            "mode": "voter",
            "applicant_document": "ID 045678123",
            "stay_locality_id": "@oral",
            "form_key": "ключ\x00",
        },
        False,
    ),
    Pin(
        "withdraw-key-nul",
        "clerk_almaly",
        "POST",
        "/desk/cases/@case/withdraw",
        {"reason": "Сайлаушы бас тартты", "confirm": "y", "form_key": "ключ\x00"},
        False,
    ),
    Pin(
        "move-nul",
        "admin",
        "POST",
        "/admin/users/@managed",
        {"move-full_name": "Нұр\x00лан", "move-role": "observer"},
        False,
    ),
)


@pytest.mark.parametrize("pin", PINNED, ids=[pin.name for pin in PINNED])
def test_pinned_inputs(stage: Stage, pin: Pin) -> None:
    stage.case(CaseState.ISSUED)  # a row for the register
    stage.refs["@voter"] = str(stage.voter()[0])
    stage.refs["@case"] = str(stage.case(CaseState.RECEIVED))
    values = {name: str(_resolve(value, stage.refs)) for name, value in pin.values.items()}
    if pin.username == "anonymous":
        client = stage.app.test_client()
        token = csrf_token(client.get("/login").get_data(as_text=True))
        values = {"username": "clerk_almaly", "password": PASSWORD, **values}
        fuzzer = Fuzzer(
            stage.session, ignore=stage.fuzzer.ignore | {"login_throttle"}, errors=stage.errors
        )
    else:
        client = stage.client(pin.username)
        token = stage.token(pin.username)
        fuzzer = stage.fuzzer
    url = str(_resolve(pin.url, stage.refs))
    before = fuzzer.snapshot()
    if pin.method == "GET":
        fuzzer.send(client, pin.method, url, query=values)
    else:
        fuzzer.send(client, pin.method, url, {"csrf_token": token, **values})
    if pin.rejected:
        fuzzer.unchanged(before, pin.name)


# Before the 2022 window opens, the election is still prepared: any calendar may be stored.
BEFORE_WINDOW = datetime(2022, 5, 1, 6, 0, tzinfo=UTC)
# The first and last days the service takes; on one day, the window closes as voting opens.
EXTREME_ELECTIONS = {
    "first-to-last-day": ("1991-12-16", "1991-12-16", "2199-12-31"),
    "all-on-the-first-day": ("1991-12-16", "1991-12-16", "1991-12-16"),
    "all-on-the-last-day": ("2199-12-31", "2199-12-31", "2199-12-31"),
}


def _extreme_election(days: tuple[str, str, str], token: str) -> dict[str, FieldValue]:
    opens, deadline, voting = days
    return {
        "csrf_token": token,
        **ELECTION_2022,
        "voting_day": voting,
        "issue_opens_on": opens,
        "issue_opens_at": "00:00",
        "issue_deadline_on": deadline,
        "issue_deadline_at": "00:01",
        "voting_opens_at": "00:01",
        "voting_closes_at": "23:59",
    }


@pytest.mark.parametrize("days", EXTREME_ELECTIONS.values(), ids=list(EXTREME_ELECTIONS))
def test_extreme_election_dates_break_no_page(
    stage: Stage, clock: FixedClock, days: tuple[str, str, str]
) -> None:
    """The form takes any date the service's bounds allow: every page that reads the settings
    must still answer."""
    stage.case(CaseState.ISSUED)
    clock.instant = BEFORE_WINDOW
    values = _extreme_election(days, stage.token("admin"))
    answer = stage.fuzzer.send(stage.client("admin"), "POST", "/admin/election", values)
    assert answer.status == 302, "the form takes any day within the bounds"
    stored = stage.session.execute(
        select(Election.issue_opens_on, Election.issue_deadline_on, Election.voting_day)
    ).one()
    stage.session.rollback()
    assert tuple(day.isoformat() for day in stored) == days
    failures = []
    voter_url = f"/desk/voters/{stage.voter()[0]}/apply"
    for username, urls in {
        **SETTINGS_READERS,
        "clerk_almaly": (*SETTINGS_READERS["clerk_almaly"], voter_url),
    }.items():
        for url in urls:
            url = str(_resolve(url, stage.refs))
            try:
                stage.fuzzer.send(stage.client(username), "GET", url)
            except Exception as error:  # every page, one report
                failures.append(f"GET {url} as {username}: {type(error).__name__}: {error}")
    clerk = stage.client("clerk_almaly")
    page = clerk.get(voter_url).get_data(as_text=True)
    application = {
        "csrf_token": csrf_token(page),
        "form_key": form_key(page),
        "mode": "voter",
        "applicant_document": "ID 045678123",
        "stay_locality_id": stage.refs["@oral"],
    }
    try:
        stage.fuzzer.send(clerk, "POST", voter_url, application)
    except Exception as error:
        failures.append(f"POST {voter_url}: {type(error).__name__}: {error}")
    assert not failures, "\n".join(failures)


PAST_THE_BOUNDS = {
    "first-day-ever": ("0001-01-01", "0001-01-01", "9999-12-31"),
    "last-day-ever": ("9999-12-31", "9999-12-31", "9999-12-31"),
    "before-independence": ("1991-12-15", "1991-12-15", "1991-12-15"),
    "past-2199": ("2199-12-31", "2199-12-31", "2200-01-01"),
}


@pytest.mark.parametrize("days", PAST_THE_BOUNDS.values(), ids=list(PAST_THE_BOUNDS))
def test_election_dates_past_the_bounds_are_refused_field_by_field(
    stage: Stage, clock: FixedClock, days: tuple[str, str, str]
) -> None:
    clock.instant = BEFORE_WINDOW
    values = _extreme_election(days, stage.token("admin"))
    events = _election_events(stage.session)
    before = stage.fuzzer.snapshot()
    answer = stage.fuzzer.send(stage.client("admin"), "POST", "/admin/election", values)
    assert answer.status == 200, "refused: the form again, with its errors"
    out_of_range = [
        name
        for name, day in zip(
            ("issue_opens_on", "issue_deadline_on", "voting_day"), days, strict=True
        )
        if not EARLIEST_DAY.isoformat() <= day <= LATEST_DAY.isoformat()
    ]
    for name in out_of_range:
        assert f'id="{name}-errors"' in answer.page, name
    assert "Choose a date between 1991-12-16 and 2199-12-31" in answer.page
    stage.fuzzer.unchanged(before, f"days {days}")
    assert _election_events(stage.session) == events
