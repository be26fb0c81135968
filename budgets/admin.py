"""Admin for the People's Budget: one more entry point to the same services as the API.

A draft round is edited through round_create/round_update, its projects through project_add,
project_update and project_remove; past draft a round and its projects are read-only (the
admin's view-only mode, so a crafted POST is refused, and the services refuse it again).
Ballots are never shown here. Opening, closing and recomputing are actions calling services.
"""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from civic.errors import DomainError

from .models import BudgetOutcome, BudgetProject, BudgetRound
from .services import (
    ProjectInput,
    RoundInput,
    outcome_request,
    project_add,
    project_remove,
    project_update,
    round_close,
    round_create,
    round_delete,
    round_open,
    round_schedule,
    round_update,
)

ROUND_INPUT_FIELDS = [
    "original_language",
    "title_kk",
    "title_ru",
    "title_en",
    "description_kk",
    "description_ru",
    "description_en",
    "total_budget",
    "min_projects",
    "max_projects",
    "rule",
    "district",
    "eligibility",
    "opens_at",
    "closes_at",
    "results_visibility",
    "allow_ballot_change",
    "secret_ballot",
]
ROUND_RECORD_FIELDS = [
    "status",
    "imported",
    "opened_at",
    "closed_at",
    "final_ballots",
    "computation",
    "computation_progress",
    "computation_error",
    "created_by",
    "created_at",
]
PROJECT_TEXT_FIELDS = [
    "original_language",
    "title_kk",
    "title_ru",
    "title_en",
    "description_kk",
    "description_ru",
    "description_en",
]
PROJECT_RECORD_FIELDS = [
    "estimated_cost",
    "estimate_document",
    "position",
    "pabulib_id",
    "created_by",
    "created_at",
]


def _is_draft(budget_round) -> bool:
    return budget_round is None or budget_round.status == BudgetRound.Status.DRAFT


class _ServiceErrors:
    """A refusal by a service is a message on the same page, never a 500."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_actions(self, request):
        # Deleting goes through the services, one by one.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ProjectInline(admin.TabularInline):
    """The ballot as it stands; projects are added and edited on their own pages."""

    model = BudgetProject
    extra = 0
    fields = ["position", "title", "cost", "initiative", "cost_note"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _run_on_each(modeladmin, request, queryset, service, done):
    n = 0
    for round_id in queryset.values_list("pk", flat=True):
        try:
            service(actor=request.user, round_id=round_id)
            n += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"#{round_id}: {exc.message}", messages.ERROR)
    if n:
        modeladmin.message_user(request, done % {"n": n}, messages.SUCCESS)


@admin.register(BudgetRound)
class BudgetRoundAdmin(_ServiceErrors, admin.ModelAdmin):
    list_display = ["id", "title_en", "status", "rule", "total_budget", "opens_at", "closes_at"]
    list_filter = ["status", "rule", "eligibility", "imported", "computation"]
    search_fields = ["title_kk", "title_ru", "title_en"]
    fields = ROUND_INPUT_FIELDS + ROUND_RECORD_FIELDS
    inlines = [ProjectInline]
    actions = ["schedule_rounds", "open_rounds", "close_rounds", "recompute", "delete_drafts"]

    def get_readonly_fields(self, request, obj=None):
        if _is_draft(obj):
            return list(ROUND_RECORD_FIELDS)
        return ROUND_INPUT_FIELDS + ROUND_RECORD_FIELDS

    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        data = RoundInput(
            **{n: d.get(n) for n in ROUND_INPUT_FIELDS if n != "district"},
            district_id=d["district"].pk if d.get("district") else None,
        )
        if change:
            saved = round_update(actor=request.user, round_id=obj.pk, data=data)
        else:
            saved = round_create(actor=request.user, data=data)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        round_delete(actor=request.user, round_id=obj.pk)

    @admin.action(description=_("Delete the selected drafts"))
    def delete_drafts(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            round_delete,
            ngettext_lazy("%(n)d draft deleted.", "%(n)d drafts deleted.", "n"),
        )

    @admin.action(description=_("Schedule the selected drafts"))
    def schedule_rounds(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            round_schedule,
            ngettext_lazy("%(n)d round scheduled.", "%(n)d rounds scheduled.", "n"),
        )

    @admin.action(description=_("Open the selected rounds now"))
    def open_rounds(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            round_open,
            ngettext_lazy("%(n)d round opened.", "%(n)d rounds opened.", "n"),
        )

    @admin.action(description=_("Close the selected rounds now"))
    def close_rounds(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            round_close,
            ngettext_lazy("%(n)d round closed.", "%(n)d rounds closed.", "n"),
        )

    @admin.action(description=_("Compute the outcomes of the selected closed rounds again"))
    def recompute(self, request, queryset):
        _run_on_each(
            self,
            request,
            queryset,
            outcome_request,
            ngettext_lazy(
                "%(n)d round queued for computing.", "%(n)d rounds queued for computing.", "n"
            ),
        )


@admin.register(BudgetProject)
class BudgetProjectAdmin(_ServiceErrors, admin.ModelAdmin):
    list_display = ["id", "title_en", "round", "cost", "initiative"]
    list_filter = ["round__status"]
    search_fields = ["title_kk", "title_ru", "title_en"]
    raw_id_fields = ["round", "initiative"]
    fields = ["round", "initiative", *PROJECT_TEXT_FIELDS, "cost", "cost_note"]
    actions = ["remove_projects"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        return self.fields + PROJECT_RECORD_FIELDS

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # project_update changes the cost and its note; the rest stays as it was added.
        editable = {"cost", "cost_note"} if _is_draft(obj.round) else set()
        return [f for f in self.get_fields(request, obj) if f not in editable]

    def has_change_permission(self, request, obj=None):
        return (obj is None or _is_draft(obj.round)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or _is_draft(obj.round)) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if change:
            project_update(
                actor=request.user,
                round_id=obj.round_id,
                project_id=obj.pk,
                cost=d.get("cost"),
                cost_note=d.get("cost_note") or "",
            )
            obj.refresh_from_db()
            return
        saved = project_add(
            actor=request.user,
            round_id=d["round"].pk,
            data=ProjectInput(
                **{n: d.get(n) or "" for n in PROJECT_TEXT_FIELDS},
                cost=d.get("cost"),
                cost_note=d.get("cost_note") or "",
                initiative_id=d["initiative"].pk if d.get("initiative") else None,
            ),
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        project_remove(actor=request.user, round_id=obj.round_id, project_id=obj.pk)

    @admin.action(description=_("Take the selected projects off their drafts' ballots"))
    def remove_projects(self, request, queryset):
        n = 0
        for project_id, round_id in queryset.values_list("pk", "round_id"):
            try:
                project_remove(actor=request.user, round_id=round_id, project_id=project_id)
                n += 1
            except DomainError as exc:
                self.message_user(request, f"#{project_id}: {exc.message}", messages.ERROR)
        if n:
            self.message_user(
                request,
                ngettext_lazy("%(n)d project taken off.", "%(n)d projects taken off.", "n")
                % {"n": n},
                messages.SUCCESS,
            )


@admin.register(BudgetOutcome)
class BudgetOutcomeAdmin(admin.ModelAdmin):
    """Computed by the services from the ballots: shown, never edited."""

    list_display = ["round", "rule", "is_primary", "spent", "ballots", "computed_at", "seconds"]
    list_filter = ["rule"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
