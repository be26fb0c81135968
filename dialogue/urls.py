"""Page URLs of City Dialogue (under /<lang>/dialogue/)."""

from django.urls import path

from . import views

app_name = "dialogue"
urlpatterns = [
    path("", views.index, name="index"),
    path("about/<str:kind>/<int:pk>/", views.thread_start, name="thread_start"),
    path("threads/<int:pk>/", views.thread_detail, name="thread"),
    path("threads/<int:pk>/do/<str:action>/", views.thread_action, name="thread_action"),
    path("comments/<int:pk>/edit/", views.comment_edit_view, name="comment_edit"),
    path("comments/<int:pk>/do/<str:action>/", views.comment_action, name="comment_action"),
    path("sessions/new/", views.session_new, name="session_new"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/presenter/", views.session_presenter, name="presenter"),
    path("sessions/<int:pk>/ban/", views.session_ban_view, name="session_ban"),
    path("sessions/<int:pk>/unban/", views.session_unban_view, name="session_unban"),
    path("flags/", views.flag_queue, name="flags"),
    path("flags/<int:pk>/do/<str:action>/", views.flag_action, name="flag_action"),
    path("questions/<int:pk>/do/<str:action>/", views.question_action, name="question_action"),
]
