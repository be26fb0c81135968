"""Websocket routes of City Dialogue."""

from django.urls import path

from .consumers import SessionQuestionsConsumer

websocket_urlpatterns = [
    path("ws/dialogue/sessions/<int:session_id>/", SessionQuestionsConsumer.as_asgi()),
]
