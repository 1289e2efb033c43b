"""The API's machinery: bearer auth, roles, bodies, problems, idempotency, and the route registry.

Every operation is declared once with `operation(...)`: the same declaration routes the request,
checks the role, validates the body and query, replays idempotent POSTs, and feeds the OpenAPI
document. Handlers only translate between JSON and the services, like the web views.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NoReturn

from flask import Blueprint, Response, current_app, g, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from models import ApiToken, IdempotentRequest, Role, User, db
from models.base import table_of
from services.accounts import actor_of, record_access_refused
from services.audit import Actor
from services.cases import ConcurrentChange
from services.errors import InvalidInput, NotFound
from services.tokens import authenticate_token
from views.api.problems import (
    PROBLEM_TYPE,
    Problem,
    field_message,
    problem_response,
    validation_problem,
    violation_problem,
)
from views.api.schemas import ProblemOut
from workflow.errors import RuleViolation

bp = Blueprint("api", __name__, url_prefix="/api/v1")

JSON_TYPE = "application/json"
MAX_IDEMPOTENCY_KEY = 255
KEY_RETENTION = timedelta(days=7)
ALL_ROLES = frozenset(role.value for role in Role)


@dataclass(frozen=True, slots=True)
class Result:
    """What a handler answers: a status, a JSON body (a model) or bytes, and headers.

    `stored` replaces the body kept for idempotent replays (a new token's secret is shown once).
    """

    status: int
    body: BaseModel | bytes | None = None
    content_type: str = JSON_TYPE
    location: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    stored: BaseModel | None = None
    # Work to start once the answer is committed (an import job must not race its own row).
    after_commit: Callable[[], None] | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One API operation, as routed and as documented."""

    method: str
    path: str  # OpenAPI style: /cases/{case_id}
    endpoint: str
    summary: str
    description: str
    tag: str
    roles: frozenset[str] | None  # None: public, no token
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: Mapping[int, type[BaseModel] | str]  # a model, or a media type for files
    path_params: tuple[str, ...]
    body_media_type: str = JSON_TYPE
    refusals: tuple[str, ...] = ()


OPERATIONS: list[Operation] = []
Handler = Callable[..., Result]


def operation(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    roles: frozenset[str] | None,
    responses: Mapping[int, type[BaseModel] | str],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    description: str = "",
    body_media_type: str = JSON_TYPE,
    refusals: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Declare and route an operation; the handler gets `actor`, `body`, `query` and path ids."""

    def decorator(handler: Handler) -> Handler:
        params = tuple(
            part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")
        )
        flask_path = path
        for name in params:
            flask_path = flask_path.replace("{" + name + "}", f"<int:{name}>")
        spec = Operation(
            method=method,
            path=path,
            endpoint=handler.__name__,
            summary=summary,
            description=description or (handler.__doc__ or "").strip(),
            tag=tag,
            roles=roles,
            body=body,
            query=query,
            responses=responses,
            path_params=params,
            body_media_type=body_media_type,
            refusals=refusals,
        )
        OPERATIONS.append(spec)

        def view(**path_values: int) -> Response:
            return _serve(spec, handler, path_values)

        view.__name__ = handler.__name__
        view.__doc__ = handler.__doc__
        bp.add_url_rule(flask_path, handler.__name__, view, methods=[method])
        return handler

    return decorator


# --------------------------------------------------------------------------------------------
# Serving one request
# --------------------------------------------------------------------------------------------


def api_now() -> datetime:
    instant: datetime = current_app.extensions["kuelik_clock"].now()
    return instant


def _serve(spec: Operation, handler: Handler, path_values: dict[str, int]) -> Response:
    try:
        return _serve_checked(spec, handler, path_values)
    except Problem as problem:
        db.session.rollback()
        return problem_response(problem)


def _serve_checked(spec: Operation, handler: Handler, path_values: dict[str, int]) -> Response:
    token = _bearer_token() if spec.roles is not None else None
    user = token.user if token is not None else None
    actor = replace(actor_of(token.user), api_token_id=token.id) if token is not None else None
    if spec.roles is not None:
        assert actor is not None  # noqa: S101 - _bearer_token raised otherwise
        if actor.role not in spec.roles:
            refuse_out_of_scope(actor)
    query = _parse_query(spec.query) if spec.query is not None else None
    body = _parse_body(spec) if spec.body is not None else None
    kwargs: dict[str, Any] = dict(path_values)
    if actor is not None:
        kwargs["actor"] = actor
    if body is not None:
        kwargs["body"] = body
    if query is not None:
        kwargs["query"] = query

    idempotent = spec.method == "POST" and user is not None
    key = _idempotency_key() if idempotent else None
    if user is not None and key is not None:
        fingerprint = _fingerprint()
        if (replay := _claim(user, key, fingerprint)) is not None:
            return replay
    try:
        result = handler(**kwargs)
    except NotFound:
        assert actor is not None  # noqa: S101 - public operations raise no NotFound
        refuse_out_of_scope(actor)
    except InvalidInput as error:
        raise Problem(
            422,
            "invalid_input",
            _("Some fields are not valid."),
            errors=[{"field": error.field, "detail": field_message(error)}],
        ) from error
    except RuleViolation as violation:
        # A refusal that changed nothing but is audited: kept like any other outcome.
        result = problem_result(violation_problem(violation))
    except ConcurrentChange as error:
        raise Problem(
            409,
            "concurrent_change",
            _("Someone else changed this record at the same time. Nothing was saved: retry."),
        ) from error
    response = _to_response(result)
    if user is not None and key is not None:
        _store(user, key, result, response)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            twin = db.session.get(IdempotentRequest, (user.id, key), populate_existing=True)
            if twin is None or not twin.status_code:
                raise
            return _replay(twin)
    else:
        db.session.commit()
    if result.after_commit is not None:
        result.after_commit()
    return response


def refuse_out_of_scope(actor: Actor) -> NoReturn:
    """Out of role or scope: audited, and answered exactly like a record that does not exist."""
    db.session.rollback()
    record_access_refused(db.session, actor, api_now(), request.endpoint or request.path)
    db.session.commit()
    raise Problem(404, "not_found", _("There is no such record."))


def _bearer_token() -> ApiToken:
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    token = None
    if scheme.lower() == "bearer" and secret.strip():
        token = authenticate_token(db.session, secret.strip(), api_now())
    if token is None:
        raise Problem(
            401,
            "unauthenticated",
            _("A valid API token is required: send it as 'Authorization: Bearer <token>'."),
            headers={"WWW-Authenticate": 'Bearer realm="kuelik"'},
        )
    g.api_user = token.user
    return token


def _parse_query(model: type[BaseModel]) -> BaseModel:
    values: dict[str, Any] = {}
    for name in request.args:
        items = request.args.getlist(name)
        values[name] = items[0] if len(items) == 1 else items
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise validation_problem(error, "query") from error


def _parse_body(spec: Operation) -> BaseModel:
    assert spec.body is not None  # noqa: S101 - only called with a body model
    if spec.body_media_type != JSON_TYPE:
        return _parse_upload(spec.body)
    if request.mimetype != JSON_TYPE:
        raise Problem(
            415,
            "unsupported_media_type",
            _("Send the request body as JSON, with 'Content-Type: application/json'."),
        )
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as error:
        raise Problem(400, "malformed_json", _("The request body is not valid JSON.")) from error
    try:
        return spec.body.model_validate(data)
    except ValidationError as error:
        raise validation_problem(error, "body") from error


def _parse_upload(model: type[BaseModel]) -> BaseModel:
    if request.mimetype != "multipart/form-data":
        raise Problem(
            415,
            "unsupported_media_type",
            _("Send the file as multipart/form-data, in a part named 'file'."),
        )
    values: dict[str, Any] = dict(request.form.items())
    values["file"] = request.files.get("file")
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise validation_problem(error, "body") from error


def problem_result(problem: Problem) -> Result:
    """A problem that is an outcome to keep (a recorded refusal), not an error to roll back."""
    return Result(
        problem.status, problem.model(), content_type=PROBLEM_TYPE, headers=problem.headers
    )


def _to_response(result: Result) -> Response:
    if isinstance(result.body, BaseModel):
        payload: bytes = result.body.model_dump_json(
            by_alias=True, exclude_none=isinstance(result.body, ProblemOut)
        ).encode()
    else:
        payload = result.body or b""
    response = Response(payload, status=result.status, content_type=result.content_type)
    if result.location:
        response.headers["Location"] = result.location
    for name, value in result.headers.items():
        response.headers[name] = value
    return response


# --------------------------------------------------------------------------------------------
# Idempotency-Key: the first answer is kept with the action, in the same transaction
# --------------------------------------------------------------------------------------------


def _idempotency_key() -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise Problem(
            400,
            "idempotency_key_missing",
            _(
                "Send an Idempotency-Key header with every POST (a fresh random value per "
                "action, the same value when you retry it)."
            ),
        )
    if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable() or not key.isascii():
        raise Problem(
            400,
            "idempotency_key_invalid",
            _("The Idempotency-Key must be 1 to 255 printable ASCII characters."),
        )
    return key


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    if request.mimetype == "multipart/form-data":
        # The parsed parts, not the raw body: the form parser has spent the raw stream, and a
        # retried upload is framed with a fresh random boundary.
        # A part may come without a name (None): sorting must not compare None with text.
        fields = sorted((name or "", value) for name, value in request.form.items(multi=True))
        digest.update(json.dumps(fields).encode())
        for name, upload in sorted(request.files.items(multi=True), key=lambda item: item[0] or ""):
            content = hashlib.sha256()
            start = upload.stream.tell()
            for chunk in iter(lambda upload=upload: upload.stream.read(65536), b""):
                content.update(chunk)
            upload.stream.seek(start)
            digest.update(json.dumps([name, upload.filename, content.hexdigest()]).encode())
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _claim(user: User, key: str, fingerprint: str) -> Response | None:
    """Replay a finished twin, refuse a reused key, or take the key for this request."""
    _forget_old_keys(user)
    # One statement: a twin in flight makes this wait on its row, then find it answered.
    dialect = db.session.get_bind().dialect.name
    # Core on the session's connection (Core statements through the session take the ORM's
    # bulk path, which costs more than the round trip). Status 0: an answer still to come.
    table = table_of(IdempotentRequest)
    claimed = (
        db.session.connection()
        .execute(
            (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
            .values(
                user_id=user.id,
                key=key,
                fingerprint=fingerprint,
                created_at=api_now(),
                status_code=0,
                content_type="",
                body=b"",
            )
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(table.c.key)
        )
        .scalar()
    )
    if claimed is not None:
        return None
    existing = db.session.get(IdempotentRequest, (user.id, key), populate_existing=True)
    if existing is None:  # pragma: no cover - the twin's row is gone between the two reads
        raise Problem(409, "idempotency_key_in_use", _("The same request is being processed."))
    if existing.fingerprint != fingerprint:
        raise Problem(
            422,
            "idempotency_key_reused",
            _("This Idempotency-Key was already used for a different request."),
        )
    if not existing.status_code:
        raise Problem(409, "idempotency_key_in_use", _("The same request is being processed."))
    response = _replay(existing)
    db.session.commit()
    return response


# Old answers are swept at most this often per user and process, not on every POST.
_SWEEP_INTERVAL = timedelta(minutes=10)


def _forget_old_keys(user: User) -> None:
    """Answers are kept a week: long past any retry, short enough to keep the table small."""
    instant = api_now()
    swept: dict[int, datetime] = current_app.extensions.setdefault("kuelik_idempotency_swept", {})
    last = swept.get(user.id)
    if last is not None and last <= instant < last + _SWEEP_INTERVAL:
        return
    db.session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.user_id == user.id,
            IdempotentRequest.created_at < instant - KEY_RETENTION,
        )
    )
    swept[user.id] = instant


def _store(user: User, key: str, result: Result, response: Response) -> None:
    body = (
        result.stored.model_dump_json(by_alias=True).encode()
        if result.stored is not None
        else response.get_data()
    )
    table = table_of(IdempotentRequest)
    db.session.connection().execute(
        update(table)
        .where(table.c.user_id == user.id, table.c.key == key)
        .values(
            status_code=response.status_code,
            content_type=response.content_type or JSON_TYPE,
            location=result.location,
            body=body,
        )
    )


def _replay(row: IdempotentRequest) -> Response:
    response = Response(row.body, status=row.status_code, content_type=row.content_type)
    if row.location:
        response.headers["Location"] = row.location
    response.headers["Idempotent-Replayed"] = "true"
    return response
