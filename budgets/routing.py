"""Websocket routes of the People's Budget."""

from django.urls import path

from .consumers import BudgetRoundConsumer

websocket_urlpatterns = [
    path("ws/budgets/<int:round_id>/", BudgetRoundConsumer.as_asgi()),
]
