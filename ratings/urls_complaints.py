"""URL patterns of complaints (投诉举报), included by ratings/urls.py (app "ratings", at
/ratings/)."""

from django.urls import path

from ratings.views import complaints

urlpatterns = [
    path("complaints/new/", complaints.complaint_new, name="complaint_new"),
    path("complaints/filed/", complaints.complaint_filed, name="complaint_filed"),
    path("complaints/mine/", complaints.my_complaints, name="complaint_mine"),
    path("complaints/queue/", complaints.complaint_queue, name="complaint_queue"),
    path("complaints/outcomes/", complaints.outcomes, name="complaint_outcomes"),
    path(
        "complaints/evidence/<int:pk>/",
        complaints.evidence_download,
        name="complaint_evidence",
    ),
    path(
        "complaints/track/<str:code>/<str:token>/",
        complaints.complaint_track,
        name="complaint_track",
    ),
    path("complaints/<str:code>/", complaints.complaint_detail, name="complaint_detail"),
]
