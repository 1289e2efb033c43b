"""Language: the user's choice (cookie, then account), else the browser's, else Kazakh."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, request, url_for
from flask_login import current_user

from models import db
from views.web import safe_next

LANGUAGES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LANGUAGE_COOKIE = "kuelik_lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    if request.path.startswith("/api/"):
        # Programs say what they read in Accept-Language; English unless they ask otherwise.
        return request.accept_languages.best_match(list(LANGUAGES)) or "en"
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    if current_user.is_authenticated and current_user.language in LANGUAGES:
        return str(current_user.language)
    return request.accept_languages.best_match(list(LANGUAGES)) or "kk"


def select_timezone() -> str:
    """Pages show times on the precinct's wall clock; this is only the fallback."""
    return "Asia/Almaty"


@bp.post("/language/<code>")
def set_language(code: str) -> Response:
    if code not in LANGUAGES:
        code = "kk"
    target = request.form.get("next") or ""
    if not target and request.referrer:
        parts = urlsplit(request.referrer)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    # Only our own paths: an open redirect would let a link send a clerk elsewhere.
    response = redirect(safe_next(target) or url_for("public.index"))
    response.set_cookie(
        LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
    )
    if current_user.is_authenticated:
        current_user.language = code
        db.session.commit()
    return response
