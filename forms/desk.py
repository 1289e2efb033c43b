"""The clerk's desk forms: shape and format only; choices are injected by the views."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from workflow.iin import is_valid_iin

MAX_TEXT = 300


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _printable(form: FlaskForm, field: Any) -> None:
    """Control characters (C0, DEL, C1) have no place on a legal document."""
    data = field.data or ""
    if any(unicodedata.category(char) == "Cc" and char not in "\t\r\n" for char in data):
        raise ValidationError(_l("Remove the control characters from this field."))


def _iin(form: FlaskForm, field: Any) -> None:
    data = field.data or ""
    if not data:
        return
    if len(data) != 12 or not data.isascii() or not data.isdigit():
        raise ValidationError(_l("An IIN is exactly 12 digits."))
    if not is_valid_iin(data):
        raise ValidationError(_l("This IIN is not valid: check the digits against the document."))


class OneTimeForm(FlaskForm):
    """A form carrying a one-time key, so a double click or a replay acts only once."""

    form_key = HiddenField()


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(
        _l("IIN or name"), filters=[_strip], validators=[DataRequired(), Length(max=100)]
    )


class ApplicationForm(OneTimeForm):
    mode = RadioField(
        _l("Who applies"),
        choices=[
            SelectChoice("voter", _l("The voter in person")),
            SelectChoice("representative", _l("A representative")),
        ],
        default="voter",
        validators=[InputRequired()],
    )
    applicant_document = StringField(
        _l("Identity document of the person at the desk (type and number)"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=200), _printable],
    )
    stay_locality_id = SelectField(
        _l("Place of stay on voting day (locality)"), coerce=int, validators=[InputRequired()]
    )
    representative_iin = StringField(
        _l("Representative's IIN"), filters=[_strip], validators=[Optional(), _iin]
    )
    representative_name = StringField(
        _l("Representative's full name"),
        filters=[_strip],
        validators=[Optional(), Length(max=MAX_TEXT), _printable],
    )
    power_of_attorney_number = StringField(
        _l("Power of attorney number"),
        filters=[_strip],
        validators=[Optional(), Length(max=100), _printable],
    )
    power_of_attorney_date = DateField(_l("Power of attorney date"), validators=[Optional()])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.mode.data == "representative":
            for field in (
                self.representative_iin,
                self.representative_name,
                self.power_of_attorney_number,
                self.power_of_attorney_date,
            ):
                if not field.data and not field.errors:
                    field.errors = [*field.errors, _l("Required when a representative applies.")]
                    valid = False
        return valid


class IssueForm(OneTimeForm):
    handed_to = RadioField(
        _l("Handed to"),
        choices=[
            SelectChoice("voter", _l("The voter")),
            SelectChoice("representative", _l("The representative")),
        ],
        default="voter",
        validators=[InputRequired()],
    )
    confirm = BooleanField(
        _l("I have checked the identity document and the form is filled in correctly"),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class ReasonForm(OneTimeForm):
    """Withdraw, spoil, report lost, cancel: each with a written reason and a confirmation."""

    reason = TextAreaField(
        _l("Reason"), filters=[_strip], validators=[DataRequired(), Length(max=1000), _printable]
    )
    confirm = BooleanField(
        _l("I confirm this action"), validators=[DataRequired(_l("Tick the box to confirm."))]
    )


class RefuseForm(OneTimeForm):
    code = SelectField(_l("Ground for refusal"), validators=[InputRequired()])
    note = TextAreaField(
        _l("Explanation"), filters=[_strip], validators=[Optional(), Length(max=1000), _printable]
    )
    confirm = BooleanField(
        _l("I confirm this refusal"), validators=[DataRequired(_l("Tick the box to confirm."))]
    )


class RegisterFilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField(_l("State"), validators=[Optional()])
    day = DateField(_l("Issued on"), validators=[Optional()])
