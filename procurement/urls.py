from django.urls import path

from procurement.views import agency, owner, public, regulator
from procurement.views import room as room_views

app_name = "procurement"

urlpatterns = [
    # Public (公开)
    path("", public.announcement_list, name="list"),
    path("verifier.py", public.verifier, name="verifier"),
    # Owner (业主工作台)
    path("owner/", owner.dashboard, name="owner"),
    path("owner/signup/", owner.signup, name="owner_signup"),
    path("owner/projects/new/", owner.project_edit, name="project_add"),
    path("owner/projects/<int:pk>/", owner.project_edit, name="project_edit"),
    path(
        "owner/projects/<int:project_pk>/announce/", owner.announcement_add, name="announcement_add"
    ),
    path("owner/announcements/<int:pk>/", owner.announcement, name="owner_announcement"),
    path(
        "owner/announcements/<int:pk>/publish/",
        owner.announcement_publish,
        name="announcement_publish",
    ),
    path(
        "owner/announcements/<int:pk>/cancel/",
        owner.announcement_cancel,
        name="announcement_cancel",
    ),
    path(
        "owner/announcements/<int:pk>/republish/",
        owner.announcement_republish,
        name="announcement_republish",
    ),
    path("owner/announcements/<int:pk>/exclusions/", owner.exclusion_add, name="exclusion_add"),
    path("owner/exclusions/<int:pk>/remove/", owner.exclusion_remove, name="exclusion_remove"),
    # Agency (机构报名)
    path("agency/", agency.feed, name="feed"),
    path("agency/register/<str:code>/", agency.register, name="register"),
    path("agency/registrations/<int:pk>/", agency.registration, name="registration"),
    path("agency/registrations/<int:pk>/confirm/", agency.confirm, name="confirm"),
    path("agency/registrations/<int:pk>/decline/", agency.decline, name="decline"),
    path("agency/registrations/<int:pk>/objection/", agency.objection, name="objection_new"),
    # Regulator (异议处理)
    path("objections/", regulator.objection_queue, name="objection_queue"),
    path("objections/<int:pk>/", regulator.objection_detail, name="objection_detail"),
    # Public, by announcement number (last: a code is any string)
    path("<str:code>/", public.announcement_detail, name="detail"),
    path("<str:code>/draw.json", public.draw_record, name="draw_record"),
    path("<str:code>/room/", room_views.room_page, name="room"),
]
