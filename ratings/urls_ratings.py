"""URL patterns of ratings and credit, included by ratings/urls.py (mounted at /ratings/)."""

from django.urls import path

from ratings.views import ratings

urlpatterns = [
    path("contracts/<str:code>/rate/", ratings.rate, name="rate"),
    path("ratings/<int:pk>/reply/", ratings.reply, name="reply"),
    path("agencies/<int:pk>/credit/", ratings.credit_history, name="credit_history"),
]
