"""The demo ratings, complaints and sanctions (ratings/demo.py): each scene produced through the
services, labelled as demo data, on the public blacklist, the suspension ended by the
scheduler's job on schedule, and a second run leaving everything alone. One load per module
(core demo, catalog, agencies, procurement and contracts once, then the ratings demo twice)."""

import datetime

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.test.utils import override_settings
from django.utils import timezone

from marketplace.models import AuditEvent, Notification, OutboxMessage
from procurement.models import Contract, Registration
from ratings import demo as ratings_demo
from ratings import enforcement, sanctions
from ratings.models import (
    Appeal,
    AppealStatus,
    Complaint,
    ComplaintStatus,
    Rating,
    Sanction,
    SanctionSeverity,
    SanctionStatus,
)
from ratings.sanction_rules import covering_regulators

pytestmark = pytest.mark.django_db


def _snapshot() -> dict:
    return {
        "ratings": sorted(Rating.objects.values_list("pk", "contract_id", "reply")),
        "complaints": sorted(Complaint.objects.values_list("code", "status", "published_at")),
        "sanctions": sorted(
            Sanction.objects.values_list("code", "status", "starts_on", "ends_on", "agency_id")
        ),
        "appeals": sorted(Appeal.objects.values_list("pk", "status")),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "notifications": Notification.objects.count(),
    }


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    from agencies.demo import load_agencies_demo
    from cms.demo import load_catalog
    from cms.fees.demo import load_fee_rules
    from marketplace.demo import load_core_demo
    from procurement.demo import load_procurement_demo

    with django_db_blocker.unblock():
        from django.db import connection, transaction

        procurement = {**settings.PROCUREMENT, "MIN_REGISTRATION_WORKING_DAYS": 0}
        with override_settings(PROCUREMENT=procurement):
            atomic = transaction.atomic()
            atomic.__enter__()
            try:
                load_core_demo(province="53")
                load_fee_rules()
                load_catalog()
                load_agencies_demo()
                load_procurement_demo()
                first = ratings_demo.load_ratings_demo()
                before = _snapshot()
                second = ratings_demo.load_ratings_demo()
                after = _snapshot()
                yield {"first": first, "second": second, "before": before, "after": after}
            finally:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
                connection.close()


def _actions(obj) -> list[str]:
    return list(
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(type(obj)), object_id=str(obj.pk)
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_every_scene_is_produced(demo):
    first = demo["first"]
    assert first["created"] == 5
    keys = ("rating", "complaint", "public_complaint", "ban", "suspension")
    assert all(first[key] for key in keys)
    line = ratings_demo.summary_line(first)
    assert first["ban"]["code"] in line and "/ratings/blacklist/" in line
    assert first["public_complaint"]["tracking_url"] in line


def test_the_public_complaint_waits_for_the_statement_and_can_be_followed(demo, client):
    from urllib.parse import urlsplit

    row = demo["first"]["public_complaint"]
    complaint = Complaint.objects.get(code=row["code"])
    assert complaint.complainant_kind == "public" and complaint.complainant_id is None
    assert complaint.status == ComplaintStatus.ACCEPTED and complaint.statement_by is not None
    page = client.get(urlsplit(row["tracking_url"]).path)
    assert page.status_code == 200 and complaint.code in page.content.decode()


def test_second_run_changes_nothing(demo):
    assert demo["second"]["created"] == 0
    assert {k: v for k, v in demo["second"].items() if k != "created"} == {
        k: v for k, v in demo["first"].items() if k != "created"
    }
    assert demo["after"] == demo["before"]


def test_the_accepted_contract_is_rated_and_the_grade_shows(demo):
    from search.kinds import agencies as agency_kind

    row = demo["first"]["rating"]
    contract = Contract.objects.select_related("agency").get(code=row["contract"])
    assert contract.status == "accepted"
    rating = Rating.objects.get(contract=contract)
    assert rating.rated_by.email == "wuhua.owner@demo.example.com"
    assert rating.comment.endswith("（演示）") and rating.reply.endswith("（演示）")
    assert rating.replied_at is not None
    assert _actions(rating) == ["rating.submit", "rating.reply"]
    agency = contract.agency
    assert agency.credit_grade in ("A", "B", "C", "D") and agency.credit_score is not None
    assert row["grade"] == agency.credit_grade
    doc = agency_kind.AgencyKind().documents([str(agency.pk)])[str(agency.pk)]
    assert doc.data["credit_grade"] == agency.credit_grade
    assert doc.data["rating_count"] == 1


def test_the_complaint_is_upheld_and_published(demo):
    complaint = Complaint.objects.get(code=demo["first"]["complaint"]["code"])
    assert complaint.subject.endswith("（演示）")
    assert complaint.status == ComplaintStatus.UPHELD
    assert complaint.published_at is not None and complaint.statement_at is not None
    assert complaint.complainant.email == "dzys.owner@demo.example.com"
    overdue = Contract.objects.get(agency=complaint.agency)
    assert overdue.was_overdue
    assert complaint.decided_by.memberships.filter(organisation=complaint.regulator).exists()
    actions = _actions(complaint)
    for action in ("complaint.file", "complaint.statement"):
        assert actions.count(action) == 1, actions


def test_the_ban_four_eyes_appealed_and_upheld(demo):
    ban = Sanction.objects.select_related("agency__organisation").get(
        code=demo["first"]["ban"]["code"]
    )
    agency = ban.agency
    assert ban.severity == SanctionSeverity.BAN and ban.facts.endswith("（演示）")
    assert ban.status == SanctionStatus.UPHELD
    assert ban.proposed_by.email == "reviewer@demo.example.com"
    assert ban.approved_by.email == "supervisor@demo.example.com"
    for user in (ban.proposed_by, ban.approved_by):
        assert covering_regulators(user, agency)
    appeal = ban.appeal_record
    assert appeal.status == AppealStatus.UPHELD and appeal.grounds.endswith("（演示）")
    # Neither the proposer nor the approver; the Kunming ecology bureau's reviewer when it
    # covers the agency (no free demo agency in its scope today: then the provincial
    # regulator's appeals reviewer).
    assert appeal.decided_by_id not in (ban.proposed_by_id, ban.approved_by_id)
    assert appeal.decided_by.email in (
        "ecology.reviewer@demo.example.com",
        "appeals.reviewer@demo.example.com",
    )
    assert covering_regulators(appeal.decided_by, agency)
    today = timezone.localdate()
    assert ban.starts_on == today and ban.ends_on > today + datetime.timedelta(days=300)
    assert enforcement.is_barred(agency.pk)
    # Not an agency of the other demo scenes.
    assert not Contract.objects.filter(agency=agency).exists()
    assert not Registration.objects.filter(agency=agency).exists()
    assert not Complaint.objects.filter(agency=agency).exists()


def test_the_blacklist_lists_the_ban(demo, client):
    ban = Sanction.objects.select_related("agency__organisation").get(
        code=demo["first"]["ban"]["code"]
    )
    response = client.get("/ratings/blacklist/", {"q": ban.agency.organisation.name})
    assert response.status_code == 200
    page = response.content.decode()
    assert ban.code in page
    assert ban.legal_basis and ban.legal_basis in page
    assert ratings_demo.BAN_REASON == ban.reason_code
    assert sanctions.find_reason(ban.reason_code).display() in page
    assert f"{ban.starts_on.isoformat()} – {ban.ends_on.isoformat()}" in page
    assert ban.appeal_record.decision in page


def test_the_suspension_is_ended_by_the_job_on_schedule(demo):
    """Last (it ends the suspension): in effect until tomorrow, ended the day after."""
    suspension = Sanction.objects.get(code=demo["first"]["suspension"]["code"])
    assert suspension.severity == SanctionSeverity.SUSPENSION
    assert suspension.status == SanctionStatus.IN_EFFECT and suspension.facts.endswith("（演示）")
    today = timezone.localdate()
    assert (suspension.starts_on, suspension.ends_on) == (
        today,
        today + datetime.timedelta(days=1),
    )
    assert enforcement.is_barred(suspension.agency_id)
    sanctions.expire_due(today + datetime.timedelta(days=1))
    suspension.refresh_from_db()
    assert suspension.status == SanctionStatus.IN_EFFECT
    sanctions.expire_due(today + datetime.timedelta(days=2))
    suspension.refresh_from_db()
    assert suspension.status == SanctionStatus.EXPIRED
    assert not enforcement.is_barred(suspension.agency_id, today + datetime.timedelta(days=2))
