"""Admin for polls: read-mostly; state changes go through the officials' pages (services)."""

from django.contrib import admin

from .models import Choice, EventCode, Poll


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0
    fields = ["position", "label_kk", "label_ru", "label_en", "initiative"]
    raw_id_fields = ["initiative"]


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ["id", "title_en", "status", "kind", "opens_at", "closes_at", "secret_ballot"]
    list_filter = ["status", "kind", "secret_ballot", "results_visibility"]
    search_fields = ["title_kk", "title_ru", "title_en"]
    readonly_fields = [
        "status",
        "opened_at",
        "closed_at",
        "final_result",
        "created_by",
        "created_at",
    ]
    inlines = [ChoiceInline]


@admin.register(EventCode)
class EventCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "poll", "batch", "created_at", "used_at", "revoked_at"]
    list_filter = ["poll"]
    readonly_fields = ["code", "poll", "batch", "created_by", "created_at", "used_at"]
