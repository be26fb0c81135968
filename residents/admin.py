"""Admin views of residents: read-only (imports come through the census service; keys stay hidden)."""

from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib import admin

from .models import CensusImport, IdentityReport, ResidentVerification

# Birge never stores an identity provider's account or tokens (residents/methods/oidc.py ends
# allauth's flow before it would save them): there is nothing to show, and a row added by hand
# would bypass the verification service. The provider itself (SocialApp) stays configurable.
for _model in (SocialAccount, SocialToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CensusImport)
class CensusImportAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "status",
        "is_current",
        "rows_total",
        "rows_imported",
        "rows_rejected",
        "created_by",
    )
    list_filter = ("status", "is_current")
    fields = (
        "id",
        "created_by",
        "created_at",
        "finished_at",
        "status",
        "is_current",
        "original_name",
        "rows_total",
        "rows_imported",
        "rows_rejected",
        "message",
    )


@admin.register(ResidentVerification)
class ResidentVerificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "district", "method", "verified_at", "stale_at", "iin_last4")
    list_filter = ("method", "district")
    search_fields = ("user__email",)
    fields = (
        "user",
        "district",
        "method",
        "verified_at",
        "verified_by",
        "census_import",
        "stale_at",
        "iin_last4",
    )

    def has_delete_permission(self, request, obj=None):
        # Removing a verification is the user's own act (verification_remove), audit-logged.
        return False


@admin.register(IdentityReport)
class IdentityReportAdmin(ReadOnlyAdmin):
    """Read-only: moderators decide reports through identity_report_resolve (the moderation
    page or the API), which audit-logs the decision. No IIN is stored with a report."""

    list_display = ("created_at", "status", "reporter", "reported", "resolved_by", "resolved_at")
    list_filter = ("status",)
    search_fields = ("reporter__email", "reported__email")
    fields = (
        "reporter",
        "reported",
        "created_at",
        "status",
        "message",
        "resolved_by",
        "resolved_at",
        "note",
    )

    def has_delete_permission(self, request, obj=None):
        return False
