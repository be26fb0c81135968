"""Websocket URL routes of every app, gathered in one list for civic.asgi."""

from django.urls import path, re_path

from budgets.routing import websocket_urlpatterns as budgets_routes
from communities.routing import websocket_urlpatterns as communities_routes
from dashboard.routing import websocket_urlpatterns as dashboard_routes
from dialogue.routing import websocket_urlpatterns as dialogue_routes
from polls.routing import websocket_urlpatterns as polls_routes

from .consumers import HealthConsumer, NotFoundConsumer

websocket_urlpatterns: list = [
    path("ws/health/", HealthConsumer.as_asgi()),
    *polls_routes,
    *budgets_routes,
    *communities_routes,
    *dialogue_routes,
    *dashboard_routes,
    re_path(r"", NotFoundConsumer.as_asgi()),  # last: whatever matched nothing above
]
