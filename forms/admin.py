"""Territorial and central commission forms: users and election settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from models import Role

ROLE_LABELS = {
    Role.ADMIN: _l("central commission (admin)"),
    Role.TERRITORIAL: _l("territorial commission"),
    Role.CLERK: _l("precinct clerk"),
    Role.CHECKIN: _l("voting-day check-in"),
    Role.OBSERVER: _l("observer"),
}


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(max=80),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Latin letters, digits, _ . - only.")),
        ],
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=300)])
    role = SelectField(_l("Role"), validators=[InputRequired()])
    precinct_id = SelectField(_l("Precinct"), coerce=int, validators=[Optional()])
    territorial_commission_id = SelectField(
        _l("Territorial commission"), coerce=int, validators=[Optional()]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=200)])


class MoveUserForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=300)])
    role = SelectField(_l("Role"), validators=[InputRequired()])
    precinct_id = SelectField(_l("Precinct"), coerce=int, validators=[Optional()])
    territorial_commission_id = SelectField(
        _l("Territorial commission"), coerce=int, validators=[Optional()]
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=10, max=200)]
    )


class ActiveForm(FlaskForm):
    """Deactivate or reactivate: the button says which."""


class ElectionForm(FlaskForm):
    """An election's data: shape only; the calendar's rules are checked by the workflow."""

    code = StringField(
        _l("Code (Latin letters, digits, - and _; fixed once the issue window opens)"),
        validators=[DataRequired(), Length(max=40)],
    )
    kind = SelectField(_l("Kind"), validators=[InputRequired()])
    number_series = StringField(
        _l("Number series (4 digits before every certificate number; empty: chosen for you)"),
        validators=[Optional(), Length(max=4)],
    )
    name_kk = StringField(_l("Name (Kazakh)"), validators=[DataRequired(), Length(max=300)])
    name_ru = StringField(_l("Name (Russian)"), validators=[DataRequired(), Length(max=300)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=300)])
    voting_day = DateField(_l("Voting day"), validators=[InputRequired()])
    issue_opens_on = DateField(_l("Issue window opens on"), validators=[Optional()])
    issue_opens_at = TimeField(_l("at (local time)"), validators=[InputRequired()])
    issue_deadline_on = DateField(_l("Issue deadline on"), validators=[Optional()])
    issue_deadline_at = TimeField(_l("at (local time)"), validators=[InputRequired()])
    voting_opens_at = TimeField(_l("Voting opens at"), validators=[InputRequired()])
    voting_closes_at = TimeField(_l("Voting closes at"), validators=[InputRequired()])
    allow_surrender = BooleanField(_l("A certificate may be handed back before the deadline"))
    allow_return_home = BooleanField(_l("A voter may hand the certificate in and vote at home"))
    refuse_inclusion_in_home_locality = BooleanField(
        _l("Refuse inclusion at another precinct of the voter's home locality")
    )
    proxy_warning_threshold = IntegerField(
        _l("Warn when one representative has collected more than"),
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
    )
    reason = TextAreaField(
        _l("Reason for the correction (required once the issue window has opened)"),
        validators=[Optional(), Length(max=1000)],
    )


class NewElectionForm(ElectionForm):
    """A new election and where its network of places comes from."""

    network = SelectField(_l("Where the precincts come from"), validators=[InputRequired()])
    with_staff = BooleanField(_l("Place the staff of the copied election at the same precincts"))
