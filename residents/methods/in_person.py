"""In person: a citizen shows a one-time code at a service desk; an official checks their ID.

The citizen's verification page shows the code (ABCD-EFGH, and the same as a QR code). An
official with the residents.verify_in_person permission opens the desk page, types or scans
the code, sees whose account it is, and enters the IIN from the ID document: the same binding
as every method (residents.services.resident_bind), matched against the register when one is
loaded. The pages never show an IIN back, not even after a refusal.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import District
from accounts.permissions import is_citizen
from civic.errors import DomainError, RateLimited
from civic.qr import qr_svg
from civic.views import domain_error_response

from ..models import DeskCode
from ..permissions import require_in_person_verifier
from ..selectors import current_census_import
from ..services import (
    DESK_CODE_FAILURES,
    METHOD_IN_PERSON,
    desk_code_current,
    desk_code_hash,
    desk_code_issue,
    desk_code_lookup,
    desk_code_normalize,
    resident_verify_in_person,
)
from . import VerificationMethod

# The citizen's own session keeps the code it was shown, so a reload shows the same one
# (the database keeps only its hash).
SESSION_KEY = "residents_desk_code"


class InPersonMethod(VerificationMethod):
    key = METHOD_IN_PERSON
    label = _("In person at a service desk")
    page_template = "residents/methods/in_person.html"

    def page_context(self, request) -> dict:
        """The citizen's usable desk code (a new one when there is none) and its QR code."""
        user = request.user
        if not is_citizen(user):
            return {"desk_code": None}
        stored = request.session.get(SESSION_KEY)
        code = stored.get("code") if isinstance(stored, dict) else None
        live = desk_code_current(user=user, code=code)
        if live is None and request.method != "GET":
            # The page re-rendered after a refused form: a refusal changes nothing, so no code
            # is issued here (the next plain visit shows one).
            return {"desk_code": None, "desk_code_later": True}
        if live is None:
            code, expires_at = _issue(request)
        else:
            expires_at = live.expires_at
        return {
            "desk_code": code,
            "desk_code_expires_at": expires_at,
            # SVG we generate from our own code's letters.
            "desk_code_qr": mark_safe(qr_svg(code, size=168)),  # noqa: S308
            "desk_code_next": request.get_full_path(),
        }

    def urlpatterns(self) -> list:
        return [
            path("desk/", desk, name="desk"),
            path("code/", new_code, name="new_code"),
        ]


def _issue(request) -> tuple:
    code, expires_at = desk_code_issue(actor=request.user)
    request.session[SESSION_KEY] = {"code": code}
    return code, expires_at


@login_required
@require_POST
def new_code(request):
    """A fresh code for the citizen (the previous one stops working), back to their page."""
    try:
        _issue(request)
    except DomainError as exc:
        return domain_error_response(request, exc)
    target = request.POST.get("next", "")
    # A path on this site only: redirect() would take anything else for a view name.
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("accounts:profile")
    return HttpResponseRedirect(target)


# --- the desk ---------------------------------------------------------------------------------


class NoEchoInput(forms.TextInput):
    """A text input that never writes the submitted value back into the page (an IIN)."""

    def format_value(self, value):
        return None


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Citizen's code"),
        max_length=32,
        help_text=_("Type the code from the citizen's page (ABCD-EFGH) or scan its QR code."),
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )


class VerifyForm(forms.Form):
    code = forms.CharField(max_length=32, widget=forms.HiddenInput)
    iin = forms.CharField(
        label=_("IIN from the ID document"),
        max_length=32,
        widget=NoEchoInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "autofocus": True}
        ),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        help_text=_("Only if the document's date differs from the one the IIN carries."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    district = forms.ModelChoiceField(
        label=_("District of the address on the ID document"),
        queryset=District.objects.all(),
        required=False,
        help_text=_("No resident register is loaded, so the district comes from the document."),
    )

    def clean_iin(self):
        # Typed off a card in groups: "900101 300 123" is the same IIN.
        return re.sub(r"[\s-]", "", self.cleaned_data["iin"])

    def __init__(self, *args, register_loaded: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if register_loaded:
            del self.fields["district"]
        else:
            self.fields["district"].required = True


def _account_of(code: str):
    """The account a code the service just accepted belongs to (to show the form again)."""
    row = (
        DeskCode.objects.select_related("user")
        .filter(code_hash=desk_code_hash(code))
        .order_by()
        .first()
    )
    return row.user if row else None


def _render(request, template: str, context: dict, *, error=None, status: int = 200):
    """The page; a domain error's message above the form, with its status (and Retry-After)."""
    if error is not None:
        context["error"] = error.message
        status = error.status
    response = render(request, template, context, status=status)
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def desk(request):
    """The service desk: a code, then the account to confirm and the ID's IIN, then done."""
    try:
        require_in_person_verifier(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    census = current_census_import()
    base = {"census": census}
    if request.method == "GET" or request.POST.get("step") not in ("lookup", "verify"):
        return _render(request, "residents/desk.html", {**base, "form": CodeForm()})
    if request.POST["step"] == "lookup":
        form = CodeForm(request.POST)
        if not form.is_valid():
            return _render(request, "residents/desk.html", {**base, "form": form}, status=400)
        code = desk_code_normalize(form.cleaned_data["code"])
        try:
            citizen = desk_code_lookup(official=request.user, code=code)
        except DomainError as exc:
            return _render(request, "residents/desk.html", {**base, "form": form}, error=exc)
        verify_form = VerifyForm(initial={"code": code}, register_loaded=census is not None)
        context = {**base, "form": verify_form, "citizen": citizen}
        return _render(request, "residents/desk_confirm.html", context)
    return _desk_verify(request, census=census, base=base)


def _desk_verify(request, *, census, base: dict):
    form = VerifyForm(request.POST, register_loaded=census is not None)
    code = desk_code_normalize(request.POST.get("code", ""))
    error = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            verification = resident_verify_in_person(
                official=request.user,
                code=code,
                iin=data["iin"],
                birth_date=data["birth_date"],
                district=data.get("district"),
            )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _done_message(verification))
            return redirect("residents:in_person:desk")
    if error is None:
        # A form error (no IIN, a malformed date): whose code it is, asked as any lookup is.
        try:
            citizen = desk_code_lookup(official=request.user, code=code)
        except DomainError as exc:
            citizen, error = None, exc
    elif error.code in DESK_CODE_FAILURES or isinstance(error, RateLimited):
        citizen = None
    else:
        # The service found the code usable before refusing: show its account again.
        citizen = _account_of(code)
    if citizen is None:
        # The code itself is the problem (or the desk is throttled): start over with a code.
        context = {**base, "form": CodeForm()}
        return _render(request, "residents/desk.html", context, error=error, status=400)
    context = {**base, "form": form, "citizen": citizen}
    return _render(request, "residents/desk_confirm.html", context, error=error, status=400)


def _done_message(verification) -> str:
    citizen = verification.user
    return _g(
        "%(name)s (%(email)s) is now a verified resident of %(district)s (IIN ending in %(last4)s)."
    ) % {
        "name": citizen.public_name,
        "email": citizen.email,
        "district": verification.district.name if verification.district else "—",
        "last4": verification.iin_last4,
    }
