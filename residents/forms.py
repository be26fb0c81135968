"""Forms of the residents' pages: verifying by IIN, reporting a taken IIN, loading the register.

An IIN typed into a form is never written back into the page, not even after a refusal
(NoEchoInput): the citizen types it again.
"""

from __future__ import annotations

import os
import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import IdentityReport
from .services import IDENTITY_REPORT_MESSAGE_MAX, IDENTITY_REPORT_NOTE_MAX

CENSUS_EXTENSIONS = (".csv", ".txt", ".xlsx")


class NoEchoInput(forms.TextInput):
    """A text input that never renders the submitted value (an IIN) back into the page."""

    def format_value(self, value):
        return None


def _iin_field(label):
    return forms.CharField(
        label=label,
        max_length=32,
        help_text=_("12 digits, as on your ID card."),
        widget=NoEchoInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "spellcheck": "false",
                "pattern": r"[0-9 \-]*",
            }
        ),
    )


def _clean_iin(value: str) -> str:
    # Typed off a card in groups: "900101 300 123" is the same IIN.
    return re.sub(r"[\s-]", "", value or "")


class CensusVerifyForm(forms.Form):
    iin = _iin_field(_("Your IIN"))
    birth_date = forms.DateField(
        label=_("Your date of birth"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}, format="%Y-%m-%d"),
    )

    def clean_iin(self):
        return _clean_iin(self.cleaned_data["iin"])


class IdentityReportForm(forms.Form):
    iin = _iin_field(_("Your IIN (type it again)"))
    birth_date = forms.DateField(
        label=_("Your date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}, format="%Y-%m-%d"),
    )
    message = forms.CharField(
        label=_("Anything the moderators should know (optional)"),
        required=False,
        max_length=IDENTITY_REPORT_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_iin(self):
        return _clean_iin(self.cleaned_data["iin"])


class IdentityReportResolveForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (IdentityReport.Status.RESOLVED, _("Resolved")),
            (IdentityReport.Status.DISMISSED, _("Dismissed")),
        ]
    )
    note = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=IDENTITY_REPORT_NOTE_MAX
    )


class CensusUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Register file (CSV or XLSX)"),
        allow_empty_file=True,  # refused below with our own message
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.txt,.xlsx,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        name = os.path.basename(file.name or "").lower()
        if not name.endswith(CENSUS_EXTENSIONS):
            raise forms.ValidationError(
                _("Upload the register as a CSV file (.csv) or an Excel workbook (.xlsx)."),
                code="wrong_type",
            )
        if not file.size:
            raise forms.ValidationError(_("The file is empty."), code="empty")
        if file.size > settings.CENSUS_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(max)s bytes)."),
                code="too_large",
                params={"max": settings.CENSUS_MAX_BYTES},
            )
        return file

    def error_status(self) -> int:
        """The HTTP status of a refused upload: 413 too large, 415 wrong type, else 400."""
        if self.has_error("file", "too_large"):
            return 413
        if self.has_error("file", "wrong_type"):
            return 415
        return 400
