"""JSON API of residents: the signed-in user's verification, identity reports, census imports.

Thin: every rule lives in residents.services, .selectors and .permissions (the pages ask the
same ones). No answer carries an IIN; a census import's error report is served only here,
to officials with the census permission, never from MEDIA_URL.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Router, Schema, Status, UploadedFile
from ninja.security import django_auth

from accounts.permissions import require_moderator
from civic.errors import Conflict, InvalidInput, PayloadTooLarge
from civic.ratelimit import client_address

from .models import CensusImport, IdentityReport
from .permissions import require_census_importer
from .selectors import (
    census_import_get,
    census_import_has_report,
    identity_report_get,
    identity_report_rows,
    identity_reports,
    verification_of,
)
from .services import (
    IDENTITY_REPORT_MESSAGE_MAX,
    IDENTITY_REPORT_NOTE_MAX,
    census_import_create,
    identity_report_create,
    identity_report_resolve,
    resident_verify_census,
    verification_remove,
)

router = Router(tags=["residents"])


class ErrorOut(Schema):
    detail: str
    code: str


class TakenOut(ErrorOut):
    report_url: str = Field(description="POST here to report the IIN's holder to moderators")


class RetryOut(ErrorOut):
    pass


class VerificationOut(Schema):
    level: str = Field(description="email or resident")
    district: int | None = Field(description="the District id of a verified resident")
    method: str | None
    verified_at: datetime | None


class VerificationIn(Schema):
    iin: str = Field(..., max_length=64, description="the 12-digit IIN")
    birth_date: str = Field(..., max_length=32, description="YYYY-MM-DD")

    model_config = {"extra": "forbid"}


class ReportIn(Schema):
    iin: str = Field(..., max_length=64)
    birth_date: str | None = Field(None, max_length=32, description="YYYY-MM-DD")
    message: str = Field("", max_length=IDENTITY_REPORT_MESSAGE_MAX)

    model_config = {"extra": "forbid"}


class ReportCreatedOut(Schema):
    id: int
    status: str


class AccountOut(Schema):
    id: int
    email: str
    display_name: str
    is_active: bool
    verified_at: datetime | None
    method: str | None
    district: int | None
    stale: bool


class ReportOut(Schema):
    id: int
    status: str
    created_at: datetime
    message: str
    note: str
    resolved_at: datetime | None
    resolved_by: str | None
    reporter: AccountOut
    reported: AccountOut


class ResolveIn(Schema):
    status: str = Field(..., max_length=16, description="resolved or dismissed")
    note: str = Field("", max_length=IDENTITY_REPORT_NOTE_MAX)

    model_config = {"extra": "forbid"}


class ImportCreatedOut(Schema):
    id: str
    status: str


class ImportOut(Schema):
    id: str
    status: str
    rows_total: int
    rows_imported: int
    rows_rejected: int
    errors_url: str | None = Field(description="the per-line error report (CSV), for officials")
    message: str
    created_at: datetime
    finished_at: datetime | None
    is_current: bool


WRITE_ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    415: ErrorOut,
    422: dict,
    429: RetryOut,
}


# --- the signed-in user's verification --------------------------------------------------------


@router.get(
    "/me/verification",
    response={200: VerificationOut, 401: ErrorOut},
    auth=django_auth,
)
def my_verification(request):
    return verification_of(request.auth)


@router.post(
    "/me/verification",
    response={200: VerificationOut, 409: TakenOut, **WRITE_ERRORS},
    auth=django_auth,
)
def verify(request, data: VerificationIn):
    try:
        resident_verify_census(
            actor=request.auth,
            iin=data.iin,
            birth_date=data.birth_date,
            address=client_address(request),
        )
    except Conflict as exc:
        if exc.code != "iin_taken":
            raise
        return Status(
            409,
            {
                "detail": str(exc.message),
                "code": exc.code,
                "report_url": reverse("api:resident_identity_report"),
            },
        )
    return verification_of(request.auth)


@router.delete(
    "/me/verification",
    response={204: None, 401: ErrorOut},
    auth=django_auth,
)
def unverify(request):
    # Idempotent: 204 whether or not there was a verification to remove.
    verification_remove(actor=request.auth)
    return Status(204, None)


@router.post(
    "/me/verification/report",
    response={201: ReportCreatedOut, 409: ErrorOut, **WRITE_ERRORS},
    auth=django_auth,
    url_name="resident_identity_report",
)
def report_identity(request, data: ReportIn):
    report = identity_report_create(
        actor=request.auth,
        iin=data.iin,
        birth_date=data.birth_date,
        message=data.message,
        address=client_address(request),
    )
    return Status(201, {"id": report.pk, "status": report.status})


# --- moderators: identity reports ------------------------------------------------------------

REPORT_STATUSES = [s.value for s in IdentityReport.Status]


@router.get(
    "/moderation/identity-reports",
    response={200: list[ReportOut], 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: dict},
    auth=django_auth,
)
def identity_report_list(request, status: str = "open"):
    require_moderator(request.auth)
    if status not in (*REPORT_STATUSES, "all"):
        raise InvalidInput(_("Unknown status."), code="bad_status")
    rows = identity_reports(status=None if status == "all" else status)[:200]
    return identity_report_rows(rows)


@router.post(
    "/moderation/identity-reports/{report_id}",
    response={200: ReportOut, 409: ErrorOut, **WRITE_ERRORS},
    auth=django_auth,
)
def identity_report_decide(request, report_id: int, data: ResolveIn):
    report = identity_report_resolve(
        actor=request.auth, report_id=report_id, status=data.status, note=data.note
    )
    return identity_report_rows([identity_report_get(report.pk)])[0]


# --- officials: census imports ---------------------------------------------------------------


def _import_or_404(import_id: str) -> CensusImport:
    census = census_import_get(import_id)
    if census is None:
        raise Http404
    return census


def _import_out(census: CensusImport) -> dict:
    errors_url = None
    if census_import_has_report(census):
        errors_url = reverse("api:census_import_errors", kwargs={"import_id": str(census.pk)})
    return {
        "id": str(census.pk),
        "status": census.status,
        "rows_total": census.rows_total,
        "rows_imported": census.rows_imported,
        "rows_rejected": census.rows_rejected,
        "errors_url": errors_url,
        "message": census.message,
        "created_at": census.created_at,
        "finished_at": census.finished_at,
        "is_current": census.is_current,
    }


@router.post(
    "/census/imports",
    response={202: ImportCreatedOut, **WRITE_ERRORS},
    auth=django_auth,
)
def census_import_upload(request, file: File[UploadedFile]):
    require_census_importer(request.auth)
    if not file.size:
        raise InvalidInput(_("The file is empty."), code="empty_file")
    census = census_import_create(actor=request.auth, file=file)
    if census.status == CensusImport.Status.REFUSED:
        raise PayloadTooLarge(
            census.message
            or _("The file is larger than %(max)s bytes and was not read.")
            % {"max": settings.CENSUS_MAX_BYTES},
            code="too_large",
        )
    return Status(202, {"id": str(census.pk), "status": census.status})


@router.get(
    "/census/imports/{import_id}",
    response={200: ImportOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    auth=django_auth,
)
def census_import_status(request, import_id: str):
    require_census_importer(request.auth)
    return _import_out(_import_or_404(import_id))


@router.get(
    "/census/imports/{import_id}/errors",
    response={401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    auth=django_auth,
    url_name="census_import_errors",
)
def census_import_errors(request, import_id: str):
    require_census_importer(request.auth)
    census = _import_or_404(import_id)
    if not census_import_has_report(census):
        raise Http404
    try:
        handle = census.error_report.open("rb")
    except (OSError, ValueError):
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"census-import-{census.pk}-errors.csv",
        content_type="text/csv; charset=utf-8",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
