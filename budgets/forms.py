"""Forms of the budget pages. They only collect input; the services validate and act."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import DistrictChoiceField
from accounts.models import District
from civic.content import TranslationsFormMixin
from polls.forms import DateTimeLocalInput
from residents.eligibility import Eligibility

from .models import BudgetRound

TEXTAREA = {"rows": 3}
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M"]


def _text(label, *, required=True, max_length=200):
    return forms.CharField(label=label, max_length=max_length, required=required)


def _area(label):
    return forms.CharField(
        label=label, max_length=4000, required=False, widget=forms.Textarea(attrs=TEXTAREA)
    )


class RoundForm(TranslationsFormMixin, forms.Form):
    # The title and description as written; other languages fold under "Add translations".
    translated = {"title": (_("Title"), 200, False), "description": (_("Description"), 4000, True)}
    columns_only = True
    title = _text(_("Title"))
    description = _area(_("Description"))
    district = DistrictChoiceField(
        label=_("Only for residents of"),
        queryset=District.objects.all(),
        required=False,
        empty_label=_("The whole city"),
    )
    eligibility = forms.ChoiceField(
        label=_("Who may vote"),
        choices=Eligibility.choices,
        initial=Eligibility.CITY,
        required=False,
        help_text=_(
            "Verified residents: one person, one ballot, checked against the resident "
            "register. Choose a district above for a district round."
        ),
    )
    total_budget = forms.IntegerField(
        label=_("Total budget, ₸"), widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    min_projects = forms.IntegerField(label=_("A ballot picks at least"), initial=1)
    max_projects = forms.IntegerField(label=_("A ballot picks at most"), initial=5)
    rule = forms.ChoiceField(
        label=_("The rule that decides"),
        choices=BudgetRound.Rule.choices,
        initial=BudgetRound.Rule.EQUAL_SHARES,
        help_text=_(
            "Both rules are computed and shown; this one decides. Equal shares gives every "
            "voter the same part of the budget, so a majority cannot take all of it."
        ),
    )
    opens_at = forms.DateTimeField(
        label=_("Opens at (Almaty time)"),
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_FORMATS,
    )
    closes_at = forms.DateTimeField(
        label=_("Closes at (Almaty time)"),
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_FORMATS,
    )
    results_visibility = forms.ChoiceField(
        label=_("Results"),
        choices=BudgetRound.Visibility.choices,
        initial=BudgetRound.Visibility.HIDDEN,
    )
    allow_ballot_change = forms.BooleanField(
        label=_("Voters may change their ballot until close"), required=False
    )
    secret_ballot = forms.BooleanField(label=_("Secret ballot"), required=False)

    def clean(self):
        data = super().clean()
        # With a district chosen, "verified residents" means that district's residents.
        if data.get("district") and data.get("eligibility") in (Eligibility.CITY, "", None):
            data["eligibility"] = Eligibility.DISTRICT
        if not data.get("district") and data.get("eligibility") == Eligibility.DISTRICT:
            data["eligibility"] = Eligibility.CITY
        data["eligibility"] = data.get("eligibility") or Eligibility.CITY
        return data

    @classmethod
    def initial_for(cls, budget_round: BudgetRound) -> dict:
        from django.utils import timezone

        initial = {name: getattr(budget_round, name, None) for name in cls.base_fields}
        initial["district"] = budget_round.district
        initial |= cls.initial_translations(budget_round, ("title", "description"))
        for name in ("opens_at", "closes_at"):
            value = getattr(budget_round, name)
            initial[name] = timezone.localtime(value) if value else None
        return initial


class ProjectForm(TranslationsFormMixin, forms.Form):
    """A project the akimat enters itself."""

    translated = {"title": (_("Title"), 200, False), "description": (_("Description"), 4000, True)}
    columns_only = True
    title = _text(_("Title"))
    description = _area(_("Description"))
    cost = forms.IntegerField(
        label=_("Cost, ₸"), widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )


class InitiativeProjectForm(forms.Form):
    """An accepted initiative onto the ballot, its estimate confirmed or corrected."""

    initiative = forms.IntegerField(widget=forms.HiddenInput)
    cost = forms.IntegerField(
        label=_("Cost confirmed by the akimat, ₸"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    cost_note = forms.CharField(
        label=_("Note on the cost (shown publicly)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Say why the cost differs from the community’s estimate, if it does."),
    )
