"""URL patterns, included by ratings/urls.py."""

urlpatterns = []
