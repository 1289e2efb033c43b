"""How `fixture.json` was made: run once at commit f5fb080, the last schema before elections
became data (migration 0005). Kept for the record; it imports that commit's code and does not run
against later ones.

It builds the 2022 demo, runs a day of cases through the services (in person, by representative,
refused, spoilt and reissued, lost, cancelled, included elsewhere, returned home), then prints
every document twice and keeps, for the second print, both the document's input (the dataclass
handed to `pdf.render_*`, as JSON) and the SHA-256 of its bytes. The migration test loads the
rows into a database at 0005, migrates it to the head and prints the same documents again.

    python tests/models/legacy_2022/make_fixture.py   # at f5fb080, from the project's folder
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from flask_migrate import upgrade
from sqlalchemy import select, text

import services.documents as documents
from app import create_app
from models import (
    Base,
    Certificate,
    CertificateCase,
    Election,
    Locality,
    Precinct,
    User,
    VoterEntry,
    db,
)
from seed.demo import seed_demo
from services import cases
from services.accounts import actor_of
from services.cases import ApplicationInput
from services.clock import FixedClock
from services.sealing import election_seal
from services.voting_day import present_certificate
from workflow.errors import RefusalCode
from workflow.numbers import format_certificate_number
from workflow.rules import Representative
from workflow.states import ApplicantKind

HERE = Path(__file__).resolve().parent
ISSUE_DAY = datetime(2022, 5, 25, 6, 0, tzinfo=UTC)  # 12:00 in Almaty, 11:00 in Oral
VOTING_DAY = datetime(2022, 6, 5, 5, 0, tzinfo=UTC)  # 11:00 in Almaty, 10:00 in Oral
AS_OF = datetime(2022, 6, 5, 16, 0, tzinfo=UTC)


def plain(value: Any) -> Any:
    """JSON with type tags, so dates, times and bytes come back as they were."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="kuelik-legacy-"))
    instance = work / "instance"
    instance.mkdir()
    clock = FixedClock(ISSUE_DAY)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'legacy.sqlite'}",
            "TESTING": True,
            "SECRET_KEY": "legacy-fixture",
            "KUELIK_AUDIT_KEY": "legacy-fixture-audit",
            "KUELIK_CLOCK_START": clock,
        }
    )
    app.instance_path = str(instance)
    with app.app_context():
        upgrade()
        session = db.session()
        seed_demo(session, clock.now(), voter_count=300)
        session.commit()
        run_day(session, clock)
        printed = print_everything(session, Path(app.instance_path))
        session.commit()
        rows = {
            table.name: [
                {key: plain(value) for key, value in row._mapping.items()}
                for row in session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }
        head = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    seal_files = {
        path.name: base64.b64encode(path.read_bytes()).decode()
        for path in sorted(instance.glob("seal-*"))
    }
    fixture = {
        "made_at_revision": head,
        "secret_key": "legacy-fixture",
        "audit_key": "legacy-fixture-audit",
        "as_of": AS_OF.isoformat(),
        "seal_files": seal_files,
        "rows": rows,
        "documents": printed,
    }
    (HERE / "fixture.json").write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n")
    shutil.rmtree(work)


def voters_of(session: Any, precinct: Precinct, count: int) -> list[VoterEntry]:
    return list(
        session.scalars(
            select(VoterEntry)
            .where(VoterEntry.precinct_id == precinct.id)
            .order_by(VoterEntry.id)
            .limit(count)
        )
    )


def run_day(session: Any, clock: FixedClock) -> None:
    election = session.scalar(select(Election))
    users = {user.username: user for user in session.scalars(select(User))}
    clerk, clerk2 = actor_of(users["clerk"]), actor_of(users["clerk2"])
    almaty_41 = session.get_one(Precinct, users["clerk"].precinct_id)
    oral_1 = session.get_one(Precinct, users["clerk2"].precinct_id)
    oral = session.scalar(select(Locality).where(Locality.kato == "271010000"))
    nur_sultan = session.scalar(select(Locality).where(Locality.kato == "710000000"))
    almaty = session.scalar(select(Locality).where(Locality.kato == "750000000"))
    at_41 = voters_of(session, almaty_41, 7)
    at_oral = voters_of(session, oral_1, 1)

    def apply(actor: Any, precinct: Precinct, voter: VoterEntry, stay: Locality, **kw: Any) -> Any:
        outcome = cases.apply_for_certificate(
            session,
            actor,
            ApplicationInput(
                election_id=election.id,
                precinct_id=precinct.id,
                voter_iin=voter.iin,
                applicant_document="ID 0" + voter.iin[-8:],
                stay_locality_id=stay.id,
                representative=kw.get("representative"),
            ),
            clock.now(),
        )
        session.commit()
        clock.advance(timedelta(minutes=7))
        return outcome.case.id

    def issue(actor: Any, case_id: int, handed_to: ApplicantKind | None = None) -> None:
        cases.issue_certificate(session, actor, case_id, clock.now(), handed_to)
        session.commit()
        clock.advance(timedelta(minutes=3))

    in_person = apply(clerk, almaty_41, at_41[0], oral)
    issue(clerk, in_person)
    proxy = Representative(
        iin="900101300017",
        full_name="Сейітов Ерлан Маратұлы",
        identity_document="ID 044455566",
        power_of_attorney_number="17",
        power_of_attorney_date=date(2022, 5, 21),
    )
    by_proxy = apply(clerk, almaty_41, at_41[1], nur_sultan, representative=proxy)
    issue(clerk, by_proxy, ApplicantKind.REPRESENTATIVE)
    refused = apply(clerk, almaty_41, at_41[2], oral)
    cases.refuse_application(
        session, clerk, refused, RefusalCode.OTHER, "Өтініш толтырылмаған", clock.now()
    )
    session.commit()
    apply(clerk, almaty_41, at_41[3], almaty)  # same locality: refused as it is recorded
    spoilt = apply(clerk, almaty_41, at_41[4], oral)
    issue(clerk, spoilt)
    cases.spoil_certificate(session, clerk, spoilt, "printer jam", clock.now())
    session.commit()
    issue(clerk, spoilt)
    lost = apply(clerk, almaty_41, at_41[5], oral)
    issue(clerk, lost)
    cases.report_certificate_lost(session, clerk, lost, "lost on the bus", clock.now())
    session.commit()
    cancelled = apply(clerk, almaty_41, at_41[6], oral)
    issue(clerk, cancelled)
    cases.cancel_certificate(session, clerk, cancelled, "plans changed", clock.now())
    session.commit()
    home = apply(clerk2, oral_1, at_oral[0], almaty)
    issue(clerk2, home)

    clock.instant = VOTING_DAY
    checkin = actor_of(users["checkin"])
    checkin2 = actor_of(users["checkin2"])
    certificates = {
        c.case_id: c for c in session.scalars(select(Certificate).order_by(Certificate.id))
    }

    def present(actor: Any, precinct_id: int, case_id: int, code: str | None = None) -> None:
        certificate = certificates[case_id]
        present_certificate(
            session,
            actor,
            election_id=election.id,
            receiving_precinct_id=precinct_id,
            number_text=format_certificate_number(certificate.serial),
            verification_code=code or certificate.verification_code,
            now=clock.now(),
        )
        session.commit()
        clock.advance(timedelta(minutes=11))

    present(checkin, users["checkin"].precinct_id, in_person)
    present(checkin, users["checkin"].precinct_id, in_person)  # already used
    present(checkin2, users["checkin2"].precinct_id, by_proxy)
    present(checkin2, users["checkin2"].precinct_id, lost)  # void
    present(clerk2, oral_1.id, home)  # back home


def print_everything(session: Any, instance: Path) -> dict[str, Any]:
    """Print each document twice; keep the second print's input and the hash of its bytes."""
    election = session.scalar(select(Election))
    seal = election_seal(instance, election.code)
    actor = actor_of(session.scalar(select(User).where(User.username == "clerk")))
    captured: list[Any] = []

    def spy(name: str) -> None:
        original = getattr(documents, name)

        def wrapper(*args: Any) -> bytes:
            materialised = [list(arg) if hasattr(arg, "__next__") else arg for arg in args]
            captured.append(materialised)
            return bytes(original(*materialised))

        setattr(documents, name, wrapper)

    for name in (
        "render_certificate",
        "render_refusal_notice",
        "render_register",
        "render_supplementary_list",
        "render_reconciliation_act",
    ):
        spy(name)

    def twice(produce: Any) -> dict[str, Any]:
        produce()
        captured.clear()
        body = produce()
        return {"input": plain(captured[-1]), "sha256": hashlib.sha256(body).hexdigest()}

    out: dict[str, Any] = {"certificates": {}, "refusals": {}, "registers": {}, "supplementary": {}}
    for certificate in session.scalars(select(Certificate).order_by(Certificate.id)):
        out["certificates"][str(certificate.id)] = twice(
            lambda c=certificate: documents.print_certificate(
                session, actor, c.case, c, seal, AS_OF
            )
        )
    reasons = ("Бас тарту себебі", "Причина отказа")
    for case in session.scalars(
        select(CertificateCase).where(CertificateCase.refusal_code.is_not(None))
    ):
        out["refusals"][str(case.id)] = twice(
            lambda c=case: documents.print_refusal(session, actor, c, reasons, AS_OF)
        )
    precincts = list(session.scalars(select(Precinct).order_by(Precinct.id)))
    for precinct in precincts:
        out["registers"][str(precinct.id)] = twice(
            lambda p=precinct: documents.print_register(session, election, p)
        )
        out["supplementary"][str(precinct.id)] = twice(
            lambda p=precinct: documents.print_supplementary_list(session, election, p)
        )
    out["reconciliation"] = twice(
        lambda: documents.print_reconciliation(session, election, precincts, AS_OF)
    )
    return out


if __name__ == "__main__":
    main()
