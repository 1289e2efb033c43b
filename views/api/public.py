"""Public operations: certificate verification, the OpenAPI document and its docs page."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from models import db
from services.ratelimit import take
from services.verification import verify_certificate
from views.api.core import OPERATIONS, Result, api_now, bp, operation
from views.api.problems import Problem, violation_problem
from views.api.schemas import VerifyIn, VerifyOut
from views.api.spec import build_document, problem_codes
from workflow.errors import RefusalCode, RuleViolation

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
    try:
        verified = verify_certificate(
            db.session, body.number, body.verification_code, body.election_code
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
            number=verified.number,
            status=verified.status,
            election_code=verified.election.code,
            voting_day=verified.election.voting_day,
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
