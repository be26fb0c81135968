"""Forms of accounts: the extra sign-up fields and the profile."""

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .models import District
from .services import DISPLAY_NAME_MAX, user_complete_signup


class DistrictChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class SignupExtraForm(forms.Form):
    """Mixed into allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    display_name = forms.CharField(
        label=_("Display name"),
        max_length=DISPLAY_NAME_MAX,
        required=False,
        help_text=_("Shown next to what you write. Leave empty to appear as “Citizen”."),
    )
    district = DistrictChoiceField(
        label=_("Your district"),
        queryset=District.objects.all(),
        required=False,
        empty_label=_("I'd rather not say"),
    )

    def signup(self, request, user):
        user_complete_signup(
            user=user,
            display_name=self.cleaned_data.get("display_name", ""),
            district=self.cleaned_data.get("district"),
            language=(get_language() or settings.LANGUAGE_CODE)[:2],
        )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"), max_length=DISPLAY_NAME_MAX, required=False
    )
    district = DistrictChoiceField(
        label=_("Your district"),
        queryset=District.objects.all(),
        required=False,
        empty_label=_("I'd rather not say"),
    )
    preferred_language = forms.ChoiceField(
        label=_("Language"),
        choices=[(code, settings.LANGUAGE_NATIVE_NAMES[code]) for code, _n in settings.LANGUAGES],
    )

    def __init__(self, *args, district_locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if district_locked:
            # A verified resident's district is the register's: shown, never taken from a POST
            # (a disabled field ignores submitted data and keeps its initial value).
            field = self.fields["district"]
            field.disabled = True
            field.help_text = _("From the resident register; to move district, verify again.")
