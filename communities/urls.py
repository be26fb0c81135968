"""Page URLs of communities (under /<lang>/communities/)."""

from django.urls import path

from . import views

app_name = "communities"
urlpatterns = [
    path("", views.community_list, name="index"),
    path("register/", views.community_register, name="register"),
    path("review/", views.community_review, name="review"),
    path("invite/<uuid:token>/", views.invite_accept, name="invite"),
    path("<slug:slug>/", views.community_detail, name="detail"),
    path("<slug:slug>/logo/", views.community_logo, name="logo"),
    path("<slug:slug>/edit/", views.community_edit, name="edit"),
    path("<slug:slug>/members/", views.community_members, name="members"),
    path(
        "<slug:slug>/members/<int:membership_id>/<str:action>/",
        views.member_action,
        name="member_action",
    ),
    path("<slug:slug>/join/", views.community_join, name="join"),
    path("<slug:slug>/leave/", views.community_leave, name="leave"),
    path("<slug:slug>/decide/", views.community_decide, name="decide"),
]
