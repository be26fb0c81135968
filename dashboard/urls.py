"""Page URLs of the akimat dashboard (under /<lang>/dashboard/)."""

from django.urls import path

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.index, name="index"),
    path("initiatives/<int:initiative_id>/decide/", views.decide, name="decide"),
    path("polls/<int:poll_id>/projector/", views.projector, name="projector"),
    path("exports/", views.exports, name="exports"),
    path("exports/<uuid:public_id>/status/", views.export_status, name="export_status"),
    path("exports/<uuid:public_id>/download/", views.export_download, name="export_download"),
]
