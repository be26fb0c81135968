"""Websocket routes of polls."""

from django.urls import path

from .consumers import PollResultsConsumer

websocket_urlpatterns = [
    path("ws/polls/<int:poll_id>/", PollResultsConsumer.as_asgi()),
]
