"""Ratings (服务评价), complaints (投诉举报), sanctions and the blacklist (黑名单): mounted at
/ratings/ (the public blacklist at /ratings/blacklist/)."""

from django.urls import include, path

app_name = "ratings"

urlpatterns = [
    path("", include("ratings.urls_ratings")),
    path("", include("ratings.urls_complaints")),
    path("", include("ratings.urls_sanctions")),
]
