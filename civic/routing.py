"""Websocket URL routes of every app, gathered in one list for civic.asgi."""

from django.urls import path

from polls.routing import websocket_urlpatterns as polls_routes

from .consumers import HealthConsumer

websocket_urlpatterns: list = [
    path("ws/health/", HealthConsumer.as_asgi()),
    *polls_routes,
]
