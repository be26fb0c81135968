"""Root URLs. Pages live under a language prefix (/kk/, /ru/, /en/); the API, the health
check, the admin and the language switch do not."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path

from . import views
from .api import api, api_not_found
from .health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # The bare root would be django-ninja's HTML 404; the API answers JSON everywhere.
    path("api/v1/", api_not_found),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
]

urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("profile/", include("accounts.urls")),
    path("polls/", include("polls.urls")),
    path("budgets/", include("budgets.urls")),
    path("communities/", include("communities.urls")),
    path("initiatives/", include("communities.initiative_urls")),
    path("notifications/", include("notifications.urls")),
    path("dialogue/", include("dialogue.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("audit/", include("audit.urls")),
    path("residents/", include("residents.urls")),
    prefix_default_language=True,
)
