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
    name_kk = StringField(_l("Name (Kazakh)"), validators=[DataRequired(), Length(max=300)])
    name_ru = StringField(_l("Name (Russian)"), validators=[DataRequired(), Length(max=300)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=300)])
    voting_day = DateField(_l("Voting day"), validators=[InputRequired()])
    issue_opens_on = DateField(_l("Issue window opens on"), validators=[InputRequired()])
    issue_opens_at = TimeField(_l("at (local time)"), validators=[InputRequired()])
    issue_deadline_on = DateField(_l("Issue deadline on"), validators=[InputRequired()])
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

    def validate(self, extra_validators: object = None) -> bool:
        valid = super().validate(extra_validators)  # type: ignore[arg-type]
        if not valid:
            return False
        if self.issue_opens_on.data > self.issue_deadline_on.data:  # type: ignore[operator]
            self.issue_deadline_on.errors = [_l("The deadline comes after the opening.")]
            valid = False
        if self.issue_deadline_on.data > self.voting_day.data:  # type: ignore[operator]
            self.issue_deadline_on.errors = [_l("The deadline comes before voting day.")]
            valid = False
        if self.voting_opens_at.data >= self.voting_closes_at.data:  # type: ignore[operator]
            self.voting_closes_at.errors = [_l("Voting closes after it opens.")]
            valid = False
        return valid
