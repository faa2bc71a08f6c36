"""URLs of the cross-cutting core (accounts, organisations, regions API …)."""

from django.urls import path

from marketplace import views

app_name = "core"

urlpatterns = [
    path("floor/", views.floor, name="floor"),
]
