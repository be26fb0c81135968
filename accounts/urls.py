"""URLs of the profile pages (allauth's own live under accounts/ too)."""

from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.profile, name="profile"),
]
