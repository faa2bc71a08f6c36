from django.urls import path

from procurement.views import agency, owner, public, regulator
from procurement.views import contracts as contract_views
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
    path("agency/registrations/<int:pk>/deposit/", contract_views.deposit_pay, name="deposit_pay"),
    # Contracts (合同与履约): the parties, covering regulators
    path("contracts/", contract_views.contract_list, name="contracts"),
    path("contracts/<str:code>/", contract_views.contract_detail, name="contract"),
    path("contracts/<str:code>/terms/", contract_views.contract_terms, name="contract_terms"),
    path("contracts/<str:code>/sign/", contract_views.contract_sign, name="contract_sign"),
    path(
        "contracts/<str:code>/paper-copy/",
        contract_views.contract_paper_copy,
        name="contract_paper_copy",
    ),
    path(
        "contracts/<str:code>/paper-copy/file/",
        contract_views.paper_copy_file,
        name="contract_paper_copy_file",
    ),
    path("contracts/<str:code>/start/", contract_views.contract_start, name="contract_start"),
    path(
        "contracts/<str:code>/milestones/<int:milestone_pk>/deliver/",
        contract_views.deliverable_submit,
        name="deliverable_submit",
    ),
    path(
        "contracts/<str:code>/milestones/<int:milestone_pk>/review/",
        contract_views.deliverable_review,
        name="deliverable_review",
    ),
    path(
        "contracts/<str:code>/milestones/<int:milestone_pk>/pay/",
        contract_views.milestone_pay,
        name="milestone_pay",
    ),
    path(
        "contracts/<str:code>/deliverables/<int:pk>/",
        contract_views.deliverable_file,
        name="deliverable_file",
    ),
    path(
        "contracts/<str:code>/extensions/",
        contract_views.extension_propose,
        name="extension_propose",
    ),
    path(
        "contracts/<str:code>/extensions/<int:pk>/",
        contract_views.extension_answer,
        name="extension_answer",
    ),
    path(
        "contracts/<str:code>/terminate/",
        contract_views.contract_terminate,
        name="contract_terminate",
    ),
    path("contracts/<str:code>/document.pdf", contract_views.contract_pdf, name="contract_pdf"),
    path("payments/<str:token>/", contract_views.payment_page, name="payment"),
    path("payments/<str:token>/refund/", contract_views.payment_refund, name="payment_refund"),
    path(
        "payments/<str:token>/test-card/",
        contract_views.payment_test_card,
        name="payment_test_card",
    ),
    # Public, by announcement number (last: a code is any string)
    path("<str:code>/", public.announcement_detail, name="detail"),
    path("<str:code>/draw.json", public.draw_record, name="draw_record"),
    path("<str:code>/room/", room_views.room_page, name="room"),
]
