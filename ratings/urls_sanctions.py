"""URL patterns of sanctions, appeals and the public blacklist (失信惩戒、申诉、黑名单), included
by ratings/urls.py (app "ratings", at /ratings/)."""

from django.urls import path

from ratings.views import sanctions

urlpatterns = [
    path("blacklist/", sanctions.blacklist, name="blacklist"),
    path("sanctions/", sanctions.sanction_list, name="sanction_list"),
    path("sanctions/propose/", sanctions.sanction_propose, name="sanction_propose"),
    path("sanctions/approvals/", sanctions.approval_queue, name="sanction_approvals"),
    path("sanctions/appeals/", sanctions.appeal_queue, name="sanction_appeals"),
    path("sanctions/mine/", sanctions.agency_sanctions, name="agency_sanctions"),
    path("sanctions/<int:pk>/", sanctions.sanction_detail, name="sanction_detail"),
    path("sanctions/<int:pk>/appeal/", sanctions.appeal_create, name="sanction_appeal"),
]
