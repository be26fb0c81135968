"""Forms of the community and initiative pages. They only collect input; services validate
and act, so a form's checks are the shape of the input, never the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.forms import DistrictChoiceField
from accounts.models import District
from civic.content import TranslationsFormMixin
from residents.eligibility import Eligibility

from .models import Attachment, Community, FocusArea, Initiative
from .services import (
    BODY_MAX,
    DESCRIPTION_MAX,
    NAME_MAX,
    REASON_MAX,
    RESPONSE_MAX,
    SUMMARY_MAX,
    TIMELINE_MAX,
    TITLE_MAX,
)


class DistrictMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class CommunityForm(TranslationsFormMixin, forms.Form):
    # The name and description as written; other languages' versions fold under "Add
    # translations" (civic/content.py).
    translated = {
        "name": (pgettext_lazy("community", "Name"), NAME_MAX, False),
        "description": (_("About the community"), DESCRIPTION_MAX, True),
    }
    name = forms.CharField(label=pgettext_lazy("community", "Name"), max_length=NAME_MAX)
    kind = forms.ChoiceField(label=_("Kind"), choices=Community.Kind.choices)
    description = forms.CharField(
        label=_("About the community"),
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    focus_areas = forms.MultipleChoiceField(
        label=_("Focus areas"),
        choices=FocusArea.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    districts = DistrictMultipleChoiceField(
        label=_("Districts"),
        queryset=District.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    contact_email = forms.CharField(
        label=_("Contact e-mail"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(
        label=_("Contact phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    website = forms.CharField(
        label=_("Website"),
        max_length=300,
        required=False,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )


class CommunityRegisterForm(CommunityForm):
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("Optional. PNG, JPEG or WebP, at most 2 MB."),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )


class CommunityDecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed to reject or suspend: the community will see it."),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class InitiativeForm(TranslationsFormMixin, forms.Form):
    translated = {
        "title": (pgettext_lazy("initiative", "Title"), TITLE_MAX, False),
        "summary": (_("Summary"), SUMMARY_MAX, False),
    }
    title = forms.CharField(label=pgettext_lazy("initiative", "Title"), max_length=TITLE_MAX)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=SUMMARY_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One or two sentences shown in the list."),
    )
    body = forms.CharField(
        label=_("Description"),
        max_length=BODY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("Markdown: **bold**, *italic*, lists, links."),
    )
    category = forms.ChoiceField(label=_("Category"), choices=FocusArea.choices)
    district = DistrictChoiceField(
        label=_("District"),
        queryset=District.objects.all(),
        required=False,
        empty_label=_("The whole city"),
    )
    # Numbers are collected as text: the service reads them exactly (no float rounding)
    # and explains what is wrong in the user's language.
    latitude = forms.CharField(
        label=_("Latitude"),
        max_length=20,
        required=False,
        # data-map-lat/-lng: the map picker (static/js/map.js) fills them; typed values move it.
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "placeholder": "43.238", "data-map-lat": ""}
        ),
    )
    longitude = forms.CharField(
        label=_("Longitude"),
        max_length=20,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "placeholder": "76.945", "data-map-lng": ""}
        ),
        help_text=_("Optional: where in Almaty, to show the initiative on the map."),
    )
    budget_kzt = forms.CharField(
        label=_("Estimated budget, tenge"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    timeline = forms.CharField(label=_("Timeline"), max_length=TIMELINE_MAX, required=False)
    support_eligibility = forms.ChoiceField(
        label=_("Who may support"),
        choices=Eligibility.choices,
        initial=Eligibility.EMAIL,
        required=False,
        help_text=_(
            "Verified residents: one person, one support, checked against the resident "
            "register. The district's residents need the district above."
        ),
    )

    @classmethod
    def initial_from(cls, initiative: Initiative) -> dict:
        return {
            "title": initiative.title,
            "summary": initiative.summary,
            "body": initiative.body,
            "category": initiative.category,
            "district": initiative.district_id,
            "latitude": initiative.latitude if initiative.latitude is not None else "",
            "longitude": initiative.longitude if initiative.longitude is not None else "",
            "budget_kzt": initiative.budget_kzt if initiative.budget_kzt is not None else "",
            "timeline": initiative.timeline,
            "support_eligibility": initiative.support_eligibility,
            **cls.initial_translations(initiative, ("title", "summary")),
        }


class CommunityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class NewInitiativeForm(InitiativeForm):
    field_order = ["community"]

    community = CommunityChoiceField(
        label=_("Community"),
        queryset=Community.objects.none(),
        empty_label=_("Choose a community"),
    )

    def __init__(self, *args, communities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        if len(communities) == 1:
            self.initial["community"] = communities[0].pk
        self.order_fields(self.field_order)


class DecisionForm(forms.Form):
    to = forms.ChoiceField(label=_("New status"))
    response = forms.CharField(
        label=_("Official response"),
        max_length=RESPONSE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Required to accept, reject or ask for changes. Everyone will read it."),
    )

    def __init__(self, *args, moves, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [(s, Initiative.Status(s).label) for s in moves]


class AttachmentForm(TranslationsFormMixin, forms.Form):
    translated = {"title": (_("Document title"), 200, False)}
    title = forms.CharField(
        label=_("Document title"),
        max_length=200,
        help_text=_("The same title again adds a new version."),
    )
    kind = forms.ChoiceField(label=_("Kind of document"), choices=Attachment.Kind.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, PNG, JPEG, WebP, XLSX or ODS."),
        widget=forms.FileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.webp,.xlsx,.ods"}),
    )


class InitiativeFilterForm(forms.Form):
    """The list's filters. An unknown value is dropped, never an error."""

    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status"))]
        + [c for c in Initiative.Status.choices if c[0] != Initiative.Status.DRAFT],
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any category")), *FocusArea.choices]
    )
    district = DistrictChoiceField(
        label=_("District"),
        queryset=District.objects.all(),
        required=False,
        empty_label=_("Any district"),
    )
    community = CommunityChoiceField(
        label=_("Community"),
        queryset=Community.objects.filter(status=Community.Status.APPROVED),
        to_field_name="slug",
        required=False,
        empty_label=_("Any community"),
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("supported", _("Most supported")),
            ("newest", _("Newest")),
            ("decided", _("Recently decided")),
        ],
    )

    def values(self) -> dict:
        """The valid filters; anything invalid is left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        district = data.get("district")
        community = data.get("community")
        return {
            "q": data.get("q") or "",
            "status": data.get("status") or None,
            "category": data.get("category") or None,
            "district": district.pk if district else None,
            "community": community.slug if community else None,
            "sort": data.get("sort") or "supported",
        }


class CommunityFilterForm(forms.Form):
    focus = forms.ChoiceField(
        label=_("Focus area"),
        required=False,
        choices=[("", _("Any focus area")), *FocusArea.choices],
    )
    district = DistrictChoiceField(
        label=_("District"),
        queryset=District.objects.all(),
        required=False,
        empty_label=_("Any district"),
    )

    def values(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        district = data.get("district")
        return {"focus": data.get("focus") or None, "district": district.pk if district else None}


class ProgressForm(forms.Form):
    """A progress report on an initiative in progress (initiative_progress_add checks it)."""

    percent = forms.IntegerField(label=_("Percent done"), min_value=0, max_value=100)
    note = forms.CharField(
        label=_("What was done"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        help_text=_("PNG, JPEG or WebP."),
        widget=forms.FileInput(attrs={"accept": ".png,.jpg,.jpeg,.webp"}),
    )
