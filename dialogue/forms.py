"""Forms of the City Dialogue pages. They only collect input; the services validate and act."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.forms import DistrictChoiceField
from accounts.models import District, Role, User
from civic.content import TranslationsFormMixin
from residents.eligibility import Eligibility

from .models import Session
from .services import DESCRIPTION_MAX, TITLE_MAX


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class HostChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.public_name


class SessionForm(TranslationsFormMixin, forms.Form):
    translated = {
        "title": (pgettext_lazy("session", "Title"), TITLE_MAX, False),
        "description": (_("Description"), DESCRIPTION_MAX, True),
    }
    title = forms.CharField(label=pgettext_lazy("session", "Title"), max_length=TITLE_MAX)
    description = forms.CharField(
        label=_("Description"),
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    language = forms.ChoiceField(label=_("Language of the session"), choices=settings.LANGUAGES)
    starts_at = forms.DateTimeField(
        label=_("Starts at (Almaty time)"),
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    ends_at = forms.DateTimeField(
        label=_("Ends at (Almaty time)"),
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    moderation = forms.ChoiceField(
        label=_("Moderation"),
        choices=Session.Moderation.choices,
        widget=forms.RadioSelect,
        initial=Session.Moderation.POST,
    )
    hosts = HostChoiceField(
        label=_("Hosts (officials who answer)"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    eligibility = forms.ChoiceField(
        label=_("Who may ask and upvote"),
        choices=Eligibility.choices,
        initial=Eligibility.EMAIL,
        required=False,
    )
    district = DistrictChoiceField(
        label=_("District (for a session of the district's residents)"),
        queryset=District.objects.all(),
        required=False,
        empty_label=_("The whole city"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hosts"].queryset = User.objects.filter(
            groups__name=Role.OFFICIAL.value, is_active=True
        ).order_by("display_name", "pk")
