"""JSON API of the search, mounted at /api/search/ (namespace ``search_api``; Oscar owns the
``search`` namespace). The agency directory page itself is agencies:directory."""

from django.urls import path

from search import views

app_name = "search_api"

urlpatterns = [
    path("agencies/", views.api_search, {"kind_path": "agencies"}, name="agencies"),
    path("catalog/", views.api_search, {"kind_path": "catalog"}, name="catalog"),
    path(
        "announcements/",
        views.api_search,
        {"kind_path": "announcements"},
        name="announcements",
    ),
]
