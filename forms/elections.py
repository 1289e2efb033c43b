"""Forms around elections: the one the screens show, and an election's setup steps."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, SubmitField
from wtforms.validators import InputRequired, NumberRange, Optional


class ChooseElectionForm(FlaskForm):
    election_id = SelectField(_l("Election"), validators=[InputRequired()])


class ImportForm(FlaskForm):
    kind = SelectField(_l("What the file holds"), validators=[InputRequired()])
    mode = SelectField(_l("How it changes what is there"), validators=[InputRequired()])
    file = FileField(_l("CSV file (UTF-8)"), validators=[FileRequired()])
    skip_errors = BooleanField(_l("Import the good rows and skip the bad ones"))
    submit = SubmitField(_l("Import"))


class CopyNetworkForm(FlaskForm):
    source = SelectField(_l("Election"), validators=[InputRequired()])
    carry_staff = SubmitField(
        _l("Place the chosen election's staff at the same precincts of this one")
    )


class StockForm(FlaskForm):
    per_precinct = IntegerField(
        _l("Numbers per precinct"), validators=[InputRequired(), NumberRange(min=1, max=100_000)]
    )
    first_serial = IntegerField(
        _l("First serial (empty: after the last one handed out)"),
        validators=[Optional(), NumberRange(min=1, max=99_999_999)],
    )
    submit = SubmitField(_l("Hand down to every precinct without stock"))
