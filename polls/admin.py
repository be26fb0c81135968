"""Admin for polls: one more entry point to the same services as the officials' pages.

A draft is edited here through poll_create/poll_update; past draft a poll's rules and choices
are shown read-only (the admin's view-only mode, so a crafted POST is refused, and the
service refuses it again). Opening, closing and revoking codes are actions calling services.
"""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from civic.errors import DomainError

from .models import Choice, EventCode, Poll
from .services import (
    ChoiceInput,
    PollInput,
    event_codes_revoke,
    poll_close,
    poll_create,
    poll_delete,
    poll_open,
    poll_schedule,
    poll_update,
)

POLL_INPUT_FIELDS = [
    "original_language",
    "title_kk",
    "title_ru",
    "title_en",
    "description_kk",
    "description_ru",
    "description_en",
    "kind",
    "max_choices",
    "district",
    "eligibility",
    "opens_at",
    "closes_at",
    "results_visibility",
    "allow_vote_change",
    "secret_ballot",
    "ballot_mode",
]
RECORD_FIELDS = ["status", "opened_at", "closed_at", "final_result", "created_by", "created_at"]


def _is_draft(obj) -> bool:
    return obj is None or obj.status == Poll.Status.DRAFT


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0
    fields = ["position", "label_kk", "label_ru", "label_en", "initiative"]
    raw_id_fields = ["initiative"]

    # Past draft the choices are read-only: votes are counted against them.
    def has_add_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)


def _run_on_each(modeladmin, request, queryset, service, done):
    """An admin action: the service, poll by poll, each refusal reported, none a 500."""
    n = 0
    for poll_id in queryset.values_list("pk", flat=True):
        try:
            service(actor=request.user, poll_id=poll_id)
            n += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"#{poll_id}: {exc.message}", messages.ERROR)
    if n:
        modeladmin.message_user(request, done % {"n": n}, messages.SUCCESS)


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "__str__",
        "status",
        "kind",
        "ballot_mode",
        "eligibility",
        "opens_at",
        "closes_at",
        "secret_ballot",
    ]
    list_filter = [
        "status",
        "kind",
        "secret_ballot",
        "results_visibility",
        "ballot_mode",
        "eligibility",
    ]
    search_fields = ["title_kk", "title_ru", "title_en"]
    fields = POLL_INPUT_FIELDS + RECORD_FIELDS
    readonly_fields = RECORD_FIELDS
    inlines = [ChoiceInline]
    actions = ["schedule_polls", "open_polls", "close_polls", "delete_drafts"]

    def get_readonly_fields(self, request, obj=None):
        if _is_draft(obj):
            return list(RECORD_FIELDS)
        return POLL_INPUT_FIELDS + RECORD_FIELDS

    # Past draft the admin shows the poll and changes nothing of it (a POST is refused 403).
    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # Refused by the service: the admin's transaction is rolled back, nothing changed.
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        # Written in save_related, with the choices, by the service (it needs both at once).
        pass

    def save_related(self, request, form, formsets, change):
        data = self._poll_input(form, formsets)
        if change:
            poll = poll_update(actor=request.user, poll_id=form.instance.pk, data=data)
        else:
            poll = poll_create(actor=request.user, data=data)
        # The admin's log entry and redirect read the saved poll from the form's instance,
        # and what each inline saved (the service replaced the choices: nothing listed).
        form.instance.pk = poll.pk
        form.instance.refresh_from_db()
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    @staticmethod
    def _poll_input(form, formsets) -> PollInput:
        d = form.cleaned_data
        rows = []
        for formset in formsets:
            if formset.model is not Choice:
                continue
            for f in formset.forms:
                c = getattr(f, "cleaned_data", None)
                if not c or c.get("DELETE"):
                    continue
                rows.append(c)
        rows.sort(key=lambda c: c.get("position") or 0)
        choices = [
            ChoiceInput(
                label_kk=c.get("label_kk", ""),
                label_ru=c.get("label_ru", ""),
                label_en=c.get("label_en", ""),
                initiative_id=c["initiative"].pk if c.get("initiative") else None,
            )
            for c in rows
        ]
        return PollInput(
            **{
                name: d.get(name)
                for name in POLL_INPUT_FIELDS
                if name not in ("district", "max_choices")
            },
            max_choices=d.get("max_choices") or 1,
            district_id=d["district"].pk if d.get("district") else None,
            choices=choices,
        )

    def delete_model(self, request, obj):
        poll_delete(actor=request.user, poll_id=obj.pk)

    def get_actions(self, request):
        # Deleting goes through the service, draft by draft (delete_drafts).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("Delete the selected drafts"))
    def delete_drafts(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            poll_delete,
            ngettext_lazy("%(n)d draft deleted.", "%(n)d drafts deleted.", "n"),
        )

    @admin.action(description=_("Schedule the selected drafts"))
    def schedule_polls(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            poll_schedule,
            ngettext_lazy("%(n)d poll scheduled.", "%(n)d polls scheduled.", "n"),
        )

    @admin.action(description=_("Open the selected polls now"))
    def open_polls(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            poll_open,
            ngettext_lazy("%(n)d poll opened.", "%(n)d polls opened.", "n"),
        )

    @admin.action(description=_("Close the selected polls now"))
    def close_polls(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            poll_close,
            ngettext_lazy("%(n)d poll closed.", "%(n)d polls closed.", "n"),
        )


@admin.register(EventCode)
class EventCodeAdmin(admin.ModelAdmin):
    """Codes are generated and printed on the officials' pages; here they are looked up, and
    unused ones revoked (the service)."""

    list_display = ["code", "poll", "batch", "created_at", "used_at", "revoked_at"]
    list_filter = ["poll"]
    readonly_fields = ["code", "poll", "batch", "created_by", "created_at", "used_at", "revoked_at"]
    actions = ["revoke_codes"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected unused codes"))
    def revoke_codes(self, request, queryset):
        n = 0
        by_poll: dict[int, list[int]] = {}
        for code_id, poll_id in queryset.values_list("pk", "poll_id"):
            by_poll.setdefault(poll_id, []).append(code_id)
        for poll_id, code_ids in by_poll.items():
            try:
                n += event_codes_revoke(actor=request.user, poll_id=poll_id, code_ids=code_ids)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
        self.message_user(
            request,
            ngettext_lazy("%(n)d unused code revoked.", "%(n)d unused codes revoked.", "n")
            % {"n": n},
            messages.SUCCESS,
        )
