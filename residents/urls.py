"""Residents' pages: the verification page, identity reports, register uploads, and each
verification method's own pages under /<lang>/residents/<key>/."""

from django.urls import include, path

from . import views
from .methods import all_methods

app_name = "residents"
urlpatterns = [
    path("", views.verify, name="verify"),
    path("remove/", views.remove, name="remove"),
    path("report/", views.identity_report, name="report"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:report_id>/", views.report_resolve, name="report_resolve"),
    # Before the methods' includes: the census method's own pages live under census/<page>/.
    path("census/", views.census_imports, name="census_imports"),
]
urlpatterns += [
    path(f"{method.key}/", include((method.urlpatterns(), method.key)))
    for method in all_methods()
    if method.urlpatterns()
]
