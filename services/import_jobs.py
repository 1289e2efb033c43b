"""CSV imports sent over the API, run as jobs: queued, running with progress, done or failed.

The import itself is one transaction (all or nothing, see services.importing); progress cannot be
written to the database meanwhile (SQLite holds its one write lock), so it goes to a small file
beside the upload, which every worker can read.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Election, ImportJob, Placement, Role
from services.audit import Actor
from services.errors import InvalidInput, NotFound
from services.importing import (
    IMPORT_MODES,
    ImportAborted,
    ImportSummary,
    import_precincts,
    import_voters,
)
from services.network import NetworkLocked, require_preparing

MAX_ERROR_LINES = 100
# Progress is written every batch (2,000 rows, well under a second): ten silent minutes is death.
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Progress:
    rows_checked: int
    rows_imported: int


def job_folder(instance: Path) -> Path:
    folder = instance / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_path(instance: Path, job_id: int) -> Path:
    return job_folder(instance) / f"{job_id}.csv"


def _progress_path(instance: Path, job_id: int) -> Path:
    return job_folder(instance) / f"{job_id}.progress.json"


def queue_import(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    election_id: int,
    file_name: str,
    skip_errors: bool,
    now: datetime,
    mode: str = "add",
) -> ImportJob:
    """Record a job for one election, if it may still be imported into (NetworkLocked, or
    NotFound for an election the actor does not manage); the caller saves the upload at
    `upload_path` and starts `run_import_job`."""
    election = session.get(Election, election_id)
    if election is None:
        raise NotFound("election")
    if actor.role == Role.TERRITORIAL.value and not session.scalar(
        select(Placement.id).where(
            Placement.user_id == actor.user_id, Placement.election_id == election.id
        )
    ):
        raise NotFound("election")
    if mode not in IMPORT_MODES:
        raise InvalidInput("mode", f"The mode is one of {', '.join(IMPORT_MODES)}.")
    require_preparing(session, election, now)
    job = ImportJob(
        kind=kind,
        election_id=election.id,
        mode=mode,
        status="queued",
        file_name=file_name[:200] or "upload.csv",
        skip_errors=skip_errors,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def visible_job(session: Session, actor: Actor, job_id: int) -> ImportJob:
    """Admins see every job; others only their own."""
    job = session.get(ImportJob, job_id)
    if job is None or (actor.role != Role.ADMIN.value and job.created_by_id != actor.user_id):
        raise NotFound("import job")
    return job


def settle_if_interrupted(instance: Path, job: ImportJob, now: datetime) -> bool:
    """A job whose worker stopped (restart, crash) would say `running` for ever: once its
    heartbeat (the progress file, rewritten every batch) is older than STALE_AFTER, it is failed.
    The import was one transaction, so nothing of it was written. The caller commits.
    """
    if job.status not in ("queued", "running"):
        return False
    heartbeat = _progress_path(instance, job.id) if job.status == "running" else None
    if heartbeat is None or not heartbeat.exists():
        heartbeat = upload_path(instance, job.id)
    try:
        # File times are the machine's real clock, as is the age they are compared with.
        age = time.time() - heartbeat.stat().st_mtime
    except OSError:
        age = float("inf")
    if age < STALE_AFTER.total_seconds():
        return False
    job.status = "failed"
    job.failure = "interrupted: the server stopped during the import; nothing was imported"
    job.rows_imported = 0
    job.finished_at = now
    for leftover in (upload_path(instance, job.id), _progress_path(instance, job.id)):
        leftover.unlink(missing_ok=True)
    return True


def read_progress(instance: Path, job: ImportJob) -> Progress:
    """The running job's counts from its progress file (the row's own once it has ended)."""
    if job.status != "running":
        return Progress(job.rows_checked, job.rows_imported)
    try:
        data = json.loads(_progress_path(instance, job.id).read_text())
        return Progress(int(data["checked"]), int(data["imported"]))
    except (OSError, ValueError, KeyError):
        return Progress(job.rows_checked, job.rows_imported)


def run_import_job(
    session: Session,
    actor: Actor,
    job_id: int,
    instance: Path,
    clock: Callable[[], datetime],
) -> None:
    """Run one queued job to its end; the upload and the progress file are removed after."""
    job = session.get_one(ImportJob, job_id)
    job.status = "running"
    job.started_at = clock()
    source = upload_path(instance, job_id)
    progress_file = _progress_path(instance, job_id)
    counts = {"checked": 0, "imported": 0}
    progress_file.write_text(json.dumps(counts))  # the first heartbeat
    session.commit()

    def progress(phase: str, rows: int) -> None:
        counts["checked" if phase == "check" else "imported"] += rows
        scratch = progress_file.with_suffix(".tmp")
        scratch.write_text(json.dumps(counts))
        os.replace(scratch, progress_file)

    # Whatever goes wrong (the database away, a bug), the job row ends as failed.
    outcome: dict[str, Any] = {"status": "failed", "failure": "internal error", "summary": None}
    try:
        election = session.get_one(Election, job.election_id)
        # The window may have opened while the job waited in the queue.
        require_preparing(session, election, clock())
        summary = _import(session, actor, job, source, clock(), progress)
        session.commit()
        outcome = {"status": "done", "failure": None, "summary": _summary(summary)}
    except (ImportAborted, NetworkLocked, OSError) as error:
        session.rollback()
        reason = error.message if isinstance(error, InvalidInput) else str(error)
        outcome["failure"] = reason[:500]
    except Exception:
        session.rollback()
        raise
    finally:
        job = session.get_one(ImportJob, job_id, populate_existing=True)
        job.status = outcome["status"]
        job.summary = outcome["summary"]
        job.failure = outcome["failure"]
        job.rows_checked = counts["checked"]
        job.rows_imported = counts["imported"] if outcome["status"] == "done" else 0
        job.finished_at = clock()
        session.commit()
        for leftover in (source, progress_file):
            leftover.unlink(missing_ok=True)


def _import(
    session: Session,
    actor: Actor,
    job: ImportJob,
    source: Path,
    now: datetime,
    progress: Callable[[str, int], None],
) -> ImportSummary:
    assert job.election_id is not None  # noqa: S101 - every queued job names its election
    if job.kind == "precincts":
        return import_precincts(
            session,
            source,
            election_id=job.election_id,
            now=now,
            mode=job.mode,
            skip_errors=job.skip_errors,
            actor=actor,
            progress=progress,
        )
    return import_voters(
        session,
        source,
        election_id=job.election_id,
        now=now,
        mode=job.mode,
        skip_errors=job.skip_errors,
        actor=actor,
        progress=progress,
        commission_ids=actor.territorial_commission_ids
        if actor.role == Role.TERRITORIAL.value
        else None,
    )


def _summary(summary: ImportSummary) -> dict[str, Any]:
    return {
        "read": summary.read,
        "imported": summary.imported,
        "updated": summary.updated,
        "removed": summary.removed,
        "mode": summary.mode,
        "skipped": summary.skipped,
        "invalid": summary.invalid,
        "errors": summary.error_count,
        "file_unreadable": summary.file_unreadable,
        "written": summary.written,
        "created": summary.created,
        "error_lines": [str(error) for error in summary.errors[:MAX_ERROR_LINES]],
    }
