"""The OpenAPI 3.1 document, generated from the operations' declarations and pydantic models."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from views.api.core import MAX_IDEMPOTENCY_KEY, Operation
from views.api.problems import CONFLICTS
from views.api.schemas import ProblemOut
from workflow.errors import RefusalCode

REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"

# Problems any operation may answer besides its own refusals, by status.
ERRORS_OF_ALL = {
    400: "Malformed request: invalid JSON, or a missing or invalid Idempotency-Key on a POST.",
    404: "Not found, or outside the caller's role or scope (the two look the same).",
    405: "This path does not accept the method.",
    413: "The request body is too large.",
    503: "The database is not answering: nothing was saved, retry.",
}

# Refusal codes answered with a status of their own (409 or 429), never 422.
OWN_STATUS_REFUSALS = frozenset(str(code) for code in CONFLICTS) | {
    "nothing_to_print",
    "too_many_requests",
}
# After trimming: 1 to 255 printable ASCII characters, at least one of them not a blank.
IDEMPOTENCY_KEY_PATTERN = r"^[ -~]*[!-~][ -~]*$"

# Codes that are not refusals of the rules: transport, input and concurrency.
OTHER_CODES = {
    "unauthenticated": "No valid bearer token.",
    "invalid_input": "A field is missing or malformed; `errors` names each field.",
    "invalid_election": "The election's data or the change is refused; `errors` names each "
    "field (the calendar's checks, a correction without its reason, a field frozen once the "
    "window opened, a closed election).",
    "malformed_json": "The body is not JSON.",
    "unsupported_media_type": "The body is not of the declared media type.",
    "idempotency_key_missing": "A POST came without an Idempotency-Key header.",
    "idempotency_key_invalid": "The Idempotency-Key is empty, too long or not printable ASCII.",
    "idempotency_key_reused": "The key was already used for a different request.",
    "idempotency_key_in_use": "The first request with this key is still being processed.",
    "concurrent_change": "Another request changed the record first; nothing was saved.",
    "nothing_to_print": "The case has no issued certificate to print.",
    "too_many_requests": "Over the rate limit; see Retry-After.",
    "method_not_allowed": "The path does not accept the method.",
    "too_large": "The body is too large.",
    "unavailable": "The database is not answering.",
    "internal_error": "A bug; nothing was saved.",
    "bad_request": "The request could not be understood.",
}


def problem_codes() -> list[tuple[str, str]]:
    """Every `code` a problem may carry, for the docs page."""
    from views.messages import REFUSALS

    codes = [(str(code), str(REFUSALS[code])) for code in RefusalCode]
    return codes + sorted(OTHER_CODES.items())


def _models(operations: Iterable[Operation]) -> list[tuple[type[BaseModel], str]]:
    """Inputs in validation mode, answers in serialization mode: one schema name each."""
    seen: dict[str, tuple[type[BaseModel], str]] = {"ProblemOut": (ProblemOut, "serialization")}
    for op in operations:
        for model in (op.body, op.query):
            if model is not None:
                seen[model.__name__] = (model, "validation")
        for answer in op.responses.values():
            if isinstance(answer, type) and issubclass(answer, BaseModel):
                seen[answer.__name__] = (answer, "serialization")
    return list(seen.values())


@cache
def _schemas(models: tuple[tuple[type[BaseModel], str], ...]) -> dict[str, Any]:
    _keys, document = models_json_schema(list(models), ref_template=REF)  # type: ignore[arg-type]
    definitions: dict[str, Any] = document.get("$defs", {})
    return definitions


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _ref(ProblemOut)}}}


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = schemas[model.__name__]
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": _not_null(prop),
                **({"description": prop["description"]} if "description" in prop else {}),
            }
        )
    return parameters


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is absent, never null: drop the null branch of anyOf."""
    schema = {key: value for key, value in prop.items() if key not in ("title", "description")}
    branches = [item for item in schema.get("anyOf", []) if item != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        del schema["anyOf"]
        schema.update(branches[0])
    if schema.get("default") is None:
        schema.pop("default", None)
    return schema


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        }
        for name in op.path_params
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query, schemas)
    authenticated = op.roles is not None
    if op.method == "POST" and authenticated:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "description": "A fresh random value per action; the same value on a retry.",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_IDEMPOTENCY_KEY,
                    "pattern": IDEMPOTENCY_KEY_PATTERN,
                },
            }
        )
    responses: dict[str, Any] = {}
    for status, answer in op.responses.items():
        if isinstance(answer, str):
            responses[str(status)] = {
                "description": "A document.",
                "content": {answer: {"schema": {"type": "string", "format": "binary"}}},
            }
        else:
            responses[str(status)] = {
                "description": "Success.",
                "content": {"application/json": {"schema": _ref(answer)}},
            }
            if status in (201, 202):
                # A job always names itself; not every creation has an address of its own.
                responses[str(status)]["headers"] = {
                    "Location": {"schema": {"type": "string"}, "required": status == 202}
                }
    for status, description in ERRORS_OF_ALL.items():
        responses[str(status)] = _problem_response(description)
    if authenticated:
        responses["401"] = _problem_response("No valid bearer token.")
        responses["401"]["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string"}, "required": True}
        }
    unprocessable = []
    if op.body is not None or op.query is not None:
        unprocessable.append("invalid input (`invalid_input`, with `errors`)")
    if any(code not in OWN_STATUS_REFUSALS for code in op.refusals):
        unprocessable.append("a refusal of the rules")
    if op.method == "POST" and authenticated:
        unprocessable.append(
            "an Idempotency-Key already used for a different request (`idempotency_key_reused`)"
        )
    if unprocessable:
        text = ", or ".join(unprocessable)
        responses["422"] = _problem_response(text[0].upper() + text[1:] + ".")
    if op.body is not None:
        responses["415"] = _problem_response("The body is not of the declared media type.")
    conflicts = {str(code) for code in CONFLICTS} | {"nothing_to_print"}
    if (op.method == "POST" and authenticated) or conflicts & set(op.refusals):
        responses["409"] = _problem_response(
            "The record's state stands in the way (already issued or used, invalid transition, "
            "nothing to print), or the same Idempotency-Key is still being processed."
        )
    if "too_many_requests" in op.refusals:
        responses["429"] = _problem_response("Too many requests; see Retry-After.")
        responses["429"]["headers"] = {
            "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "required": True}
        }
    roles = "anyone, no token" if op.roles is None else ", ".join(sorted(op.roles))
    description = op.description
    description += f"\n\nRoles: {roles}."
    if op.refusals:
        description += " Refusal codes: " + ", ".join(f"`{code}`" for code in op.refusals) + "."
    document: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "description": description.strip(),
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
        "security": [{"bearer": []}] if authenticated else [],
    }
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {op.body_media_type: {"schema": _ref(op.body)}},
        }
    return document


def build_document(operations: list[Operation]) -> dict[str, Any]:
    """OpenAPI 3.1: paths from the registry, components from the pydantic models."""
    schemas = _schemas(tuple(_models(operations)))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kuelik API",
            "version": "1.0.0",
            "summary": "Absentee vote certificates: the desk, voting day and verification.",
            "description": (
                "Bearer tokens per user (`Authorization: Bearer <token>`); every POST takes an "
                "`Idempotency-Key`. Errors are RFC 9457 problem details with a stable `code` and "
                "a `detail` in the language of Accept-Language (kk, ru, en; default en). "
                "Anything outside the caller's role or scope answers 404."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
