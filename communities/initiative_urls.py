"""Page URLs of initiatives (under /<lang>/initiatives/)."""

from django.urls import path

from . import views

app_name = "initiatives"
urlpatterns = [
    path("", views.initiative_index, name="index"),
    path("map/", views.initiative_map, name="map"),
    path("new/", views.initiative_new, name="new"),
    path("review/", views.initiative_review, name="review"),
    path("<int:pk>/", views.initiative_detail, name="detail"),
    path("<int:pk>/edit/", views.initiative_edit, name="edit"),
    path("<int:pk>/support/", views.initiative_support, name="support"),
    path("<int:pk>/unsupport/", views.initiative_unsupport, name="unsupport"),
    path("<int:pk>/move/", views.initiative_move, name="move"),
    path("<int:pk>/decide/", views.initiative_decide, name="decide"),
    path("<int:pk>/documents/", views.attachment_upload, name="attachment_upload"),
    path("<int:pk>/progress/", views.progress_add, name="progress_add"),
    path(
        "<int:pk>/documents/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
]
