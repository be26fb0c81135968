"""Admin for notifications: read-only, a record of what was sent."""

from django.contrib import admin

from .models import Notification, PendingTask


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "key", "created_at", "emailed_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["user__email", "key"]
    readonly_fields = ["user", "kind", "key", "params", "url", "created_at", "emailed_at"]


@admin.register(PendingTask)
class PendingTaskAdmin(admin.ModelAdmin):
    """What the broker has not taken yet (Celery beat hands it over): normally empty."""

    list_display = ["task", "args", "attempts", "created_at"]
    readonly_fields = ["task", "args", "attempts", "created_at"]

    def has_add_permission(self, request):
        return False
