"""Public fee-standard pages, mounted at /fees/ (namespace ``fees``)."""
from django.urls import path

from . import views

app_name = "fees"

urlpatterns: list = [
    path("", views.index, name="index"),
    path("<slug:code>/", views.detail, name="detail"),
    path("<slug:code>/calculate/", views.calculate, name="calculate"),
]
