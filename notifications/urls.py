"""Page URLs of notifications (under /<lang>/notifications/)."""

from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="index"),
    path("read/", views.mark_all_read, name="mark_all_read"),
]
