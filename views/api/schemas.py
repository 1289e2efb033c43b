"""The API's request and response shapes (pydantic): they validate input and make the document.

Like forms/, these check shape and format only; every legal rule stays in workflow/.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from workflow.errors import MANUAL_REFUSAL_CODES
from workflow.states import ApplicantKind, CaseState, CertificateState

# C0 and C1 controls, and the bidirectional overrides and isolates that can make a printed
# name read differently from what is stored.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _no_controls(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control_characters")
    return value


def text(max_length: int, min_length: int = 1) -> Any:
    """One line of text: blanks trimmed, no control characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_controls),
    ]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Every instant in an answer is in UTC ("Z"), whatever clock or row it came from.
Instant = Annotated[datetime, AfterValidator(_utc)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
# Twelve digits; the check digit is the rules' business (a wrong one is refused as invalid_iin).
IinDigits = Annotated[str, Field(pattern=r"^[0-9]{12}$", examples=["900101300017"])]
ManualRefusal = Literal[tuple(sorted(code.value for code in MANUAL_REFUSAL_CODES))]  # type: ignore[valid-type]


class Strict(BaseModel):
    """Unknown fields are refused: a typo in a field name must not pass silently."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="The field at fault, e.g. 'representative.iin' or 'query'.")
    detail: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details, with the stable `code` of the refusal or error."""

    type: str
    title: str
    status: int
    code: str = Field(description="Stable snake_case code: the refusal codes of domain.md §6.")
    detail: str = Field(description="What went wrong, in the language of Accept-Language.")
    errors: list[FieldError] | None = None
    case_id: int | None = Field(None, description="The case recorded for a refused application.")
    hints: list[str] | None = Field(None, description="What to tell the voter (check-in).")


# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------


class PlacementOut(BaseModel):
    election_id: int
    precinct_id: int | None
    territorial_commission_id: int | None


class MeOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    precinct_id: int | None = Field(description="Where the user works in the current election.")
    territorial_commission_id: int | None
    current_election_id: int | None
    placements: list[PlacementOut] = Field(
        description="Where the user works, election by election."
    )


ElectionKindValue = Literal[
    "referendum", "presidential", "mazhilis", "maslikhat", "by_election", "senate"
]
Phase = Literal["preparing", "issuing", "awaiting_vote", "voting", "closed"]
# Local wall-clock times travel as HH:MM.
WallClock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["18:00"])]


class CorrectionOut(BaseModel):
    at: Instant
    reason: str
    changed: dict[str, list[Any]] = Field(description="Each field's value before and after.")


class ElectionOut(BaseModel):
    id: int
    code: str
    kind: ElectionKindValue
    number_series: str | None = Field(
        description="Printed before every certificate number (none for the 2022 referendum)."
    )
    name_kk: str
    name_ru: str
    name_en: str
    voting_day: date
    issue_opens_on: date | None
    issue_opens_at: str = Field(description="Local time of the issuing precinct, HH:MM.")
    issue_deadline_on: date | None
    issue_deadline_at: str = Field(description="Local time of the issuing precinct, HH:MM.")
    voting_opens_at: str
    voting_closes_at: str
    allow_surrender: bool
    allow_return_home: bool
    refuse_inclusion_in_home_locality: bool
    proxy_warning_threshold: int
    phase: Phase
    current: bool
    corrections: list[CorrectionOut]


class NetworkIn(Strict):
    """Where a new election's places come from: a shipped map, or a copy of another election."""

    map: Literal["kz-2022", "kz-2026"] | None = Field(
        None, description="Regions as of June 2022 or March 2026 (then import the precincts)."
    )
    copy_from: Id | None = Field(None, description="Copy every place of this election.")
    with_staff: bool = Field(True, description="With a copy: place its staff here too.")

    @model_validator(mode="after")
    def _one_source(self) -> NetworkIn:
        if (self.map is None) == (self.copy_from is None):
            raise ValueError("one_of_map_or_copy")
        return self


class ElectionIn(Strict):
    """A new election; every Policy has its default (domain.md §6)."""

    code: text(40)  # type: ignore[valid-type]
    kind: ElectionKindValue = "referendum"
    name_kk: text(300)  # type: ignore[valid-type]
    name_ru: text(300)  # type: ignore[valid-type]
    name_en: text(300)  # type: ignore[valid-type]
    voting_day: date
    issue_opens_on: date | None = None
    issue_opens_at: WallClock = "00:00"
    issue_deadline_on: date | None = None
    issue_deadline_at: WallClock = "18:00"
    voting_opens_at: WallClock = "07:00"
    voting_closes_at: WallClock = "20:00"
    number_series: text(4) | None = Field(None, description="Four digits; default: chosen.")  # type: ignore[valid-type]
    allow_surrender: bool = True
    allow_return_home: bool = True
    proxy_warning_threshold: int = Field(3, ge=0, le=1000)
    refuse_inclusion_in_home_locality: bool = True
    network: NetworkIn | None = Field(None, description="Default: an empty network.")


class ElectionPatch(Strict):
    """Any fields to change; once the window has opened, a correction needs its `reason`."""

    code: text(40) | None = None  # type: ignore[valid-type]
    kind: ElectionKindValue | None = None
    name_kk: text(300) | None = None  # type: ignore[valid-type]
    name_ru: text(300) | None = None  # type: ignore[valid-type]
    name_en: text(300) | None = None  # type: ignore[valid-type]
    voting_day: date | None = None
    issue_opens_on: date | None = None
    issue_opens_at: WallClock | None = None
    issue_deadline_on: date | None = None
    issue_deadline_at: WallClock | None = None
    voting_opens_at: WallClock | None = None
    voting_closes_at: WallClock | None = None
    number_series: text(4) | None = None  # type: ignore[valid-type]
    allow_surrender: bool | None = None
    allow_return_home: bool | None = None
    proxy_warning_threshold: int | None = Field(None, ge=0, le=1000)
    refuse_inclusion_in_home_locality: bool | None = None
    reason: text(1000, 0) = ""  # type: ignore[valid-type]


RoleValue = Literal["admin", "territorial", "clerk", "checkin", "observer"]


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: RoleValue
    active: bool
    placements: list[PlacementOut]


class UserList(BaseModel):
    items: list[UserOut]


class UserIn(Strict):
    """A new account; clerks and check-in staff are placed at a precinct, territorial staff at
    a commission (either names its election); the password is at least 10 characters."""

    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,80}$")]
    full_name: text(300)  # type: ignore[valid-type]
    role: RoleValue
    password: Annotated[str, Field(min_length=10, max_length=200)]
    precinct_id: Id | None = None
    territorial_commission_id: Id | None = None


class PlacementIn(Strict):
    """Place a user in one more election (or move them within it): a precinct or a commission."""

    precinct_id: Id | None = None
    territorial_commission_id: Id | None = None


class MoveVoterIn(Strict):
    """Re-listing: the voter goes to another precinct's list of the same election."""

    to_precinct_id: Id
    reason: text(500)  # type: ignore[valid-type]


class NetworkOut(BaseModel):
    regions: int
    localities: int
    districts: int
    commissions: int
    precincts: int
    placements: int
    unmatched_staff: list[str] = Field(description="Usernames with no matching place here.")


class StaffCarryIn(Strict):
    source_election_id: Id


class AllotIn(Strict):
    per_precinct: int = Field(ge=1, le=100_000)
    first_serial: int | None = Field(None, ge=1, le=99_999_999)


class AllotOut(BaseModel):
    ranges: int
    first: int = Field(description="First serial handed down (0 when nothing was).")
    last: int


class ElectionList(BaseModel):
    items: list[ElectionOut]


class LocalityOut(BaseModel):
    id: int
    kato: str
    region_id: int
    name_kk: str
    name_ru: str
    kind: str


class PrecinctOut(BaseModel):
    id: int
    number: int
    region_id: int
    region_kato: str
    locality: LocalityOut
    district_id: int | None
    territorial_commission_id: int
    address_kk: str
    address_ru: str
    time_zone: str


class Page(Strict):
    after: Id | None = Field(None, description="Return records with an id above this one.")
    limit: int = Field(100, ge=1, le=500)


class PrecinctQuery(Page):
    election_id: Id | None = Field(None, description="Default: the caller's current election.")
    region_kato: Annotated[str, Field(pattern=r"^[0-9]{9}$")] | None = None
    number: Id | None = None


class PrecinctList(BaseModel):
    items: list[PrecinctOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null at the end."
    )


class LocalityQuery(Page):
    election_id: Id | None = Field(None, description="Default: the caller's current election.")
    region_kato: Annotated[str, Field(pattern=r"^[0-9]{9}$")] | None = None
    name: text(100) | None = None  # type: ignore[valid-type]


class LocalityList(BaseModel):
    items: list[LocalityOut]
    next_after: int | None


# ---------------------------------------------------------------------------------------------
# Voters and cases
# ---------------------------------------------------------------------------------------------


class VoterLookupIn(Strict):
    """Exactly one of `iin` (exact) or `name` (forgiving, word by word)."""

    election_id: Id | None = Field(None, description="Default: the current election.")
    iin: IinDigits | None = None
    name: text(200) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _one_way(self) -> VoterLookupIn:
        if (self.iin is None) == (self.name is None):
            raise ValueError("one_of_iin_or_name")
        return self


class VoterOut(BaseModel):
    id: int
    election_id: int
    precinct_id: int
    iin_masked: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: date
    address: str
    marked_with: str | None = Field(description="The certificate number marked in the home list.")
    live_case_id: int | None


class PrecinctRef(BaseModel):
    id: int
    number: int
    region_kato: str
    address_ru: str
    address_kk: str


class VoterLookupOut(BaseModel):
    voters: list[VoterOut]
    apply_at: PrecinctRef | None = Field(
        description="For an IIN on another precinct's list: where the voter must apply."
    )
    truncated: bool = Field(
        description="More voters matched than the page holds (50): narrow the search. Within a "
        "precinct the page holds the first in alphabetical order; across a territory or the "
        "country, the first found, in alphabetical order."
    )


class RepresentativeIn(Strict):
    iin: IinDigits
    full_name: text(300)  # type: ignore[valid-type]
    power_of_attorney_number: text(100, min_length=0)  # type: ignore[valid-type]
    power_of_attorney_date: date | None = None


class ApplicationIn(Strict):
    """An application, in person (no `representative`) or by a representative."""

    election_id: Id | None = Field(None, description="Default: the current election.")
    precinct_id: Id | None = Field(None, description="Default: the caller's precinct.")
    voter_iin: IinDigits
    applicant_document: text(200) = Field(  # type: ignore[valid-type]
        description="The identity document shown: the voter's, or the representative's."
    )
    stay_locality_id: Id = Field(description="Where the voter will stay (GET /localities).")
    representative: RepresentativeIn | None = None


class CertificateOut(BaseModel):
    id: int
    number: str = Field(examples=["00000001-7"])
    serial: int
    state: CertificateState
    case_id: int
    precinct_id: int
    election_id: int
    handed_to: ApplicantKind
    issued_at: Instant
    closed_at: Instant | None


class RepresentativeOut(BaseModel):
    iin_masked: str
    full_name: str
    power_of_attorney_number: str | None
    power_of_attorney_date: date | None


class CaseOut(BaseModel):
    id: int
    election_id: int
    precinct_id: int
    state: CaseState
    voter_id: int | None
    voter_iin_masked: str
    voter_name: str | None
    applicant_kind: ApplicantKind
    representative: RepresentativeOut | None
    stay_locality_id: int
    refusal_code: str | None
    refusal_note: str | None
    created_at: Instant
    updated_at: Instant
    certificate: CertificateOut | None = Field(description="The live certificate, if any.")
    warnings: list[str] = Field(default_factory=list)
    verification_code: str | None = Field(
        None,
        description="In the answer to issue only: the code printed beside the number.",
    )


class CaseQuery(Page):
    precinct_id: Id | None = None
    election_id: Id | None = None
    state: CaseState | None = None


class CaseList(BaseModel):
    items: list[CaseOut]
    next_after: int | None


class EventOut(BaseModel):
    id: int
    occurred_at: Instant
    local_time: str
    time_zone: str
    event: str
    outcome: str
    code: str | None
    before: str | None
    after: str | None
    actor_role: str


class EventList(BaseModel):
    items: list[EventOut]


class RefuseIn(Strict):
    code: ManualRefusal  # type: ignore[valid-type]
    note: text(1000, min_length=0) = ""  # type: ignore[valid-type]


class ReasonIn(Strict):
    reason: text(500, min_length=0) = Field(  # type: ignore[valid-type]
        "", description="Required by the rules for spoil, lost and cancel (else reason_required)."
    )


class IssueIn(Strict):
    handed_to: Literal["voter", "representative"] | None = Field(
        None, description="Default: whoever applied."
    )


class RegisterQuery(Page):
    precinct_id: Id | None = None
    election_id: Id | None = None
    state: CertificateState | None = None


class RegisterRow(CertificateOut):
    voter_name: str
    voter_iin_masked: str
    received_by: str | None = Field(description="The representative's name, when not the voter.")


class RegisterList(BaseModel):
    items: list[RegisterRow]
    next_after: int | None


# ---------------------------------------------------------------------------------------------
# Voting day
# ---------------------------------------------------------------------------------------------


class PresentIn(Strict):
    """The certificate as presented: its number and verification code, or the QR text."""

    number: text(20) | None = Field(None, examples=["00000001-7"])  # type: ignore[valid-type]
    verification_code: text(16) | None = None  # type: ignore[valid-type]
    qr: text(400) | None = Field(None, description="The text a scanner reads from the QR code.")  # type: ignore[valid-type]
    election_id: Id | None = Field(
        None,
        description="The election this desk takes certificates in for. Default: the caller's "
        "current one. A certificate of another election is refused as `wrong_election`.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> PresentIn:
        if (self.qr is None) == (self.number is None):
            raise ValueError("one_of_number_or_qr")
        return self


class HolderOut(BaseModel):
    full_name: str
    iin_masked: str
    certificate_number: str
    home_precinct: PrecinctRef
    issued_at: Instant


class PresentOut(BaseModel):
    outcome: Literal["may_include", "may_return_home", "included", "returned_home"]
    holder: HolderOut
    line_number: int | None = Field(description="Line in this precinct's supplementary list.")
    inclusion_id: int | None
    included_at: Instant | None


class InclusionOut(BaseModel):
    id: int
    line_number: int
    precinct_id: int
    certificate_number: str
    issuing_precinct_id: int
    voter_name: str
    voter_iin_masked: str
    included_at: Instant


class InclusionQuery(Page):
    precinct_id: Id | None = None
    election_id: Id | None = None


class InclusionList(BaseModel):
    items: list[InclusionOut]
    next_after: int | None


# ---------------------------------------------------------------------------------------------
# Stock, imports, tokens
# ---------------------------------------------------------------------------------------------


class StockIn(Strict):
    election_id: Id | None = Field(None, description="Default: the current election.")
    precinct_id: Id
    first_serial: int = Field(ge=1, le=99_999_999)
    last_serial: int = Field(ge=1, le=99_999_999)


class StockOut(BaseModel):
    id: int
    election_id: int
    precinct_id: int
    first_serial: int
    last_serial: int
    next_serial: int
    unused: int
    received_at: Instant


class StockQuery(Page):
    precinct_id: Id | None = None
    election_id: Id | None = None


class StockList(BaseModel):
    items: list[StockOut]
    next_after: int | None


class ReconciliationOut(BaseModel):
    precinct_id: int
    received: int
    issued: int
    spoilt: int
    unused: int
    balanced: bool


class TerritoryReconciliationOut(BaseModel):
    """The same balance over every precinct the caller oversees (the country, for an admin)."""

    precincts: int
    received: int
    issued: int
    spoilt: int
    unused: int
    balanced: bool


class ElectionQuery(Strict):
    election_id: Id | None = Field(None, description="Default: the caller's current election.")


class FiguresQuery(Strict):
    region_kato: Annotated[str, Field(pattern=r"^[0-9]{9}$")] | None = None
    election_id: Id | None = None


class PrecinctFiguresOut(BaseModel):
    precinct_id: int
    number: int
    region_kato: str
    issued: int = Field(description="Certificates issued here (spoilt forms not counted).")
    included_elsewhere: int = Field(description="Of those, taken in at another precinct.")
    included_here: int = Field(description="Certificates of anywhere taken in here.")
    refused_attempts: int = Field(description="Presentations refused here on voting day.")
    alerts: int = Field(description="Attempts to use an already used certificate.")


class FiguresOut(BaseModel):
    """Counts only, no personal data: observers see them too."""

    election_id: int
    items: list[PrecinctFiguresOut]


class ImportIn(BaseModel):
    """multipart/form-data: `file` (the CSV), and optionally `election_id` (default: the
    caller's current election), `mode` and `skip_errors`."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="ignore")

    file: Any = Field(json_schema_extra={"type": "string", "format": "binary"})
    election_id: int | None = Field(None, ge=1, le=2**31 - 1)
    mode: Literal["add", "amend", "replace"] = Field(
        "add",
        description="add: new rows only; amend: also change existing rows; replace (voter "
        "lists): the file becomes the list.",
    )
    skip_errors: bool = False

    @field_validator("skip_errors", mode="before")
    @classmethod
    def _form_flag(cls, value: object) -> object:
        """A form field is text: `true` or `false`, as documented; not 0, yes, on or True."""
        if isinstance(value, str) and value not in ("true", "false"):
            raise PydanticCustomError("bool_parsing", "Input should be true or false")
        return value

    @model_validator(mode="after")
    def _has_file(self) -> ImportIn:
        if self.file is None or not getattr(self.file, "filename", None):
            raise ValueError("file_missing")
        return self


class ImportJobOut(BaseModel):
    id: int
    kind: Literal["precincts", "voters"]
    election_id: int | None
    mode: Literal["add", "amend", "replace"]
    status: Literal["queued", "running", "done", "failed"]
    file_name: str
    skip_errors: bool
    created_at: Instant
    started_at: Instant | None
    finished_at: Instant | None
    rows_checked: int
    rows_imported: int
    summary: dict[str, Any] | None = Field(
        description="Counts and error lines (no names, IINs masked), once the job ends."
    )
    failure: str | None


class TokenIn(Strict):
    name: text(100)  # type: ignore[valid-type]
    lifetime_days: int = Field(90, ge=1, le=366)
    user_id: Id | None = Field(None, description="Admins only: a token for another user.")


class TokenOut(BaseModel):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: Instant
    expires_at: Instant
    last_used_at: Instant | None
    revoked_at: Instant | None


class NewTokenOut(TokenOut):
    token: str | None = Field(
        description="The secret, shown in this answer only (null in a replayed answer)."
    )


class TokenList(BaseModel):
    items: list[TokenOut]


# ---------------------------------------------------------------------------------------------
# Public verification
# ---------------------------------------------------------------------------------------------


class VerifyIn(Strict):
    number: text(20) = Field(examples=["00000001-7"])  # type: ignore[valid-type]
    verification_code: text(16)  # type: ignore[valid-type]
    election_code: text(40) | None = Field(  # type: ignore[valid-type]
        None, description="Optional: the number's series already names its election."
    )


class VerifyOut(BaseModel):
    number: str
    status: Literal["valid", "used", "void"]
    election_code: str
    voting_day: date
