"""Admin for communities."""

from django.contrib import admin

from .models import Community


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ("name",)}
