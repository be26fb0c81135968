"""Residents' pages: each verification method's own pages, under /<lang>/residents/<key>/."""

from django.urls import include, path

from .methods import all_methods

app_name = "residents"
urlpatterns = [
    path(f"{method.key}/", include((method.urlpatterns(), method.key)))
    for method in all_methods()
    if method.urlpatterns()
]
