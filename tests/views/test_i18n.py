"""Translations: every interface string is in Kazakh and Russian, and the pages really use them.

The strings are extracted afresh from the source with babel.cfg, so a new `_()` without its
translation fails here, not in front of a precinct commission. English is the source language:
its catalog must list every string but may leave the translation empty.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from models import db
from services.clock import FixedClock
from tests.views.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
MAPPING = ROOT / "babel.cfg"
TRANSLATED = ("kk", "ru")
LANGUAGES = ("kk", "ru", "en")
# As on the pybabel command line: `-k _l -k lazy_gettext` on top of Babel's defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
UPDATE_HINT = (
    "extract and update the catalogs (pybabel extract -F babel.cfg -k _l -k lazy_gettext "
    "-o translations/messages.pot . && pybabel update --no-wrap -i translations/messages.pot "
    "-d translations), then translate"
)
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")
# Words each language's sign-in page must show: the button, and a form label that no other
# language's page may show.
SIGN_IN = {"kk": "Кіру", "ru": "Войти", "en": "Sign in"}
USERNAME = {"kk": "Пайдаланушы аты", "ru": "Имя пользователя", "en": "Username"}


def _load(language: str) -> Catalog:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: {UPDATE_HINT}"
    with path.open("rb") as po:
        return read_po(po, locale=language)


def _entries(catalog: Catalog) -> list[Message]:
    """The messages, without the header entry (msgid "")."""
    return [message for message in catalog if message.id]


def _forms(message: Message) -> list[str]:
    strings = message.string
    return list(strings) if isinstance(strings, tuple | list) else [strings]


def _source_forms(message: Message) -> tuple[str, str]:
    """Singular and (for plurals) plural msgid; a translation must match the plural one."""
    if isinstance(message.id, tuple | list):
        return message.id[0], message.id[1]
    return message.id, message.id


def _placeholders(text: str) -> Counter[str]:
    return Counter(match.group(0) for match in PLACEHOLDER.finditer(text) if match.group(0) != "%%")


def _label(message: Message) -> str:
    return repr(_source_forms(message)[0])


@pytest.fixture(scope="module")
def source_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The strings the source marks today, extracted into a temporary .pot with babel.cfg."""
    with MAPPING.open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(MAPPING))
    catalog = Catalog(project="Kuelik")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    pot = tmp_path_factory.mktemp("i18n-extract") / "messages.pot"
    with pot.open("wb") as out:
        write_po(out, catalog)
    with pot.open("rb") as back:
        extracted = read_po(back)
    # A broken mapping would extract nothing and let every check below pass vacuously.
    for known in ("Sign in", "Wrong username or password.", "Username"):
        assert known in extracted, f"extraction with babel.cfg lost {known!r}"
    return extracted


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_source_string_is_translated(source_catalog: Catalog, language: str) -> None:
    catalog = _load(language)
    problems = []
    for message in _entries(source_catalog):
        entry = catalog.get(message.id, context=message.context)
        if entry is None:
            problems.append(f"missing: {_label(message)}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {_label(message)}")
        elif not all(_forms(entry)) or (
            entry.pluralizable and len(_forms(entry)) != catalog.num_plurals
        ):
            problems.append(f"untranslated: {_label(message)}")
    assert not problems, f"{language}: {UPDATE_HINT}\n" + "\n".join(problems)


def test_english_catalog_lists_every_source_string(source_catalog: Catalog) -> None:
    """English is the source: an empty msgstr falls back to the msgid, but the entry must exist."""
    catalog = _load("en")
    missing = [
        _label(message)
        for message in _entries(source_catalog)
        if catalog.get(message.id, context=message.context) is None
    ]
    assert not missing, f"en: {UPDATE_HINT}\n" + "\n".join(missing)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language: str) -> None:
    problems = []
    for entry in _entries(_load(language)):
        source = _source_forms(entry)[1]
        wanted = _placeholders(source)
        # Templates format every string with a mapping (Jinja's newstyle gettext), even without
        # variables: a stray `%` or a renamed placeholder breaks the page, not just the wording.
        values = {match.group("name"): 1 for match in PLACEHOLDER.finditer(source)}
        for form in filter(None, _forms(entry)):
            try:
                form % values
            except (KeyError, ValueError, TypeError) as error:
                problems.append(f"{_label(entry)} -> {form!r}: {error!r}")
                continue
            if _placeholders(form) != wanted:
                problems.append(f"{_label(entry)} -> {form!r}")
    assert not problems, f"{language}: placeholders differ from the msgid\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def compiled_translations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalogs compiled into a temporary folder: the tests need no `make` step first."""
    folder = tmp_path_factory.mktemp("i18n-compiled")
    for language in LANGUAGES:
        target = folder / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        with (target / "messages.mo").open("wb") as mo:
            write_mo(mo, _load(language))
    return folder


@pytest.fixture
def app(database_url: str, clock: FixedClock, compiled_translations: Path) -> Iterator[Flask]:
    """Like tests/views/conftest.py's app, reading the freshly compiled catalogs."""
    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "KUELIK_CLOCK_START": clock,
            "BABEL_TRANSLATION_DIRECTORIES": str(compiled_translations),
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


def _assert_sign_in_page_in(page: str, language: str) -> None:
    assert f'<html lang="{language}">' in page
    assert SIGN_IN[language] in page
    assert USERNAME[language] in page  # a form label: lazy_gettext is resolved per request
    for other in LANGUAGES:
        if other != language:
            assert USERNAME[other] not in page, f"{language} page shows {USERNAME[other]!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_sign_in_page_follows_the_browser_language(app: Flask, language: str) -> None:
    response = app.test_client().get("/login", headers={"Accept-Language": language})
    assert response.status_code == 200
    _assert_sign_in_page_in(response.get_data(as_text=True), language)


def test_sign_in_page_is_kazakh_by_default(app: Flask) -> None:
    page = app.test_client().get("/login").get_data(as_text=True)
    _assert_sign_in_page_in(page, "kk")


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_cookie_beats_the_browser_language(app: Flask, language: str) -> None:
    client = app.test_client()
    client.set_cookie("kuelik_lang", language)
    browser = "en" if language != "en" else "ru"
    page = client.get("/login", headers={"Accept-Language": browser}).get_data(as_text=True)
    _assert_sign_in_page_in(page, language)


def _switch(client: FlaskClient, language: str, next_page: str) -> None:
    page = client.get(next_page).get_data(as_text=True)
    response = client.post(
        f"/language/{language}", data={"csrf_token": csrf_token(page), "next": next_page}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == next_page


def test_language_switch_sets_the_cookie_and_the_next_page_is_russian(app: Flask) -> None:
    client = app.test_client()
    _assert_sign_in_page_in(client.get("/login").get_data(as_text=True), "kk")
    _switch(client, "ru", "/login")
    cookie = client.get_cookie("kuelik_lang")
    assert cookie is not None
    assert cookie.value == "ru"
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    _assert_sign_in_page_in(client.get("/login").get_data(as_text=True), "ru")
    _switch(client, "en", "/login")
    _assert_sign_in_page_in(client.get("/login").get_data(as_text=True), "en")
