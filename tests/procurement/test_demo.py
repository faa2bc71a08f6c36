"""The demo procurement (procurement/demo.py): every stage produced through the services, each
draw verifying, labelled as demo data, idempotent, and the open announcement drawn by the
scheduler once its deadline (minutes after loading) passes."""

import datetime

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.test.utils import override_settings
from django.utils import timezone

from marketplace.models import AuditEvent, OutboxMessage, User
from marketplace.validators import is_valid_uscc
from procurement import draw, jobs
from procurement.demo import OPEN_DEADLINE_MINUTES, SPECS, load_procurement_demo
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Contract,
    Draw,
    Owner,
    Project,
    Registration,
    RegistrationStatus,
)
from procurement.validators import validate_project_code

pytestmark = pytest.mark.django_db

EXPECTED = {
    "open": AnnouncementStatus.PUBLISHED,
    "selected": AnnouncementStatus.SELECTED,
    "publicity": AnnouncementStatus.PUBLICITY,
    "awarded": AnnouncementStatus.AWARDED,
    "failed": AnnouncementStatus.FAILED,
    "direct": AnnouncementStatus.PUBLICITY,
}


def _snapshot() -> dict:
    return {
        "owners": Owner.objects.count(),
        "projects": Project.objects.count(),
        "users": User.objects.count(),
        "announcements": sorted(Announcement.objects.values_list("code", "status")),
        "registrations": sorted(Registration.objects.values_list("pk", "status")),
        "draws": sorted(Draw.objects.values_list("pk", "record")),
        "contracts": Contract.objects.count(),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Core demo (Yunnan), catalog, demo agencies, then the procurement demo twice (the
    second run is the idempotency check), with the dev demo's 0 working-day minimum."""
    from agencies.demo import load_agencies_demo
    from cms.demo import load_catalog
    from cms.fees.demo import load_fee_rules
    from marketplace.demo import load_core_demo

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
                loaded_at = timezone.now()
                first = load_procurement_demo()
                before = _snapshot()
                second = load_procurement_demo()
                after = _snapshot()
                yield {
                    "first": first,
                    "second": second,
                    "before": before,
                    "after": after,
                    "loaded_at": loaded_at,
                }
            finally:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
                connection.close()


def _announcement(demo, key) -> Announcement:
    code, _status = demo["first"]["announcements"][key]
    return Announcement.objects.get(code=code)


def test_every_stage_is_produced(demo):
    assert demo["first"]["created"] == len(SPECS)
    statuses = {key: status for key, (_code, status) in demo["first"]["announcements"].items()}
    assert statuses == EXPECTED


def test_second_run_changes_nothing(demo):
    assert demo["second"]["created"] == 0
    assert demo["second"]["announcements"] == demo["first"]["announcements"]
    assert demo["after"] == demo["before"]


def test_labelled_as_demo_and_valid(demo):
    announcements = Announcement.objects.filter(illustrative=True)
    assert announcements.count() == len(SPECS)
    projects = Project.objects.filter(announcements__in=announcements).distinct()
    assert projects and all(p.illustrative for p in projects)
    for project in projects:
        validate_project_code(project.code)  # raises when invalid
        assert project.code.split("-")[1] == project.region_id  # a real region code
    for owner in Owner.objects.select_related("organisation"):
        assert is_valid_uscc(owner.organisation.uscc)
        assert owner.organisation.name.endswith("（演示）") or owner.organisation.name.startswith(
            "示例："
        )


def test_owner_accounts_log_in(demo):
    accounts = demo["first"]["accounts"]
    assert len(accounts) >= 2
    for account in accounts:
        user = User.objects.get(email=account["email"])
        assert user.check_password(account["password"])
        assert user.memberships.filter(organisation__owner__isnull=False).exists()


def test_each_draw_verifies(demo):
    drawn = Announcement.objects.filter(illustrative=True, draw__isnull=False)
    assert {a.code for a in drawn} == {
        _announcement(demo, k).code for k in ("selected", "publicity", "awarded")
    }
    for announcement in drawn:
        record = announcement.draw.record
        assert draw.verify(record) == []
        assert record["pool_hash"] == announcement.pool_hash
        assert record["commitment"] == announcement.commitment


def test_audit_trail_of_the_awarded_announcement(demo):
    awarded = _announcement(demo, "awarded")
    actions = list(
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(Announcement),
            object_id=str(awarded.pk),
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )
    for action in (
        "announcement.create",
        "publish",
        "close_registration",
        "start_selection",
        "select",
        "start_publicity",
        "award",
    ):
        assert actions.count(action) == 1, (action, actions)
    contract = Contract.objects.get(announcement=awarded)
    confirmed = awarded.registrations.get(status=RegistrationStatus.CONFIRMED)
    assert contract.agency_id == confirmed.agency_id
    assert contract.price_ceiling == awarded.budget_ceiling


def test_failed_for_too_few_registrants(demo):
    failed = _announcement(demo, "failed")
    assert failed.registrations.count() < failed.min_eligible
    assert "流标" in failed.status_reason
    assert not Draw.objects.filter(announcement=failed).exists()


def test_direct_selection(demo):
    direct = _announcement(demo, "direct")
    assert direct.method == "direct" and direct.direct_agency_id
    registration = direct.registrations.get()
    assert registration.agency_id == direct.direct_agency_id
    assert registration.status == RegistrationStatus.CONFIRMED


def test_selected_waits_for_confirmation(demo):
    selected = _announcement(demo, "selected")
    waiting = selected.registrations.get(status=RegistrationStatus.SELECTED)
    assert waiting.confirm_by > timezone.now()
    assert selected.registrations.filter(status=RegistrationStatus.ALTERNATE).count() == 2


def test_open_announcement_is_drawn_by_the_scheduler_after_its_deadline(demo):
    """Last (it moves the open announcement on): the deadline is minutes after loading; the
    scheduler's job draws it once it has passed, and not before."""
    announcement = _announcement(demo, "open")
    assert announcement.registrations.count() >= 4
    deadline = announcement.registration_deadline
    assert deadline - demo["loaded_at"] <= datetime.timedelta(minutes=OPEN_DEADLINE_MINUTES + 1)
    assert jobs.close_and_draw(deadline - datetime.timedelta(seconds=1)) == {
        "closed": 0,
        "failed": 0,
        "selected": 0,
    }
    counts = jobs.close_and_draw(deadline + datetime.timedelta(seconds=1))
    assert counts["closed"] >= 1 and counts["selected"] >= 1
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SELECTED
    assert draw.verify(announcement.draw.record) == []
