"""JSON API of fee standards, mounted at /api/fees/ (namespace ``fees_api``)."""
from django.urls import path

from . import views

app_name = "fees_api"

urlpatterns: list = [
    path("calculate/", views.api_calculate, name="calculate"),
    path("rules/", views.api_rules, name="rules"),
    path("rules/<slug:code>/", views.api_rule, name="rule"),
]
