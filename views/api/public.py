"""Public operations: certificate verification, the OpenAPI document and its docs page."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from models import Election, db
from services.elections import current_election
from services.ratelimit import take
from services.verification import verify_certificate
from views.api.core import OPERATIONS, Result, api_now, bp, operation
from views.api.problems import Problem, violation_problem
from views.api.schemas import VerifyIn, VerifyOut
from views.api.spec import build_document, problem_codes
from workflow.errors import RefusalCode, RuleViolation
from workflow.numbers import format_certificate_number

VERIFY_LIMIT = 30
VERIFY_WINDOW = timedelta(minutes=1)


def _client_key() -> str:
    """The client, as a keyed digest of its address (an address is personal data too).

    Behind a reverse proxy, configure ProxyFix so that remote_addr is the client's.
    """
    secret = str(current_app.config["SECRET_KEY"]).encode()
    address = (request.remote_addr or "unknown").encode()
    return "verify:" + hmac.new(secret, address, hashlib.sha256).hexdigest()[:48]


@operation(
    "POST",
    "/verify",
    summary="Is this certificate valid? Number + verification code -> valid, used or void",
    tag="public",
    roles=None,
    body=VerifyIn,
    responses={200: VerifyOut},
    refusals=("not_found", "mistyped_number", "too_many_requests"),
    description=(
        "No token, no personal data. A wrong code answers exactly like an unknown number. "
        "Limited per client (30 a minute by default); over the limit: 429 with Retry-After."
    ),
)
def verify(body: VerifyIn) -> Result:
    limit = int(current_app.config.get("KUELIK_VERIFY_LIMIT", VERIFY_LIMIT))
    retry_after = take(db.session, _client_key(), api_now(), limit, VERIFY_WINDOW)
    if retry_after is not None:
        db.session.commit()  # the count is kept even though the answer is a refusal
        raise Problem(
            429,
            "too_many_requests",
            _(
                "Too many verifications from this IP address. Try again in %(seconds)s s.",
                seconds=retry_after,
            ),
            headers={"Retry-After": str(retry_after)},
        )
    election = (
        db.session.scalar(select(Election).where(Election.code == body.election_code))
        if body.election_code is not None
        else current_election(db.session)
    )
    if election is None:
        # Answered like an unknown number: the endpoint tells nothing about what exists.
        db.session.commit()
        unknown = violation_problem(RuleViolation(RefusalCode.NOT_FOUND, "unknown election"))
        unknown.status = 404
        raise unknown
    try:
        serial, status = verify_certificate(
            db.session, election, body.number, body.verification_code
        )
    except RuleViolation as violation:
        db.session.commit()
        problem = violation_problem(violation)
        if violation.code is RefusalCode.NOT_FOUND:
            problem.status = 404
        raise problem from None
    return Result(
        200,
        VerifyOut(
            number=format_certificate_number(serial),
            status=status,
            election_code=election.code,
            voting_day=election.voting_day,
        ),
    )


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document, built from the operations' own declarations."""
    return jsonify(build_document(OPERATIONS))


@bp.get("/docs")
def docs() -> str:
    """The API's reference, rendered here from the same document (no scripts, no CDN)."""
    document = build_document(OPERATIONS)
    return render_template("api/docs.html", document=document, codes=problem_codes())
