"""Residents' pages: "Verify your residence" (every enabled method's snippet, the census form,
removal, a report when the IIN is taken), the moderators' identity reports and the officials'
register uploads. Thin: the rules and the changes are residents.permissions and services.

No page ever writes a submitted IIN back into its HTML (forms.NoEchoInput).
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _g
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import District
from accounts.permissions import is_moderator, require_moderator
from civic.errors import DomainError, Forbidden, NotAuthenticated
from civic.ratelimit import client_address
from civic.views import domain_error_response

from .forms import CensusUploadForm, CensusVerifyForm, IdentityReportForm, IdentityReportResolveForm
from .methods import enabled_methods, take_identity_report_offer
from .models import CensusImport
from .permissions import can_import_census, require_can_verify, require_census_importer
from .selectors import (
    census_import_has_report,
    identity_report_rows,
    identity_reports_open,
    verification_detail,
)
from .services import (
    census_import_create,
    identity_report_create,
    identity_report_resolve,
    resident_verify_census,
    verification_remove,
)

# The census method's key: the snippet whose context a refused form overrides.
CENSUS_KEY = "census"
IMPORTS_SHOWN = 20
REFRESH_SECONDS = 5
# The report form sits on the page next to the census form: its own field ids.
REPORT_PREFIX = "report"


def _with_retry_after(response, error):
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


def _as_verify_page(request):
    """The request as the methods' snippets should see it: the verify page's address, also
    when a refused POST re-renders it (a snippet's "come back here" must not be a POST URL)."""
    if request.method in ("GET", "HEAD"):
        return request
    shown = copy.copy(request)
    shown.path = reverse("residents:verify")
    return shown


def _method_snippets(request, overrides: dict) -> list[dict]:
    """Each enabled method's snippet, rendered with its own context (and a refused form's)."""
    snippets = []
    request = _as_verify_page(request)
    for method in enabled_methods():
        if not method.page_template:
            continue
        context = {**method.page_context(request), **overrides.get(method.key, {})}
        snippets.append(
            {
                "key": method.key,
                "label": method.label,
                "html": render_to_string(method.page_template, context, request=request),
            }
        )
    return snippets


def _verify_page(request, *, status: int = 200, census: dict | None = None, error=None):
    context = {
        "detail": verification_detail(request.user),
        "methods": _method_snippets(request, {CENSUS_KEY: census or {}}),
        "can_import_census": can_import_census(request.user),
        "is_moderator": is_moderator(request.user),
    }
    response = render(request, "residents/verify.html", context, status=status)
    return _with_retry_after(response, error)


def _citizen_or_error(request):
    try:
        require_can_verify(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    return None


@login_required
@require_http_methods(["GET", "HEAD"])
def verify(request):
    """The citizen's verification: where they stand, and every way to verify."""
    if refusal := _citizen_or_error(request):
        return refusal
    census = None
    if take_identity_report_offer(request):
        census = {
            "census_code": "iin_taken",
            "report_form": IdentityReportForm(prefix=REPORT_PREFIX),
        }
    return _verify_page(request, census=census)


def _refused(exc) -> bool:
    """Errors that are not about the IIN typed: the error page, not the form."""
    return isinstance(exc, NotAuthenticated | Forbidden)


@login_required
@require_POST
def census_verify(request):
    """The census method's form: IIN and date of birth matched against the register."""
    if refusal := _citizen_or_error(request):
        return refusal
    form = CensusVerifyForm(request.POST)
    if not form.is_valid():
        return _verify_page(request, status=422, census={"census_form": form})
    try:
        verification = resident_verify_census(
            actor=request.user,
            iin=form.cleaned_data["iin"],
            birth_date=form.cleaned_data["birth_date"],
            address=client_address(request),
        )
    except DomainError as exc:
        if _refused(exc):
            return domain_error_response(request, exc)
        census = {"census_form": form, "census_error": exc.message, "census_code": exc.code}
        if exc.code == "iin_taken":
            census["report_form"] = IdentityReportForm(
                prefix=REPORT_PREFIX, initial={"birth_date": form.cleaned_data["birth_date"]}
            )
        return _verify_page(request, status=exc.status, census=census, error=exc)
    messages.success(
        request,
        _g("You are now a verified resident of %(district)s.")
        % {"district": verification.district.name if verification.district else "—"},
    )
    return redirect("residents:verify")


@login_required
@require_POST
def identity_report(request):
    """After 409 iin_taken: report that the account holding the IIN is not the citizen's."""
    if refusal := _citizen_or_error(request):
        return refusal
    form = IdentityReportForm(request.POST, prefix=REPORT_PREFIX)
    error = None
    if form.is_valid():
        try:
            identity_report_create(
                actor=request.user,
                iin=form.cleaned_data["iin"],
                birth_date=form.cleaned_data["birth_date"],
                message=form.cleaned_data["message"],
                address=client_address(request),
            )
        except DomainError as exc:
            if _refused(exc):
                return domain_error_response(request, exc)
            error = exc
        else:
            messages.success(
                request,
                _g(
                    "Your report was sent to the moderators. They will look at both accounts "
                    "and write to you."
                ),
            )
            return redirect("residents:verify")
    census = {
        "census_code": "iin_taken",
        "report_form": form,
        "report_error": error.message if error else None,
    }
    status = error.status if error else 422
    return _verify_page(request, status=status, census=census, error=error)


@login_required
@require_POST
def remove(request):
    """Remove the citizen's own verification; ballots already cast stay."""
    try:
        removed = verification_remove(actor=request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    if removed:
        messages.success(
            request,
            _g("Your verification is removed. The ballots you already cast stay counted."),
        )
    else:
        messages.info(request, _g("Your account was not verified."))
    return redirect("residents:verify")


# --- moderators: identity reports -------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def reports(request):
    """Open identity reports: both accounts, never the IIN."""
    try:
        require_moderator(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    rows = identity_report_rows(identity_reports_open())
    ids = {row[side]["district"] for row in rows for side in ("reporter", "reported")}
    names = {d.pk: d.name for d in District.objects.filter(pk__in=ids - {None})}
    for row in rows:
        for side in ("reporter", "reported"):
            row[side]["district_name"] = names.get(row[side]["district"], "")
    return render(
        request,
        "residents/reports.html",
        {"rows": rows, "resolve_form": IdentityReportResolveForm()},
    )


@login_required
@require_POST
def report_resolve(request, report_id: int):
    form = IdentityReportResolveForm(request.POST)
    try:
        require_moderator(request.user)
        if not form.is_valid():
            return domain_error_response(
                request, DomainError(_g("Choose resolved or dismissed."), code="bad_status")
            )
        report = identity_report_resolve(
            actor=request.user,
            report_id=report_id,
            status=form.cleaned_data["status"],
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        return domain_error_response(request, exc)
    messages.success(
        request,
        _g("The report is closed: %(status)s.") % {"status": report.get_status_display()},
    )
    return redirect("residents:reports")


# --- officials: loading the register ----------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def census_imports(request):
    """Upload the register; past imports with their counts; a running one refreshes."""
    try:
        require_census_importer(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    status = 200
    error = None
    if request.method == "POST":
        form = CensusUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                census = census_import_create(actor=request.user, file=form.cleaned_data["file"])
            except DomainError as exc:
                return domain_error_response(request, exc)
            if census.status == CensusImport.Status.REFUSED:
                error, status = census.message, 400
            else:
                messages.success(
                    request,
                    _g("The register is uploaded and queued for import. This page shows progress."),
                )
                return redirect("residents:census_imports")
        else:
            status = form.error_status()
    else:
        form = CensusUploadForm()
    imports = list(
        CensusImport.objects.select_related("created_by").order_by("-created_at")[:IMPORTS_SHOWN]
    )
    for census in imports:
        # The API's permission-checked download, only where a report was written.
        census.errors_url = (
            reverse("api:census_import_errors", kwargs={"import_id": str(census.pk)})
            if census.rows_rejected and census_import_has_report(census)
            else None
        )
    active = (CensusImport.Status.QUEUED, CensusImport.Status.RUNNING)
    context = {
        "form": form,
        "upload_error": error,
        "imports": imports,
        "refresh_seconds": REFRESH_SECONDS if any(i.status in active for i in imports) else None,
        "active_statuses": active,
    }
    return render(request, "residents/census_imports.html", context, status=status)
