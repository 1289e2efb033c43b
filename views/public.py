"""The public front page: elections, precincts and each precinct's local issue deadline."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from models import Election, Precinct, db
from workflow.calendar import Moment

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    elections = db.session.scalars(select(Election).order_by(Election.voting_day.desc())).all()
    precincts = db.session.scalars(
        select(Precinct).order_by(Precinct.region_id, Precinct.number)
    ).all()
    now = current_app.extensions["kuelik_clock"].now()
    rows = []
    for election in elections:
        rules = election.rules()
        for precinct in precincts:
            opens, deadline = rules.issue_window(precinct.time_zone)
            rows.append(
                {
                    "election": election,
                    "precinct": precinct,
                    "opens": opens,
                    "deadline": deadline,
                    "local_now": Moment(now, precinct.time_zone).local,
                    "open_now": opens <= now < deadline,
                }
            )
    return render_template("public/index.html", elections=elections, rows=rows, now=now)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    db.session.execute(select(1))
    return {"status": "ok"}
