"""Websocket routes of every app, gathered in one place (the live draw room joins here)."""

websocket_urlpatterns: list = []
