"""Admin for users and districts, with actions that grant and revoke roles.

Roles are groups, and they change only through accounts.services (role_grant/role_revoke,
called by the actions below and by the grant_role command), which records every change in
the audit log: the user form shows groups and permissions read-only. A superuser may still
change is_staff / is_superuser on the form; each such change is recorded in the audit log.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.services import audit_record

from .models import District, Role, User
from .services import role_grant, role_revoke


def _role_action(role: Role, grant: bool):
    def action(modeladmin, request, queryset):
        service = role_grant if grant else role_revoke
        changed = sum(service(actor=request.user, user=user, role=role) for user in queryset)
        modeladmin.message_user(
            request,
            ngettext("%(count)d user changed.", "%(count)d users changed.", changed)
            % {"count": changed},
            messages.SUCCESS,
        )

    verb = _("Grant role: %(role)s") if grant else _("Revoke role: %(role)s")
    action.short_description = verb % {"role": role.label}
    action.__name__ = f"{'grant' if grant else 'revoke'}_{role.value}"
    return action


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "district", "preferred_language", "is_active"]
    list_filter = ["is_active", "is_staff", "groups", "district"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("display_name", "district", "preferred_language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = [_role_action(role, grant) for role in Role for grant in (True, False)]
    # Not editable here: a change to them would bypass role_grant and the audit log.
    readonly_fields = ["groups", "user_permissions", "last_login", "date_joined"]
    filter_horizontal = ()
    AUDITED_FLAGS = ("is_staff", "is_superuser")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += list(self.AUDITED_FLAGS)
        return fields

    def save_model(self, request, obj, form, change):
        changed = {
            flag: getattr(obj, flag)
            for flag in self.AUDITED_FLAGS
            if change and flag in form.changed_data
        }
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if changed:
                audit_record(actor=request.user, action="user.flags", target=obj, data=changed)


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_kk", "name_ru", "name_en", "position"]
