"""Websocket routes of communities."""

from django.urls import path

from .consumers import InitiativeConsumer

websocket_urlpatterns = [
    path("ws/initiatives/<int:initiative_id>/", InitiativeConsumer.as_asgi()),
]
