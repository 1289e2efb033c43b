"""The check-in desk: one input for a scanner or a typed number."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length


class ScanForm(FlaskForm):
    scan = StringField(
        _l("Scan the QR code, or type the number and the verification code"),
        validators=[DataRequired(), Length(max=400)],
    )


class ConfirmForm(FlaskForm):
    scan = HiddenField(validators=[DataRequired(), Length(max=400)])
    form_key = HiddenField()
