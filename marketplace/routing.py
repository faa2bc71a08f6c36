"""Websocket routes of every app, gathered in one place."""

from django.urls import path

from procurement.consumers import DrawRoomConsumer, NotificationConsumer

websocket_urlpatterns: list = [
    path("ws/procurement/<str:code>/room/", DrawRoomConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
