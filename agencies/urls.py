from django.urls import path

from agencies.views import enrolment, files, portal, public, review
from search.views import agency_directory

app_name = "agencies"

urlpatterns = [
    # Public
    path("", agency_directory, name="directory"),  # 名录检索, search/views.py
    path("<int:pk>/", public.profile, name="profile"),
    # Enrolment (入驻申请)
    path("enrol/", enrolment.enrol_start, name="enrol_start"),
    path("enrol/signup/", enrolment.signup, name="signup"),
    path("enrol/register/", enrolment.enrol_register, name="enrol_register"),
    path("enrol/<int:pk>/", enrolment.enrolment, name="enrolment"),
    path("enrol/<int:pk>/basic/", enrolment.enrolment_basic, name="enrolment_basic"),
    path("enrol/<int:pk>/certificates/", enrolment.certificate_add, name="certificate_add"),
    path(
        "enrol/<int:pk>/certificates/<int:cert_pk>/remove/",
        enrolment.certificate_remove,
        name="certificate_remove",
    ),
    path("enrol/<int:pk>/practitioners/", enrolment.practitioner_add, name="practitioner_add"),
    path(
        "enrol/<int:pk>/practitioners/<int:prac_pk>/remove/",
        enrolment.practitioner_remove,
        name="practitioner_remove",
    ),
    path("enrol/<int:pk>/items/", enrolment.service_items, name="service_items"),
    path("enrol/<int:pk>/regions/", enrolment.service_regions, name="service_regions"),
    path("enrol/<int:pk>/submit/", enrolment.enrolment_submit, name="enrolment_submit"),
    path("enrol/<int:pk>/withdraw/", enrolment.enrolment_withdraw, name="enrolment_withdraw"),
    # Agency portal (机构工作台)
    path("portal/", portal.portal, name="portal"),
    path("portal/<int:pk>/", portal.portal_agency, name="portal_agency"),
    path("portal/<int:pk>/offerings/new/", portal.offering_edit, name="offering_add"),
    path(
        "portal/<int:pk>/offerings/<int:offering_pk>/",
        portal.offering_edit,
        name="offering_edit",
    ),
    path(
        "portal/<int:pk>/offerings/<int:offering_pk>/withdraw/",
        portal.offering_withdraw,
        name="offering_withdraw",
    ),
    path("portal/<int:pk>/changes/", portal.change_request_new, name="change_request_new"),
    path(
        "portal/notifications/<int:pk>/read/",
        portal.notification_read,
        name="notification_read",
    ),
    # Regulator review (监管审核)
    path("review/", review.review_queue, name="review_queue"),
    path("review/<int:pk>/", review.review_detail, name="review_detail"),
    path("review/changes/", review.change_queue, name="change_queue"),
    path("review/changes/<int:pk>/", review.change_detail, name="change_detail"),
    # Private files
    path("files/<slug:kind>/<int:pk>/", files.download, name="file"),
]
