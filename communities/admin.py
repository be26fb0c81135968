"""Admin for communities and initiatives.

Reviews, workflow moves and thresholds go through the services (admin actions and saves
call them), so the admin records decisions and history exactly as the pages and the API
do. Fields the workflow owns are read-only here, and a save never writes them back.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from civic.errors import DomainError
from civic.validation import render_markdown

from .models import (
    Attachment,
    CategoryThreshold,
    Community,
    CommunityDecision,
    CommunityInvite,
    Initiative,
    InitiativeProgress,
    InitiativeStatusChange,
    Membership,
    Support,
)
from .services import REASON_MAX, community_decide, threshold_set


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


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The community will see it."),
    )


def _run_decision(modeladmin, request, queryset, action: str, reason: str = "") -> None:
    done = 0
    for community in queryset:
        try:
            community_decide(
                actor=request.user, community_id=community.pk, action=action, reason=reason
            )
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{community}: {exc.message}", messages.WARNING)
    modeladmin.message_user(
        request,
        ngettext_lazy("%(n)d community updated.", "%(n)d communities updated.", "n") % {"n": done},
    )


def _decide(action, title):
    def run(modeladmin, request, queryset):
        _run_decision(modeladmin, request, queryset, action)

    run.__name__ = f"community_{action}"
    run.short_description = title
    return run


def _decide_with_reason(action, title):
    """An action that first asks for the reason (an intermediate page), then decides."""

    def run(modeladmin, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            _run_decision(modeladmin, request, queryset, action, form.cleaned_data["reason"])
            return None
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "communities": queryset,
            "action": run.__name__,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        }
        return TemplateResponse(request, "communities/admin_reason.html", context)

    run.__name__ = f"community_{action}"
    run.short_description = title
    return run


approve = _decide("approve", _("Approve selected communities"))
reinstate = _decide("reinstate", _("Reinstate selected communities"))
reject = _decide_with_reason("reject", _("Reject selected communities"))
suspend = _decide_with_reason("suspend", _("Suspend selected communities"))


def _save_changed(obj, form, extra: tuple[str, ...] = ()) -> None:
    """Write only what the form changed: never a stale copy of fields that services own
    (status, counts) over what they wrote meanwhile."""
    fields = [f for f in form.changed_data if f in {fl.name for fl in obj._meta.concrete_fields}]
    if fields:
        obj.save(update_fields=[*fields, *extra])


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "created_at", "decided_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "name_kk", "name_ru", "name_en"]
    readonly_fields = ["status", "status_reason", "decided_at", "created_by", "created_at"]
    inlines = [MembershipInline, DecisionInline]
    actions = [approve, reject, suspend, reinstate]

    def has_add_permission(self, request):
        return False  # communities register through the site, as their lead

    def save_model(self, request, obj, form, change):
        _save_changed(obj, form)  # Community.save adds name_key when the name changes


@admin.register(CommunityInvite)
class CommunityInviteAdmin(admin.ModelAdmin):
    list_display = ["email", "community", "invited_by", "created_at", "accepted_at"]
    list_filter = ["accepted_at"]
    search_fields = ["email", "community__name"]
    readonly_fields = ["community", "email", "token", "invited_by", "created_at", "accepted_at"]

    def has_add_permission(self, request):
        return False  # leads invite from the members page, which sends the e-mail

    def has_change_permission(self, request, obj=None):
        return False


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
    list_display = [
        "title",
        "community",
        "category",
        "status",
        "supports_count",
        "support_eligibility",
        "created_at",
    ]
    list_filter = ["status", "category", "district", "support_eligibility"]
    search_fields = ["title", "summary"]
    readonly_fields = [
        "community",
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

    def has_add_permission(self, request):
        return False  # initiatives are drafted by community members, through the service

    def save_model(self, request, obj, form, change):
        extra = ["updated_at"]
        if "body" in form.changed_data:
            # The page shows body_html: it is the body rendered and sanitized, as the
            # service renders it, never stale and never raw.
            obj.body_html = render_markdown(obj.body)
            extra.append("body_html")
        _save_changed(obj, form, extra=tuple(extra))


@admin.register(CategoryThreshold)
class CategoryThresholdAdmin(admin.ModelAdmin):
    list_display = ["category", "threshold"]

    def get_readonly_fields(self, request, obj=None):
        return ["category"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        # Through the service: initiatives already over the new threshold enter the queue.
        threshold_set(actor=request.user, category=obj.category, threshold=obj.threshold)
        obj.pk = CategoryThreshold.objects.get(category=obj.category).pk

    def delete_model(self, request, obj):
        threshold_set(actor=request.user, category=obj.category, threshold=None)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            threshold_set(actor=request.user, category=obj.category, threshold=None)


@admin.register(Support)
class SupportAdmin(admin.ModelAdmin):
    list_display = ["initiative", "user", "created_at"]
    raw_id_fields = ["initiative", "user"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(InitiativeProgress)
class InitiativeProgressAdmin(admin.ModelAdmin):
    """Read-only: progress is reported on the initiative's page or through the API, by the
    service that checks who may report it and audits it."""

    list_display = ["initiative", "percent", "created_by", "created_at"]
    list_select_related = ["initiative", "created_by"]
    search_fields = ["initiative__title", "note"]
    readonly_fields = ["initiative", "percent", "note", "photo", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
