"""Page URLs of polls."""

from django.urls import path

from . import views

app_name = "polls"
urlpatterns = [
    path("", views.poll_list, name="index"),
    path("<int:poll_id>/", views.poll_detail, name="detail"),
    path("<int:poll_id>/qr.svg", views.poll_qr, name="qr"),
    path("manage/", views.manage_list, name="manage_list"),
    path("manage/new/", views.manage_create, name="manage_create"),
    path("manage/<int:poll_id>/", views.manage_detail, name="manage_detail"),
    path("manage/<int:poll_id>/edit/", views.manage_edit, name="manage_edit"),
    path("manage/<int:poll_id>/do/<str:action>/", views.manage_action, name="manage_action"),
    path("manage/<int:poll_id>/codes/", views.manage_codes, name="manage_codes"),
    path("manage/<int:poll_id>/codes/<uuid:batch>/", views.codes_print, name="codes_print"),
    path(
        "manage/<int:poll_id>/codes/<uuid:batch>/revoke/",
        views.manage_codes_revoke,
        name="codes_revoke",
    ),
]
