"""Stock of certificate numbers, reconciliation, and CSV imports answered with a job."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, url_for
from sqlalchemy import select

from models import Precinct, Role, StockRange, db
from services.administration import figure_precincts
from services.audit import Actor
from services.figures import territory_figures
from services.import_jobs import (
    queue_import,
    read_progress,
    settle_if_interrupted,
    upload_path,
    visible_job,
)
from services.scope import scoped
from services.stock import Reconciliation, add_stock_range, reconcile
from views.api.convert import election_or_current, page_of, readable_precinct, stock_out
from views.api.core import Result, api_now, operation
from views.api.schemas import (
    ElectionQuery,
    FiguresOut,
    FiguresQuery,
    ImportIn,
    ImportJobOut,
    PrecinctFiguresOut,
    ReconciliationOut,
    StockIn,
    StockList,
    StockOut,
    StockQuery,
    TerritoryReconciliationOut,
)
from views.imports import start_import
from workflow.calendar import Moment

MANAGERS = frozenset({Role.ADMIN.value, Role.TERRITORIAL.value})
FIGURE_READERS = MANAGERS | {Role.OBSERVER.value}
READERS = frozenset({Role.ADMIN.value, Role.TERRITORIAL.value, Role.CLERK.value})


@operation(
    "GET",
    "/stock",
    summary="Ranges of certificate numbers held by the precincts the caller may see",
    tag="stock",
    roles=READERS,
    query=StockQuery,
    responses={200: StockList},
)
def list_stock(actor: Actor, query: StockQuery) -> Result:
    election = election_or_current(actor, query.election_id)
    statement = scoped(select(StockRange), StockRange.precinct_id, actor).where(
        StockRange.election_id == election.id
    )
    if query.precinct_id is not None:
        statement = statement.where(StockRange.precinct_id == query.precinct_id)
    rows, cursor = page_of(statement, StockRange.id, query)
    return Result(200, StockList(items=[stock_out(row) for row in rows], next_after=cursor))


@operation(
    "POST",
    "/stock",
    summary="Hand a range of numbers down to a precinct (its territorial commission or admin)",
    tag="stock",
    roles=MANAGERS,
    body=StockIn,
    responses={201: StockOut},
)
def add_stock(actor: Actor, body: StockIn) -> Result:
    election = election_or_current(actor, body.election_id)
    precinct = db.session.get(Precinct, body.precinct_id)
    zone_name = precinct.time_zone if precinct is not None else "Asia/Almaty"
    stock = add_stock_range(
        db.session,
        actor,
        election_id=election.id,
        precinct_id=body.precinct_id,
        first_serial=body.first_serial,
        last_serial=body.last_serial,
        moment=Moment(api_now(), zone_name),
    )
    return Result(201, stock_out(stock))


def _balance(figures: Reconciliation) -> dict[str, int | bool]:
    return {
        "received": figures.received,
        "issued": figures.issued,
        "spoilt": figures.spoilt,
        "unused": figures.unused,
        "balanced": figures.balanced,
    }


@operation(
    "GET",
    "/precincts/{precinct_id}/reconciliation",
    summary="received = issued + spoilt + unused, for one precinct",
    tag="stock",
    roles=READERS,
    responses={200: ReconciliationOut},
)
def precinct_reconciliation(actor: Actor, precinct_id: int) -> Result:
    precinct = readable_precinct(actor, precinct_id)
    figures = reconcile(db.session, precinct.election_id, [precinct.id])
    return Result(
        200,
        ReconciliationOut(precinct_id=precinct.id, **_balance(figures)),
    )


@operation(
    "GET",
    "/reconciliation",
    summary="received = issued + spoilt + unused over the caller's territory (the country)",
    tag="stock",
    roles=MANAGERS,
    query=ElectionQuery,
    responses={200: TerritoryReconciliationOut},
)
def territory_reconciliation(actor: Actor, query: ElectionQuery) -> Result:
    election = election_or_current(actor, query.election_id)
    ids = [precinct.id for precinct in figure_precincts(db.session, actor, election.id)]
    figures = reconcile(db.session, election.id, None if actor.role == "admin" else ids)
    return Result(
        200,
        TerritoryReconciliationOut(precincts=len(ids), **_balance(figures)),
    )


@operation(
    "GET",
    "/figures",
    summary="Live figures per precinct: issued, taken in, refused, alerts (counts only)",
    tag="reports",
    roles=FIGURE_READERS,
    query=FiguresQuery,
    responses={200: FiguresOut},
)
def figures(actor: Actor, query: FiguresQuery) -> Result:
    election = election_or_current(actor, query.election_id)
    precincts = figure_precincts(db.session, actor, election.id)
    if query.region_kato is not None:
        precincts = [row for row in precincts if row.region.kato == query.region_kato]
    rows = territory_figures(db.session, election, precincts)
    return Result(
        200,
        FiguresOut(
            election_id=election.id,
            items=[
                PrecinctFiguresOut(
                    precinct_id=row.precinct.id,
                    number=row.precinct.number,
                    region_kato=row.precinct.region.kato,
                    issued=row.issued,
                    included_elsewhere=row.included_elsewhere,
                    included_here=row.included_here,
                    refused_attempts=row.refused_attempts,
                    alerts=row.alerts,
                )
                for row in rows
            ],
        ),
    )


def _job_out(job_id: int, actor: Actor) -> ImportJobOut:
    job = visible_job(db.session, actor, job_id)
    instance = Path(current_app.instance_path)
    settle_if_interrupted(instance, job, api_now())
    progress = read_progress(instance, job)
    return ImportJobOut(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]
        election_id=job.election_id,
        mode=job.mode,  # type: ignore[arg-type]
        status=job.status,  # type: ignore[arg-type]
        file_name=job.file_name,
        skip_errors=job.skip_errors,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        rows_checked=progress.rows_checked,
        rows_imported=progress.rows_imported,
        summary=job.summary,
        failure=job.failure,
    )


def _start(actor: Actor, kind: str, body: ImportIn) -> Result:
    job = queue_import(
        db.session,
        actor,
        kind=kind,
        election_id=election_or_current(actor, body.election_id).id,
        file_name=body.file.filename,
        skip_errors=body.skip_errors,
        now=api_now(),
        mode=body.mode,
    )
    instance = Path(current_app.instance_path)
    body.file.save(upload_path(instance, job.id))
    job_id = job.id
    return Result(
        202,
        _job_out(job_id, actor),
        location=url_for("api.get_import", job_id=job_id),
        after_commit=lambda: start_import(actor, job_id),
    )


@operation(
    "POST",
    "/imports/precincts",
    summary="Import precincts from a CSV file (admin): answered with a job",
    tag="imports",
    roles=frozenset({Role.ADMIN.value}),
    body=ImportIn,
    body_media_type="multipart/form-data",
    responses={202: ImportJobOut},
    description="The file format is described in services/importing.py and the README.",
)
def import_precincts_job(actor: Actor, body: ImportIn) -> Result:
    return _start(actor, "precincts", body)


@operation(
    "POST",
    "/imports/voters",
    summary="Import a voter list from a CSV file: answered with a job",
    tag="imports",
    roles=MANAGERS,
    body=ImportIn,
    body_media_type="multipart/form-data",
    responses={202: ImportJobOut},
    description=(
        "A territorial commission imports only for its own precincts; other rows are errors. "
        "All or nothing unless `skip_errors`."
    ),
)
def import_voters_job(actor: Actor, body: ImportIn) -> Result:
    return _start(actor, "voters", body)


@operation(
    "GET",
    "/imports/{job_id}",
    summary="An import job: status, progress, and the summary once it ends",
    tag="imports",
    roles=MANAGERS,
    responses={200: ImportJobOut},
)
def get_import(actor: Actor, job_id: int) -> Result:
    return Result(200, _job_out(job_id, actor))
