"""Streaming CSV imports of an election's precincts and voter list, all or nothing.

Every import is for one election, named by the caller (`--election CODE`, the API's
`election_id`), and only while that election is being prepared: once its issue window has
opened, its network and lists no longer change by import (a voter moves by re-listing,
`services.voters.move_voter`). Three modes: `add` (the default) brings new rows only and refuses
rows that exist; `amend` also changes existing ones (precincts by region and number, voters by
IIN); `replace` (voter lists) makes the file the list, removing every entry no application refers
to before the good rows are written.

File formats
============

Both files are UTF-8 (a byte-order mark is allowed), comma-separated, with a header row naming
the columns below in any order; extra columns are ignored. Leading and trailing blanks of every
value are removed. Line numbers in error reports count the header as line 1.

Precincts (`flask import-precincts --election CODE FILE`)::

    region_kato,locality_kato,locality_name_kk,locality_name_ru,locality_kind,district_kato,
    district_name_kk,district_name_ru,number,address_kk,address_ru,territorial_commission_ru,
    territorial_commission_kk

* `region_kato`: the 9-digit KATO code of a region of the election's map (e.g. `270000000`).
* `locality_kato`: 9-digit KATO code of the settlement, inside that region. It is normalised
  (`workflow.locality.normalise_kato`): any code inside Almaty, Nur-Sultan or Shymkent names the
  city itself. A locality is created the first time its code is seen (with the names and kind of
  that row) and reused afterwards, also when it already exists in the election's network.
* `locality_name_kk`, `locality_name_ru`: the settlement's names (at most 200 characters).
* `locality_kind`: `city`, `town` or `village`.
* `district_kato`, `district_name_kk`, `district_name_ru`: the city district, or all three
  empty. A district is created on first sight and reused by its code; its names are needed only
  when it is new. A district belongs to one locality.
* `number`: the precinct number, a positive integer unique within the region. A precinct that
  already exists is an error in `add` mode; `amend` changes its locality, district, commission
  and addresses.
* `address_kk`, `address_ru`: the polling station's address (at most 500 characters).
* `territorial_commission_ru`, `territorial_commission_kk`: the commission above the precinct,
  created on first sight and reused by its Russian name within the region.

Voters (`flask import-voters --election CODE FILE`)::

    region_kato,precinct_number,iin,surname,given_name,patronymic,birth_date,address

* `election_code` (optional, as files of the first release had it): when present, every row must
  name the election being imported into.
* `region_kato`, `precinct_number`: the voter's home precinct, which must exist.
* `iin`: 12 digits, a valid IIN (date, century digit and check digit).
* `surname`, `given_name`: required; `patronymic`: may be empty (at most 200 characters each).
* `birth_date`: ISO `YYYY-MM-DD`; it must be the birth date the IIN encodes.
* `address`: the voter's address as printed on the list (at most 500 characters).

An IIN appearing twice in the file is an error; one already on the election's list is an error
in `add` mode and an update in `amend` and `replace`.

How an import runs
==================

If any row is wrong and errors are not to be skipped, nothing is written; otherwise the good rows
are, in the caller's transaction (the caller commits once, so the import is all or nothing).

A voter list is read once, a row at a time. Each row is checked in Python (the IIN's date and
check digit, the birth date, lengths, the precinct) and streams into a working table of the
import's own (PostgreSQL's COPY; batched inserts on SQLite). The database then finds the repeated
IINs (a window over the staged rows) and the entries already on the list (a join), and writes
the list in two statements: an UPDATE of the entries the file names again and an INSERT of the
rest. Memory holds one row, the election's regions and precincts, the first
MAX_REPORTED_ERRORS errors and a bounded cache of folded names, whatever the file's size; on
PostgreSQL a large import ends with ANALYZE, so the planner knows the list's new size.

A precinct file (thousands of rows, not millions) is read twice: pass 1 checks every row, pass 2
reads the file again and writes the good rows in batches.

Error reasons are in English and never carry a name or a clear IIN, so a report can be pasted into
a ticket: a row is named by its line number, an IIN at most in its masked form.
"""

from services.importing.precincts import LOCALITY_KINDS, PRECINCT_COLUMNS, import_precincts
from services.importing.reading import (
    BATCH_SIZE,
    IMPORT_MODES,
    MAX_REPORTED_ERRORS,
    ImportAborted,
    ImportSummary,
    RowError,
)
from services.importing.voters import OPTIONAL_VOTER_COLUMNS, VOTER_COLUMNS, import_voters

__all__ = [
    "BATCH_SIZE",
    "IMPORT_MODES",
    "LOCALITY_KINDS",
    "MAX_REPORTED_ERRORS",
    "OPTIONAL_VOTER_COLUMNS",
    "PRECINCT_COLUMNS",
    "VOTER_COLUMNS",
    "ImportAborted",
    "ImportSummary",
    "RowError",
    "import_precincts",
    "import_voters",
]
