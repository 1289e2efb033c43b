"""The check-in API's floor: the same HTTP contract and rows, with nothing above the driver.

    gunicorn 'bench.floor_checkin:create_floor_app()'   (DATABASE_URL as for the app)

`bench_load --modes api,floor` serves this beside the project's own API, on the same gunicorn
settings and driven by the same open-loop client, so the ratio prices what Kuelik adds (ORM,
framework extensions, extra reads, validation) and not HTTP, Python or the database.

Per request, as the project does it: the bearer token (SHA-256) with its user and placement,
the Idempotency-Key claimed before and its answer stored after, in one transaction. The preview
reads the certificate with its case, holder and both precincts' localities; the check-in locks
the case, reads the certificate again, moves case and certificate, writes the audit event, takes
the next supplementary-list line and the inclusion. Bare psycopg, one connection per thread,
statements written out by hand. Only the happy path and the refusals the bench can meet
(unknown token, a used certificate) are answered: it is a measuring stick, not a second server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from flask import Flask, Response, request

from workflow.calendar import Moment
from workflow.numbers import parse_certificate_number

# The bench's voting-day clock, as the project's server gets it from KUELIK_CLOCK_START.
_CLOCK_ENV = "KUELIK_CLOCK_START"

DESK_BY_BEARER = (
    "SELECT t.user_id, p.precinct_id, p.election_id FROM api_token t"
    " JOIN app_user u ON u.id = t.user_id JOIN placement p ON p.user_id = u.id"
    " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND u.active"
)
CLAIM = (
    "INSERT INTO idempotent_request (user_id, key, fingerprint, created_at, status_code,"
    " content_type, body) VALUES (%s, %s, %s, %s, 0, '', '')"
    " ON CONFLICT (user_id, key) DO NOTHING RETURNING key"
)
STORE = (
    "UPDATE idempotent_request SET status_code = %s, content_type = 'application/json',"
    " body = %s WHERE user_id = %s AND key = %s"
)
PRESENTED = (
    "SELECT c.id, c.case_id, c.state, c.verification_code, c.precinct_id, c.issued_at,"
    " v.surname, v.given_name, v.patronymic, v.iin, hl.kato, rl.kato, rr.time_zone"
    " FROM certificate c JOIN voter_entry v ON v.id = c.voter_id"
    " JOIN precinct hp ON hp.id = c.precinct_id JOIN locality hl ON hl.id = hp.locality_id"
    " JOIN precinct rp ON rp.id = %s JOIN locality rl ON rl.id = rp.locality_id"
    " JOIN region rr ON rr.id = rp.region_id"
    " WHERE c.election_id = %s AND c.serial = %s"
)
LOCK_CASE = (
    "SELECT id, state FROM certificate_case WHERE id ="
    " (SELECT case_id FROM certificate WHERE election_id = %s AND serial = %s) FOR UPDATE"
)
MOVE_CASE = (
    "UPDATE certificate_case SET state = 'included', updated_at = %s, version = version + 1"
    " WHERE id = %s AND state = 'issued'"
)
AUDIT = (
    "INSERT INTO audit_event (occurred_at, local_time, time_zone, actor_id, actor_role,"
    " precinct_id, election_id, case_id, certificate_id, event, outcome, before_state,"
    " after_state, payload) VALUES (%s, %s, %s, %s, 'checkin', %s, %s, %s, %s, 'include',"
    " 'accepted', 'issued', 'included', %s)"
)
USE_CERTIFICATE = (
    "UPDATE certificate SET state = 'used', closed_at = %s WHERE id = %s AND state = 'issued'"
)
NEXT_LINE = (
    "INSERT INTO supplementary_list (election_id, precinct_id, last_line) VALUES (%s, %s, 1)"
    " ON CONFLICT (election_id, precinct_id) DO UPDATE"
    " SET last_line = supplementary_list.last_line + 1 RETURNING last_line"
)
INCLUDE = (
    "INSERT INTO inclusion (election_id, certificate_id, precinct_id, line_number, included_at,"
    " included_by_id) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
)


def create_floor_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["DATABASE_URL"]
    clock = os.environ.get(_CLOCK_ENV)
    now = datetime.fromisoformat(clock).astimezone(UTC) if clock else None
    local = threading.local()

    def connection() -> psycopg.Connection[Any]:
        held: psycopg.Connection[Any] | None = getattr(local, "connection", None)
        if held is None or held.closed:
            held = psycopg.connect(url)
            local.connection = held
        return held

    def answer(status: int, body: dict[str, object]) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def present(confirm: bool) -> Response:
        try:
            return present_once(confirm)
        except Exception:
            # Never leave the thread's connection in a failed transaction.
            connection().rollback()
            raise

    def present_once(confirm: bool) -> Response:
        instant = now or datetime.now(UTC)
        secret = request.headers.get("Authorization", "").partition(" ")[2].strip()
        key = request.headers.get("Idempotency-Key", "")
        raw = request.get_data(cache=True)
        body = json.loads(raw)
        fingerprint = hashlib.sha256(b"POST\0" + request.path.encode() + b"\0" + raw).hexdigest()
        db = connection()
        with db.cursor() as cursor:
            cursor.execute(DESK_BY_BEARER, (hashlib.sha256(secret.encode()).hexdigest(), instant))
            desk = cursor.fetchone()
            if desk is None:
                db.rollback()
                return answer(401, {"code": "unauthenticated"})
            user_id, precinct_id, election_id = desk
            cursor.execute(CLAIM, (user_id, key, fingerprint, instant))
            if cursor.fetchone() is None:
                db.rollback()
                return answer(409, {"code": "idempotency_key_in_use"})
            serial = parse_certificate_number(str(body.get("number", ""))).serial
            if confirm:
                cursor.execute(LOCK_CASE, (election_id, serial))
            cursor.execute(PRESENTED, (precinct_id, election_id, serial))
            row = cursor.fetchone()
            if row is None or not hmac.compare_digest(
                row[3], str(body.get("verification_code", ""))
            ):
                db.rollback()
                return answer(422, {"code": "not_found"})
            certificate_id, case_id, state, _code, home_id, issued_at = row[:6]
            surname, given, patronymic, iin, home_kato, stay_kato, zone = row[6:]
            if state != "issued" or home_kato == stay_kato:
                db.rollback()
                return answer(422, {"code": "already_used" if state != "issued" else "same"})
            holder = {
                "full_name": " ".join(part for part in (surname, given, patronymic) if part),
                "iin_masked": iin[:4] + "*" * 6 + iin[-2:],
                "home_precinct_id": home_id,
                "issued_at": issued_at.isoformat(),
            }
            status, out = 200, {"outcome": "may_include", "holder": holder}
            if confirm:
                moment = Moment(instant, zone)
                cursor.execute(MOVE_CASE, (instant, case_id))
                cursor.execute(
                    AUDIT,
                    (instant, moment.local.isoformat(timespec="seconds"), moment.zone_name,
                     user_id, precinct_id, election_id, case_id, certificate_id,
                     json.dumps({"serial": serial, "warnings": [], "api_token_id": 0})),
                )  # fmt: skip
                cursor.execute(USE_CERTIFICATE, (instant, certificate_id))
                cursor.execute(NEXT_LINE, (election_id, precinct_id))
                (line,) = cursor.fetchone() or (0,)
                cursor.execute(
                    INCLUDE, (election_id, certificate_id, precinct_id, line, instant, user_id)
                )
                (inclusion_id,) = cursor.fetchone() or (0,)
                status = 201
                out = {
                    "outcome": "included",
                    "holder": holder,
                    "line_number": line,
                    "inclusion_id": inclusion_id,
                }
            payload = json.dumps(out)
            cursor.execute(STORE, (status, payload.encode(), user_id, key))
        db.commit()
        return Response(payload, status=status, content_type="application/json")

    @app.get("/login")
    def ready() -> str:
        return "floor"

    @app.post("/api/v1/checkin/preview")
    def preview() -> Response:
        return present(confirm=False)

    @app.post("/api/v1/checkin")
    def checkin() -> Response:
        return present(confirm=True)

    return app
