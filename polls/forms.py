"""Forms of the officials' poll pages. They only collect input; services validate and act."""

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from accounts.forms import DistrictChoiceField
from accounts.models import District
from civic.content import TranslationsFormMixin
from residents.eligibility import Eligibility

from .models import Poll


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class PollForm(TranslationsFormMixin, forms.Form):
    # The question as written, in the language chosen under it; the other languages' versions
    # fold under "Add translations" (civic/content.py).
    translated = {
        "title": (_("Question"), 200, False),
        "description": (_("Description"), 4000, True),
    }
    columns_only = True
    title = forms.CharField(label=_("Question"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Poll.Kind.choices)
    max_choices = forms.IntegerField(
        label=_("At most this many choices"), min_value=1, max_value=30, initial=1
    )
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
            "Verified residents: one person, one vote, checked against the resident register. "
            "Choose a district above for a district poll."
        ),
    )
    opens_at = forms.DateTimeField(
        label=_("Opens at (Almaty time)"),
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    closes_at = forms.DateTimeField(
        label=_("Closes at (Almaty time)"),
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    results_visibility = forms.ChoiceField(label=_("Results"), choices=Poll.Visibility.choices)
    allow_vote_change = forms.BooleanField(
        label=_("Voters may change their vote until close"), required=False
    )
    secret_ballot = forms.BooleanField(label=_("Secret ballot"), required=False)
    ballot_mode = forms.ChoiceField(
        label=_("Who votes"),
        choices=Poll.BallotMode.choices,
        initial=Poll.BallotMode.ACCOUNTS,
        help_text=_("Ballot codes are printed for festival guests without an account."),
    )

    def clean(self):
        data = super().clean()
        # With a district chosen, "verified residents" means that district's residents; with
        # none given, the service's default (verified residents of the district or the city).
        if data.get("district") and data.get("eligibility") == Eligibility.CITY:
            data["eligibility"] = Eligibility.DISTRICT
        data["eligibility"] = data.get("eligibility") or None
        return data


class ChoiceForm(forms.Form):
    label_kk = forms.CharField(label=_("Choice (Kazakh)"), max_length=200, required=False)
    label_ru = forms.CharField(label=_("Choice (Russian)"), max_length=200, required=False)
    label_en = forms.CharField(label=_("Choice (English)"), max_length=200, required=False)


ChoiceFormSet = formset_factory(ChoiceForm, extra=6, max_num=30)


class CodesForm(forms.Form):
    count = forms.IntegerField(label=_("How many codes"), min_value=1, max_value=2000, initial=50)
