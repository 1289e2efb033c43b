"""Errors as RFC 9457 problem details: a stable `code`, a `detail` in the caller's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError

from services.errors import InvalidInput
from views.api.schemas import FieldError, ProblemOut
from views.messages import violation_text
from workflow.errors import RefusalCode, RuleViolation

PROBLEM_TYPE = "application/problem+json"
# The problem type names the code; the docs page lists every code under this anchor.
TYPE_BASE = "/api/v1/docs#problem-"

# Refusals that contradict the record's current state are conflicts; the rest are rule refusals.
CONFLICTS = frozenset(
    {RefusalCode.ALREADY_ISSUED, RefusalCode.ALREADY_USED, RefusalCode.INVALID_TRANSITION}
)

# Services explain bad input in English; these are the words the caller reads.
INPUT_MESSAGES = {
    "Choose the place of stay from the list.": _l("There is no locality with this id."),
    "The voter applied in person: hand it to the voter.": _l(
        "The voter applied in person: hand the certificate to the voter, not to a representative."
    ),
    "A range runs from a first to a last serial, 1 or more.": _l(
        "A range runs from a first to a last serial, 1 or more."
    ),
    "This range overlaps numbers already handed out.": _l(
        "This range overlaps numbers already handed out."
    ),
    "Too many tokens: revoke one you no longer use.": _l(
        "Too many tokens: revoke one you no longer use."
    ),
}


class Problem(Exception):
    """An answer that is not a success, raised anywhere in a handler."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def model(self) -> ProblemOut:
        return ProblemOut(
            type=TYPE_BASE + self.code,
            title=_title(self.status),
            status=self.status,
            code=self.code,
            detail=self.detail,
            errors=None if self.errors is None else [FieldError(**item) for item in self.errors],
            **self.extra,
        )


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Unauthenticated",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        413: "Content too large",
        415: "Unsupported media type",
        422: "Refused",
        429: "Too many requests",
        500: "Internal error",
        503: "Service unavailable",
    }.get(status, "Error")


def problem_response(problem: Problem) -> Response:
    body = problem.model().model_dump_json(exclude_none=True)
    response = Response(body, status=problem.status, content_type=PROBLEM_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def plain_problem(status: int) -> Response:
    """For errors raised outside an operation (unknown path, wrong method, database away)."""
    detail = {
        404: _("There is no such record."),
        409: _("Someone else changed this record at the same time. Nothing was saved: retry."),
        405: _("This address does not accept that request."),
        413: _("What you sent is too large."),
        500: _("Something went wrong. Nothing was saved; if it happens again, call support."),
        503: _("The database is not answering. Nothing was saved: retry in a moment."),
    }.get(status, _("The request could not be understood."))
    code = {
        404: "not_found",
        405: "method_not_allowed",
        409: "concurrent_change",
        413: "too_large",
        500: "internal_error",
        503: "unavailable",
    }.get(status, "bad_request")
    return problem_response(Problem(status, code, detail))


def violation_problem(violation: RuleViolation, **extra: Any) -> Problem:
    """A legal refusal: 409 when the record's state stands in the way, 422 otherwise."""
    status = 409 if violation.code in CONFLICTS else 422
    return Problem(status, str(violation.code), violation_text(violation), extra=extra)


def field_message(error: InvalidInput) -> str:
    message = INPUT_MESSAGES.get(error.message)
    return str(message) if message is not None else _("This value is not accepted.")


def _field_name(location: tuple[int | str, ...], where: str) -> str:
    path = ".".join(str(part) for part in location)
    return path or where


def validation_problem(error: ValidationError, where: str) -> Problem:
    """Each field at fault, with a message in the caller's language (pydantic's are English)."""
    items = []
    for detail in error.errors(include_url=False, include_input=False):
        items.append(
            {
                "field": _field_name(tuple(detail["loc"]), where),
                "detail": _pydantic_message(detail["type"], detail.get("ctx") or {}),
            }
        )
    return Problem(422, "invalid_input", _("Some fields are not valid."), errors=items)


def _pydantic_message(kind: str, ctx: Mapping[str, Any]) -> str:
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not known.")
    if kind in ("string_too_short",):
        return _("Fill this field in.")
    if kind == "string_too_long":
        return _("At most %(count)s characters.", count=ctx.get("max_length", ""))
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("A whole number is expected.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("The number is too small.")
    if kind in ("less_than_equal", "less_than"):
        return _("The number is too large.")
    if kind in ("bool_type", "bool_parsing"):
        return _("true or false is expected.")
    if kind in (
        "date_type",
        "date_parsing",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
    ):
        return _("A date YYYY-MM-DD is expected.")
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", ""))
        return _("Choose one of: %(choices)s.", choices=expected)
    if kind in ("string_type", "model_type", "model_attributes_type", "dict_type", "list_type"):
        return _("This value has the wrong type.")
    if kind == "value_error":
        error = ctx.get("error")
        reason = str(error) if error is not None else ""
        return INPUT_REASONS.get(reason, _l("This value is not accepted.")).__str__()
    return _("This value is not accepted.")


# Reasons raised by the schemas' own validators (English in code, translated here).
INPUT_REASONS = {
    "control_characters": _l("Control characters are not allowed here."),
    "invalid_iin": _l("The IIN is not valid: 12 digits with a correct check digit."),
    "file_missing": _l("Attach the CSV file in a part named 'file'."),
    "one_of_iin_or_name": _l("Send either `iin` or `name`, not both."),
    "one_of_number_or_qr": _l(
        "Send either the number with its verification code, or the QR text, not both."
    ),
}
