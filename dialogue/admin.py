"""Admin for City Dialogue: read-mostly. Moderation goes through the services (the admin
actions call them), so the audit log and live pushes are the same as on the pages."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from civic.errors import DomainError

from .models import Comment, Flag, Question, Session, SessionBan, Thread
from .services import comment_restore, question_moderate


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows are written by the services only; the admin looks and runs actions."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _run(modeladmin, request, queryset, call, done_message):
    done = 0
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.WARNING)
    modeladmin.message_user(request, done_message % {"n": done})


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ["title", "initiative", "poll", "answer", "created_at", "last_activity_at"]
    list_filter = [("hidden_at", admin.EmptyFieldListFilter)]
    search_fields = ["title"]
    raw_id_fields = ["initiative", "poll", "answer", "created_by"]


@admin.action(description=_("Restore selected comments"))
def restore_comments(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset.filter(hidden_at__isnull=False),
        lambda c: comment_restore(actor=request.user, comment_id=c.pk),
        ngettext_lazy("%(n)d comment restored.", "%(n)d comments restored.", "n"),
    )


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "thread",
        "author",
        "is_official",
        "created_at",
        "hidden_at",
        "deleted_at",
    ]
    list_filter = [
        "is_official",
        ("hidden_at", admin.EmptyFieldListFilter),
        ("deleted_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["body", "author__email", "author__display_name"]
    raw_id_fields = ["thread", "parent", "author", "hidden_by"]
    actions = [restore_comments]


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = [
        "title",
        "language",
        "starts_at",
        "ends_at",
        "moderation",
        "eligibility",
        "created_by",
    ]
    list_filter = ["language", "moderation", "eligibility"]
    search_fields = ["title"]
    raw_id_fields = ["pinned", "created_by"]


@admin.action(description=_("Approve selected questions"))
def approve_questions(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset.exclude(state=Question.State.APPROVED),
        lambda q: question_moderate(actor=request.user, question_id=q.pk, action="approve"),
        ngettext_lazy("%(n)d question approved.", "%(n)d questions approved.", "n"),
    )


@admin.register(Question)
class QuestionAdmin(ReadOnlyAdmin):
    list_display = [
        "text",
        "session",
        "author",
        "anonymous",
        "state",
        "upvotes_count",
        "answered_at",
    ]
    list_filter = ["state", "session"]
    search_fields = ["text", "author__email"]
    raw_id_fields = ["session", "author", "hidden_by"]
    actions = [approve_questions]


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdmin):
    list_display = ["pk", "reporter", "comment", "question", "reason", "created_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    raw_id_fields = ["reporter", "comment", "question"]


@admin.register(SessionBan)
class SessionBanAdmin(ReadOnlyAdmin):
    list_display = ["session", "user", "reason", "banned_by", "created_at"]
    raw_id_fields = ["session", "user", "banned_by"]
