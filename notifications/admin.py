"""Admin for notifications: read-only, a record of what was sent."""

from django.contrib import admin

from .models import Notification, PendingTask


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "key", "created_at", "emailed_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["user__email", "key"]
    readonly_fields = ["user", "kind", "key", "params", "url", "created_at", "emailed_at"]

    def has_add_permission(self, request):
        # A notification is what a service sent someone; one added here would have no one.
        return False


@admin.register(PendingTask)
class PendingTaskAdmin(admin.ModelAdmin):
    """Tasks asked for and not finished yet (Celery beat hands them over again): normally
    only the last few seconds' worth."""

    list_display = ["task", "args", "attempts", "created_at", "handed_at"]
    readonly_fields = ["task", "args", "attempts", "created_at", "handed_at"]

    def has_add_permission(self, request):
        return False
