"""Admin for communities and initiatives.

Reviews and workflow moves go through the services (admin actions call them), so the
admin records decisions and history exactly as the pages and the API do.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from civic.errors import DomainError

from .models import (
    Attachment,
    CategoryThreshold,
    Community,
    CommunityDecision,
    Initiative,
    InitiativeStatusChange,
    Membership,
    Support,
)
from .services import community_decide


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class DecisionInline(admin.TabularInline):
    model = CommunityDecision
    extra = 0
    can_delete = False
    readonly_fields = ["action", "reason", "actor", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


def _decide(action):
    def run(modeladmin, request, queryset):
        done = 0
        for community in queryset:
            try:
                community_decide(actor=request.user, community_id=community.pk, action=action)
                done += 1
            except DomainError as exc:
                modeladmin.message_user(request, f"{community}: {exc.message}", messages.WARNING)
        modeladmin.message_user(request, _("%(n)d communities updated.") % {"n": done})

    run.__name__ = f"community_{action}"
    return run


approve = _decide("approve")
approve.short_description = _("Approve selected communities")
reinstate = _decide("reinstate")
reinstate.short_description = _("Reinstate selected communities")


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "created_at", "decided_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "name_kk", "name_ru", "name_en"]
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ["status", "status_reason", "decided_at", "created_by", "created_at"]
    inlines = [MembershipInline, DecisionInline]
    actions = [approve, reinstate]


class HistoryInline(admin.TabularInline):
    model = InitiativeStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "response", "actor", "official", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    can_delete = False
    readonly_fields = ["title", "version", "kind", "original_name", "content_type", "size", "file"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Initiative)
class InitiativeAdmin(admin.ModelAdmin):
    list_display = ["title", "community", "category", "status", "supports_count", "created_at"]
    list_filter = ["status", "category", "district"]
    search_fields = ["title", "summary"]
    readonly_fields = [
        "status",
        "supports_count",
        "threshold_reached_at",
        "official_response",
        "responded_at",
        "responded_by",
        "body_html",
        "created_by",
        "submitted_at",
        "status_changed_at",
        "decided_at",
    ]
    inlines = [AttachmentInline, HistoryInline]


@admin.register(CategoryThreshold)
class CategoryThresholdAdmin(admin.ModelAdmin):
    list_display = ["category", "threshold"]


@admin.register(Support)
class SupportAdmin(admin.ModelAdmin):
    list_display = ["initiative", "user", "created_at"]
    raw_id_fields = ["initiative", "user"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
