"""Page URLs of the People's Budget (under /<lang>/budgets/)."""

from django.urls import path

from . import views

app_name = "budgets"
urlpatterns = [
    path("", views.round_list, name="index"),
    path("<int:round_id>/", views.round_detail, name="detail"),
    path("manage/", views.manage_list, name="manage_list"),
    path("manage/new/", views.manage_create, name="manage_create"),
    path("manage/<int:round_id>/", views.manage_detail, name="manage_detail"),
    path("manage/<int:round_id>/edit/", views.manage_edit, name="manage_edit"),
    path("manage/<int:round_id>/projects/", views.project_add, name="project_add"),
    path(
        "manage/<int:round_id>/projects/initiative/",
        views.project_add_initiative,
        name="project_add_initiative",
    ),
    path(
        "manage/<int:round_id>/projects/<int:project_id>/cost/",
        views.project_cost,
        name="project_cost",
    ),
    path(
        "manage/<int:round_id>/projects/<int:project_id>/remove/",
        views.project_remove,
        name="project_remove",
    ),
    path("manage/<int:round_id>/do/<str:action>/", views.manage_action, name="manage_action"),
]
