"""Account pages beyond allauth's: the profile."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from civic.errors import DomainError
from civic.views import domain_error_response
from residents.permissions import can_import_census
from residents.selectors import verification_detail

from .forms import ProfileForm
from .permissions import require_citizen
from .services import user_update_profile


@login_required
def profile(request):
    try:
        require_citizen(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    user = request.user
    detail = verification_detail(user)
    # A verified resident votes in the register's district; the profile cannot change it.
    resident = detail["state"] == "resident"
    if request.method == "POST":
        form = ProfileForm(
            request.POST,
            initial={"district": detail["district"]} if resident else None,
            district_locked=resident,
        )
        if form.is_valid():
            try:
                user_update_profile(
                    user=user,
                    display_name=form.cleaned_data["display_name"],
                    district=user.district if resident else form.cleaned_data["district"],
                    preferred_language=form.cleaned_data["preferred_language"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("accounts:profile")
    else:
        form = ProfileForm(
            initial={
                "display_name": user.display_name,
                "district": detail["district"] if resident else user.district,
                "preferred_language": user.preferred_language or request.LANGUAGE_CODE,
            },
            district_locked=resident,
        )
    context = {
        "form": form,
        "detail": detail,
        "can_import_census": can_import_census(user),
    }
    return render(request, "accounts/profile.html", context)
