"""Census match: the citizen enters their IIN and date of birth, matched against the register."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from . import VerificationMethod


class CensusMethod(VerificationMethod):
    key = "census"
    label = _("Resident register match")
    page_template = "residents/methods/census.html"
