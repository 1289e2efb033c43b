"""The JSON API at /api/v1: the same services, roles and scoping as the web, for programs."""

from __future__ import annotations

from flask import Flask, request

from extensions import csrf
from views.api.core import bp


def is_api_request() -> bool:
    return request.path == "/api/v1" or request.path.startswith("/api/v1/")


def register_api(app: Flask) -> None:
    # Importing the modules registers their operations on the blueprint.
    from views.api import admin, cases, elections, public, reference, users, voting  # noqa: F401

    # Bearer tokens, never cookies, authenticate the API: no cross-site request can carry one.
    csrf.exempt(bp)
    app.register_blueprint(bp)
