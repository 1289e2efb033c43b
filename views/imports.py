"""Starting a queued import job, for the web and the API alike."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.orm import Session

from models import db
from services.audit import Actor
from services.import_jobs import run_import_job


def start_import(actor: Actor, job_id: int) -> None:
    """Run the job, once its row is committed: in a background thread, or (tests) right here.

    The runner takes the database's write lock (on SQLite, for the whole import), so it must
    not start before the request that queued it has committed.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("KUELIK_IMPORTS_INLINE"):
        _run(app, actor, job_id)
    else:
        threading.Thread(target=_run, args=(app, actor, job_id), daemon=True).start()


def _run(app: Flask, actor: Actor, job_id: int) -> None:
    with app.app_context():
        clock = app.extensions["kuelik_clock"]
        try:
            with Session(db.engine) as session:
                run_import_job(session, actor, job_id, Path(app.instance_path), clock.now)
        except Exception:
            # The job row already says failed; the cause goes to the log (no personal data).
            app.logger.exception("import job %s failed", job_id)
