"""URLs of the cross-cutting core (accounts, organisations, regions API …)."""

from django.urls import path

from marketplace import views
from marketplace.stripe_provider import stripe_webhook

app_name = "core"

urlpatterns = [
    path("org/<int:pk>/members/", views.members, name="members"),
    path("floor/", views.floor, name="floor"),
    path("language/", views.switch_language, name="switch_language"),
    path("regions/children.json", views.region_children, name="region-roots"),
    path("regions/<str:code>/children.json", views.region_children, name="region-children"),
    path("payments/stripe/webhook/", stripe_webhook, name="stripe_webhook"),
]
