"""Hostile form input for the web fuzz tests: strategies, and a harness that checks each answer.

The harness posts one example, then holds the answer to three rules: no status of 500 or more
(also on the page a redirect leads to), no markup payload echoed unescaped, and for an input the
route rejected, no change to the database beyond the tables a refusal may write (the audit trail,
claimed one-time form keys, and for sign-in the throttle).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import event, note
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import Base
from tests.factories import make_iin

# --- strategies -------------------------------------------------------------------------------

KAZAKH = "ӘәҒғҚқҢңӨөҰұҮүҺһІі"
RUSSIAN = "АаБбВвГгДдЕеЁёЖжЗзИиЙйКкЛлМмНнОоПпРрСсТтУуФфХхЦцЧчШшЩщЪъЫыЬьЭэЮюЯя"
NAMES = (
    "Сәрсенбаев Ерлан",
    "Нұрланов Асқар Серікұлы",
    "Қасымова Гүлнар",
    "Әлиев Данияр",
    "Петров Иван Иванович",
    "Жанұзақов-Тұрсын",
    "O'Brien",
)
EMOJI = ("😀", "🗳️", "🇰🇿", "👩🏽‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "\U0001f9ff")
CONTROLS = (
    *(chr(code) for code in range(0x20)),
    "\x7f",
    "\x85",
    "\u202e",  # right-to-left override
    "\u202d",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\u2029",
)
# Markup that must never come back raw: each is checked against every page the example reaches.
MARKUP = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=1>',
    "<svg/onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
)
TEMPLATES = ("{{ 7*7 }}", "{% raw %}", "${7*7}", "%s%n%x", "%(name)s", "&lt;b&gt;", "javascript:")
SQL = (
    "' OR 1=1 --",
    "'; DROP TABLE app_user; --",
    "%",
    "_",
    "\\",
    "%%",
    "\\%",
    '" OR ""="',
    "' UNION SELECT password_hash FROM app_user --",
    "1; SELECT 1",
)

fragment: st.SearchStrategy[str] = st.one_of(
    st.text(alphabet=KAZAKH + RUSSIAN + " -.'", min_size=1, max_size=12),
    st.sampled_from(NAMES),
    st.sampled_from(EMOJI),
    st.sampled_from(CONTROLS),
    st.sampled_from(MARKUP),
    st.sampled_from(TEMPLATES),
    st.sampled_from(SQL),
    st.text(max_size=8),  # any code point but lone surrogates (a form cannot carry them)
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
short_text: st.SearchStrategy[str] = st.lists(fragment, max_size=5).map("".join)
# Past every Length(max=...) of the forms, up to ~400 kB (under Werkzeug's 500 kB per field).
long_text: st.SearchStrategy[str] = st.builds(
    lambda piece, size: (piece * size)[:size] if len(piece) == 1 else piece * (size // len(piece)),
    st.sampled_from(("ә", "A", "😀", " ", "\x00", MARKUP[0], "' OR 1=1 --")),
    st.sampled_from((65, 81, 101, 201, 301, 401, 1001, 4097, 100_000)),
)
text_value: st.SearchStrategy[str] = st.one_of(short_text, short_text, long_text)
int_text: st.SearchStrategy[str] = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        (
            "abc",
            "-1",
            "0",
            "99999999999999999999",
            "9223372036854775808",
            "1e3",
            " 1",
            "1.5",
            "",
            "０１",
            "١٢",
            "0x10",
            "+1",
            "1_000",
            "NaN",
            "inf",
        )
    ),
    short_text,
)
date_text: st.SearchStrategy[str] = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(
        (
            "2022-02-30",
            "2022-13-01",
            "0000-00-00",
            "0001-01-01",
            "9999-12-31",
            "22-05-25",
            "2022/05/25",
            "25.05.2022",
            "2022-05-25T00:00",
            "",
        )
    ),
    short_text,
)
time_text: st.SearchStrategy[str] = st.one_of(
    st.times().map(lambda moment: moment.strftime("%H:%M")),
    st.sampled_from(("24:00", "23:60", "-1:00", "7:00", "07:00:00", "25:61", "12:00 PM", "")),
    short_text,
)
bool_text: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(("y", "on", "1", "true", "", "0", "false", "n", "None")), short_text
)

# Valid IINs for representatives (a checksum a fuzzer would rarely hit by chance).
IINS: tuple[str, ...] = tuple(make_iin(date(1980, 3, day)) for day in range(1, 6))

FieldValue = str | list[str] | None  # None: the field is left out


@dataclass(frozen=True)
class Field:
    """One form field: what a careful clerk would type, and what a hostile one might."""

    valid: st.SearchStrategy[str]
    fuzz: st.SearchStrategy[str]

    @property
    def hostile(self) -> st.SearchStrategy[FieldValue]:
        """Hostile input, the field repeated, or the field left out."""
        return st.one_of(self.fuzz, st.lists(self.fuzz, min_size=2, max_size=3), st.none())

    @property
    def any(self) -> st.SearchStrategy[FieldValue]:
        return st.one_of(self.valid, self.valid, self.hostile)


def field_value(valid: st.SearchStrategy[str], fuzz: st.SearchStrategy[str]) -> Field:
    return Field(valid, fuzz)


def form_values(fields: Mapping[str, Field]) -> st.SearchStrategy[dict[str, FieldValue]]:
    """A valid form (so the route gets past its first check and acts), a valid form with one or
    two fields spoilt, or every field drawn on its own."""
    names = sorted(fields)
    valid = st.fixed_dictionaries({name: fields[name].valid for name in names})
    spoilt = st.lists(
        st.sampled_from(names).flatmap(
            lambda name: fields[name].hostile.map(lambda value: (name, value))
        ),
        min_size=1,
        max_size=2,
    ).map(dict)
    mixed = st.builds(lambda form, bad: {**form, **bad}, valid, spoilt)
    anything = st.fixed_dictionaries({name: fields[name].any for name in names})
    # Weighted by repetition: about a third of the examples should get through.
    return st.one_of(valid, valid, valid, mixed, mixed, anything)


# Fields no form declares (or that belong to the server): they must be ignored.
EXTRA_NAMES = (
    "precinct_id",
    "state",
    "number",
    "serial",
    "voter_id",
    "case_id",
    "election_id",
    "user_id",
    "role",
    "active",
    "password_hash",
    "id",
    "_method",
)
extra_fields: st.SearchStrategy[dict[str, str]] = st.dictionaries(
    st.one_of(st.sampled_from(EXTRA_NAMES), short_text.filter(bool)),
    st.one_of(int_text, text_value),
    max_size=3,
)
# How the CSRF token is sent: mostly right, sometimes absent, forged or doubled.
csrf_modes: st.SearchStrategy[str] = st.sampled_from(
    ("valid", "valid", "valid", "valid", "valid", "missing", "garbage", "doubled")
)
# How the one-time form key is sent: fresh from the page, a replay, too long, absent, or
# "garbage:" and the text sent instead.
key_modes: st.SearchStrategy[str] = st.sampled_from(
    (
        "page",
        "page",
        "page",
        "page",
        "page",
        "replay",
        "long",
        "missing",
        "garbage:",
        "garbage: ",
        "garbage:'; --",
        "garbage:ключ\x00",
        "garbage:<script>alert(1)</script>",
        "garbage:" + "😀" * 64,
    )
)


def with_csrf(
    data: dict[str, FieldValue], mode: str, token: str, name: str = "csrf_token"
) -> dict[str, FieldValue]:
    if mode == "valid":
        data[name] = token
    elif mode == "garbage":
        data[name] = token[::-1] + "x"
    elif mode == "doubled":
        data[name] = [token, "not-a-token"]
    return data


def send(data: Mapping[str, FieldValue]) -> dict[str, str | list[str]]:
    """The body as the test client takes it: missing fields dropped."""
    return {name: value for name, value in data.items() if value is not None}


def describe(data: Mapping[str, Any]) -> str:
    """A readable, bounded rendering of a form (long values summarised)."""

    def short(value: Any) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(short(item) for item in value) + "]"
        text = str(value)
        if len(text) > 120:
            return f"<{len(text)} chars: {text[:40]!r}…>"
        return repr(text)

    return "{" + ", ".join(f"{name!r}: {short(value)}" for name, value in data.items()) + "}"


# --- the harness ------------------------------------------------------------------------------

ALWAYS_IGNORED = frozenset({"audit_event", "form_submission"})
Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(session: Session, ignore: Iterable[str] = ALWAYS_IGNORED) -> Snapshot:
    """Every row of every table (ordered by key) but the ignored ones; ends its read."""
    skipped = set(ignore)
    rows: Snapshot = {}
    for table in Base.metadata.sorted_tables:
        if table.name in skipped:
            continue
        statement = select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in session.execute(statement)]
    session.rollback()
    return rows


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    found = []
    for name, old in before.items():
        new = after.get(name, [])
        if old != new:
            added = [row for row in new if row not in old]
            removed = [row for row in old if row not in new]
            found.append(
                f"{name}: {len(old)} -> {len(new)} rows; new/changed {added[:3]!r}; "
                f"gone/was {removed[:3]!r}"
            )
    return found


def unsafe_location(location: str) -> bool:
    """Anything but a path on this site, as a browser would read it (it drops tab and newline)."""
    cleaned = re.sub(r"[\t\n\r]", "", location)
    parts = urlsplit(cleaned)
    return (
        bool(parts.scheme or parts.netloc)
        or not cleaned.startswith("/")
        or cleaned.startswith(("//", "/\\"))
    )


class ServerErrors(logging.Handler):
    """Keeps the exception behind the last 500: the app logs it, then answers politely.

    Re-raised in the test, it carries its own traceback, so Hypothesis tells distinct bugs
    apart (one assertion line would make every 500 look like the same bug).
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = record.exc_info[1]

    @classmethod
    @contextmanager
    def watching(cls, app: Flask) -> Iterator[ServerErrors]:
        handler = cls()
        app.logger.addHandler(handler)
        try:
            yield handler
        finally:
            app.logger.removeHandler(handler)

    def raise_for(self, status: int, context: str) -> None:
        """A 500 with its cause: raise the cause itself, noting the request."""
        error, self.last = self.last, None
        if status >= 500 and isinstance(error, Exception):
            error.add_note(f"answered {status} to {context}")
            raise error
        assert status < 500, f"{status} on {context}"


@dataclass
class Answer:
    """One request's answer and, for a redirect to this site, the page it leads to."""

    response: TestResponse
    page: str
    followed: TestResponse | None = None

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def location(self) -> str:
        return self.response.headers.get("Location", "")

    def alerts(self, category: str) -> bool:
        return f'class="alert alert-{category}"' in self.page


@dataclass
class Fuzzer:
    """Sends examples for one route and checks every answer; `session` only reads."""

    session: Session
    ignore: frozenset[str] = ALWAYS_IGNORED
    errors: ServerErrors | None = None
    requests: int = 0
    rejected: int = 0
    accepted: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        return snapshot(self.session, self.ignore)

    def send(
        self,
        client: FlaskClient,
        method: str,
        url: str,
        data: Mapping[str, FieldValue] | None = None,
        query: Mapping[str, FieldValue] | None = None,
        follow: bool = True,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> Answer:
        body = send(data or {})
        args = send(query or {})
        context = f"{method} {url} query={describe(args)} form={describe(body)}"
        if currently_in_test_context():
            note(context)
        if self.errors:
            self.errors.last = None
        payload: Mapping[str, str | list[str]] | bytes | None = body if method != "GET" else None
        if content_type == "multipart/form-data":
            payload, content_type = _multipart(body)
        response = client.open(
            url,
            method=method,
            data=payload,
            query_string=args or None,
            headers=dict(headers or {}),
            content_type=content_type,
        )
        content = response.get_data()  # also runs a streamed body (CSV) to its end
        self.requests += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if currently_in_test_context():
            event(f"status {response.status_code}")
        self._no_server_error(response.status_code, context)
        page = content.decode("utf-8", "replace") if response.mimetype == "text/html" else ""
        answer = Answer(response, page)
        sent = [*_strings(body), *_strings(args)]
        _assert_escaped(page, sent, context)
        if response.status_code in (301, 302, 303, 307, 308):
            location = answer.location
            assert not unsafe_location(location), f"redirect off-site to {location!r}: {context}"
            if follow:
                followed = client.get(location)
                followed_body = followed.get_data()
                self._no_server_error(followed.status_code, f"GET {location} after {context}")
                answer.followed = followed
                answer.page = (
                    followed_body.decode("utf-8", "replace")
                    if followed.mimetype == "text/html"
                    else ""
                )
                _assert_escaped(answer.page, sent, f"GET {location} after {context}")
        return answer

    def _no_server_error(self, status: int, context: str) -> None:
        if self.errors:
            self.errors.raise_for(status, context)
        assert status < 500, f"{status} on {context}"

    def unchanged(self, before: Snapshot, context: str) -> None:
        self.rejected += 1
        diff = changes(before, self.snapshot())
        assert not diff, f"rejected input changed the database ({context}): " + "; ".join(diff)

    def check(
        self, before: Snapshot, answer: Answer, accepted: Callable[[Answer], bool], context: str
    ) -> bool:
        """Rejected (by `accepted`'s judgement): the database must be as before."""
        if accepted(answer):
            self.accepted += 1
            if currently_in_test_context():
                event("input accepted")
            return True
        if currently_in_test_context():
            event("input rejected")
        self.unchanged(before, f"{answer.status} {context}")
        return False


def _multipart(data: Mapping[str, str | list[str]]) -> tuple[bytes, str]:
    """A multipart body built here: the test client would spool a large one to a temporary file
    and leave it open (a ResourceWarning, an error in this suite)."""
    boundary = "kuelik-fuzz-" + "b" * 16
    parts = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + item.encode()
                + b"\r\n"
            )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _strings(data: Mapping[str, str | list[str]]) -> list[str]:
    values: list[str] = []
    for name, value in data.items():
        values.append(name)
        values.extend(value if isinstance(value, list) else [value])
    return values


def _assert_escaped(page: str, sent: list[str], context: str) -> None:
    if not page:
        return
    for value in sent:
        for payload in MARKUP:
            if payload in value:
                assert payload not in page, f"unescaped {payload!r} in the page: {context}"
