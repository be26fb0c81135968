"""Census match: the citizen enters their IIN and date of birth, matched against the register."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _

from .. import views
from ..forms import CensusVerifyForm
from . import VerificationMethod


class CensusMethod(VerificationMethod):
    key = "census"
    label = _("Resident register match")
    page_template = "residents/methods/census.html"

    def page_context(self, request) -> dict:
        # A refused form (views.census_verify) replaces these; the IIN is never echoed.
        return {"census_form": CensusVerifyForm()}

    def urlpatterns(self) -> list:
        return [path("verify/", views.census_verify, name="verify")]
