"""The public front page: elections, and each clock's local issue window and voting hours."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from models import Election, db
from services.elections import network_zones, phase_of
from workflow.calendar import Moment

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    """Every election, newest first, with its window on each time zone of its network."""
    elections = db.session.scalars(
        select(Election).order_by(Election.voting_day.desc(), Election.id.desc())
    ).all()
    now = current_app.extensions["kuelik_clock"].now()
    rows = []
    phases = {}
    for election in elections:
        rules = election.rules()
        phases[election.id] = phase_of(db.session, election, now)
        for zone_name in network_zones(db.session, election.id):
            opens, deadline = rules.issue_window(zone_name) if rules.has_window else (None, None)
            rows.append(
                {
                    "election": election,
                    "zone": zone_name,
                    "opens": opens,
                    "deadline": deadline,
                    "local_now": Moment(now, zone_name).local,
                    "open_now": opens is not None
                    and deadline is not None
                    and opens <= now < deadline,
                }
            )
    return render_template(
        "public/index.html", elections=elections, rows=rows, now=now, phases=phases
    )


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    db.session.execute(select(1))
    return {"status": "ok"}
