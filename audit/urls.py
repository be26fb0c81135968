"""Page URLs of the audit log (under /<lang>/audit/)."""

from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.index, name="index"),
    path("export/", views.export, name="export"),
]
