"""The announcement lifecycle through the services: every transition allowed and refused,
the bad inputs of issue 5, and the audit trail they leave."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from marketplace import outbox, workdays
from marketplace.models import AuditEvent, Notification
from procurement import draw, services
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Contract,
    Draw,
    ObjectionStatus,
    Project,
    Registration,
    RegistrationStatus,
    SelectionMethod,
)
from tests.agencies.factories import AgencyFactory, make_regulator_user
from tests.procurement.factories import (
    close_and_draw,
    deadline,
    draft,
    make_announcement,
    make_eligible_agency,
    make_owner,
    make_project,
    register_all,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def events(obj, action=None):
    from django.contrib.contenttypes.models import ContentType

    qs = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    )
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("created_at", "id"))


def messages_of(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- projects --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("2026-530102-48-01", "YYYY-RRRRRR"),
        ("2026-530102-48-09-000123", "YYYY-RRRRRR"),
        ("2009-530102-48-01-000123", "between"),
        ("2026-999999-48-01-000123", "999999"),
    ],
)
def test_a_malformed_project_code_is_refused(world, code, fragment):
    with pytest.raises(ValidationError) as exc:
        make_project(world.owner, code=code)
    assert fragment in messages_of(exc.value)
    assert not Project.objects.filter(code=code).exists()


def test_a_project_code_in_full_width_digits_is_normalised(world):
    project = make_project(world.owner, code="２０２６－530102-48-01-000123")
    assert project.code == "2026-530102-48-01-000123"
    with pytest.raises(ValidationError, match="exists"):
        make_project(world.owner, code="2026-530102-48-01-000123")


def test_only_the_owners_members_create_projects(world):
    other = make_owner()
    with pytest.raises(PermissionDenied):
        services.project_create(
            actor=other.admin_user,
            owner=world.owner,
            name="x",
            region=world.project.region,
            total_investment="1",
        )


# --- announcements: terms ---------------------------------------------------------------------


def test_a_draft_shows_the_fee_computation_and_snapshots_the_requirements(world):
    announcement = draft(world)
    assert announcement.status == AnnouncementStatus.DRAFT
    assert announcement.code.startswith("ZJCS-")
    assert announcement.fee_base_amount == world.project.total_investment
    assert Decimal(announcement.fee_computation["ceiling"]) >= announcement.budget_ceiling
    assert announcement.fee_computation["breakdown"]
    assert [r["code"] for r in announcement.requirements] == ["eia-unit"]
    assert events(announcement, "announcement.create")


def test_a_ceiling_above_the_fee_rule_is_refused_with_the_computation(world):
    with pytest.raises(ValidationError) as exc:
        draft(world, budget_ceiling="900000")
    message = " ".join(exc.value.message_dict["budget_ceiling"])
    assert "900,000.00" in message or "900000" in message
    assert "计算过程" in message or "Computation" in message
    assert not Announcement.objects.exists()


@pytest.mark.parametrize(
    "when, fragment",
    [
        (lambda: timezone.now() - datetime.timedelta(hours=1), "past"),
        (lambda: timezone.now() + datetime.timedelta(hours=1), "at least"),
    ],
)
def test_a_deadline_in_the_past_or_too_short_is_refused(world, settings, when, fragment):
    settings.PROCUREMENT = {**settings.PROCUREMENT, "MIN_REGISTRATION_WORKING_DAYS": 3}
    with pytest.raises(ValidationError) as exc:
        draft(world, registration_deadline=when())
    assert fragment in " ".join(exc.value.message_dict["registration_deadline"])


def test_direct_selection_is_refused_above_the_configured_amount(world, settings):
    settings.PROCUREMENT = {**settings.PROCUREMENT, "DIRECT_SELECTION_MAX": "5000"}
    with pytest.raises(ValidationError) as exc:
        draft(world, method=SelectionMethod.DIRECT, direct_agency=world.agencies[0])
    assert "5,000.00" in " ".join(exc.value.message_dict["method"])


def test_a_level_can_be_raised_not_lowered(world):
    item = world.items["survey_b"]  # 测绘资质 at least 乙级
    from tests.agencies.factories import qtype

    surveying = qtype("surveying")
    raised = services.announcement_create(
        actor=world.owner.admin_user,
        project=world.project,
        service_item=item,
        raised_levels={surveying.pk: "甲级"},
        title="测绘",
        scope="地形测绘",
        budget_ceiling="30000",
        method=SelectionMethod.RANDOM_DRAW,
        registration_deadline=deadline(),
    )
    assert raised.requirements[0]["minimum_level"] == "甲级"
    with pytest.raises(ValidationError):
        services.announcement_create(
            actor=world.owner.admin_user,
            project=world.project,
            service_item=item,
            raised_levels={surveying.pk: "丙级"},
            title="测绘",
            scope="地形测绘",
            budget_ceiling="30000",
            method=SelectionMethod.RANDOM_DRAW,
            registration_deadline=deadline(),
        )


def test_a_service_time_limit_above_the_catalog_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        draft(world, service_time_limit_days=world.item.time_limit_days + 1)
    assert "service_time_limit_days" in exc.value.message_dict


def test_publish_commits_to_a_secret_and_is_audited(world):
    announcement = make_announcement(world)
    assert announcement.status == AnnouncementStatus.PUBLISHED
    assert announcement.commitment == draw.commitment(announcement.secret)
    assert announcement.min_eligible == 3
    [event] = events(announcement, "publish")
    assert (event.from_state, event.to_state) == ("draft", "published")
    assert event.data["commitment"] == announcement.commitment
    assert event.actor == world.owner.admin_user


def test_publishing_again_or_by_a_stranger_is_refused(world):
    announcement = draft(world)
    stranger = make_owner().admin_user
    with pytest.raises(PermissionDenied):
        services.announcement_publish(actor=stranger, announcement=announcement)
    services.announcement_publish(actor=world.owner.admin_user, announcement=announcement)
    with pytest.raises(ValidationError, match="already published"):
        services.announcement_publish(actor=world.owner.admin_user, announcement=announcement)


def test_publication_notifies_matching_agencies_after_commit(world):
    outsider = AgencyFactory(status="approved")  # declared nothing
    make_announcement(world)
    outbox.sweep()
    outbox.sweep()
    notified = set(Notification.objects.values_list("recipient_id", flat=True))
    assert {a.admin_user.pk for a in world.agencies} <= notified
    assert outsider.admin_user.pk not in notified


# --- registration -----------------------------------------------------------------------------


def test_registration_once_before_the_deadline_by_an_eligible_agency(world):
    announcement = make_announcement(world)
    agency = world.agencies[0]
    registration = services.registration_submit(
        actor=agency.admin_user, announcement=announcement, agency=agency
    )
    assert registration.status == RegistrationStatus.SUBMITTED
    assert all(check["met"] for check in registration.eligibility)
    with pytest.raises(ValidationError, match="already registered"):
        services.registration_submit(
            actor=agency.admin_user, announcement=announcement, agency=agency
        )
    assert Registration.objects.count() == 1


def test_an_ineligible_agency_is_refused_with_the_reason(world):
    announcement = make_announcement(world)
    unqualified = AgencyFactory(status="approved")
    with pytest.raises(ValidationError) as exc:
        services.registration_submit(
            actor=unqualified.admin_user, announcement=announcement, agency=unqualified
        )
    text = messages_of(exc.value)
    assert "not eligible" in text
    assert "has not declared" in text
    assert not Registration.objects.exists()


def test_registration_after_the_deadline_is_refused(world, monkeypatch):
    announcement = make_announcement(world)
    later = announcement.registration_deadline + datetime.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    agency = world.agencies[0]
    with pytest.raises(ValidationError, match="Registration closed"):
        services.registration_submit(
            actor=agency.admin_user, announcement=announcement, agency=agency
        )


def test_registering_for_another_agency_is_refused(world):
    announcement = make_announcement(world)
    with pytest.raises(PermissionDenied):
        services.registration_submit(
            actor=world.agencies[1].admin_user,
            announcement=announcement,
            agency=world.agencies[0],
        )


# --- closing and the draw -----------------------------------------------------------------------


def test_close_before_the_deadline_does_nothing(world):
    announcement = make_announcement(world)
    assert services.close_registration(announcement.pk) == "not_due"
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.PUBLISHED


def test_too_few_eligible_registrants_fail_the_announcement(world):
    announcement = make_announcement(world)
    register_all(announcement, world.agencies[:2])
    assert close_and_draw(announcement) == "failed"
    assert announcement.status == AnnouncementStatus.FAILED
    assert "Too few eligible" in announcement.status_reason
    assert not Draw.objects.exists()
    assert [e.action for e in events(announcement) if e.to_state] == [
        "announcement.create",
        "publish",
        "close_registration",
        "fail",
    ]


def test_an_agency_suspended_after_registering_is_out_of_the_pool_with_the_reason(world):
    from agencies import services as agency_services

    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    suspended = world.agencies[0]
    agency_services.agency_suspend(agency=suspended, actor=None, reason="资质证书过期")
    assert close_and_draw(announcement) == "selected"
    registration = Registration.objects.get(agency=suspended)
    assert registration.status == RegistrationStatus.INELIGIBLE
    assert "suspended" in registration.status_reason
    record = announcement.draw.record
    assert suspended.pk not in [p["id"] for p in record["pool"]]
    assert record["pool_hash"] == announcement.pool_hash


def test_the_draw_follows_the_published_commitment_and_verifies(world):
    announcement = make_announcement(world)
    commitment = announcement.commitment
    register_all(announcement, world.agencies)
    assert close_and_draw(announcement) == "selected"
    record = announcement.draw.record
    assert record["commitment"] == commitment
    assert draw.verify(record) == []
    registrations = {r.agency_id: r for r in announcement.registrations.all()}
    assert registrations[record["selected"][0]].status == RegistrationStatus.SELECTED
    assert {registrations[a].status for a in record["alternates"]} == {RegistrationStatus.ALTERNATE}
    positions = sorted(r.position for r in registrations.values())
    assert positions == [1, 2, 3, 4]
    tampered = {**record, "selected": record["alternates"][:1]}
    assert draw.verify(tampered)
    # One audit event per transition: publish, close, start selection, select; per
    # registration admit + one of select/alternate/not selected.
    actions = [e.action for e in events(announcement) if e.to_state]
    assert actions == [
        "announcement.create",
        "publish",
        "close_registration",
        "start_selection",
        "select",
    ]
    for registration in registrations.values():
        assert len([e for e in events(registration) if e.to_state]) == 3  # submit, admit, rank


def test_running_the_selection_twice_draws_once(world):
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    close_and_draw(announcement)
    now = announcement.registration_deadline + datetime.timedelta(minutes=5)
    assert services.close_registration(announcement.pk, now=now) == "not_due"
    assert services.run_selection(announcement.pk, now=now) == "not_due"
    assert Draw.objects.count() == 1


def test_the_scheduler_closes_and_draws_at_the_deadline(world):
    from marketplace import chronograph

    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    chronograph.run_due_jobs(names=["procurement.close_and_draw"])
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.PUBLISHED
    later = announcement.registration_deadline + datetime.timedelta(seconds=30)
    [result] = chronograph.run_due_jobs(now=later, names=["procurement.close_and_draw"])
    assert result.result == {"closed": 1, "failed": 0, "selected": 1}
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SELECTED


# --- confirmation, alternates, publicity, award -------------------------------------------------


@pytest.fixture
def drawn(world):
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    close_and_draw(announcement)
    by_status = {}
    for registration in announcement.registrations.select_related("agency"):
        by_status.setdefault(registration.status, []).append(registration)
    return announcement, by_status


def admin_of(registration):
    from marketplace.models import Membership, Role

    return Membership.objects.get(
        organisation_id=registration.agency.organisation_id, role=Role.ADMIN
    ).user


def test_confirming_starts_publicity_and_the_end_awards_with_a_contract_draft(drawn):
    announcement, by_status = drawn
    [selected] = by_status[RegistrationStatus.SELECTED]
    services.registration_confirm(actor=admin_of(selected), registration=selected)
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.PUBLICITY
    expected = workdays.deadline_at(announcement.publicity_started_at, 3)
    assert announcement.publicity_ends_at == expected
    assert services.award_due(announcement.pk) == "not_due"
    after = announcement.publicity_ends_at + datetime.timedelta(seconds=1)
    assert services.award_due(announcement.pk, now=after) == "awarded"
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.AWARDED
    contract = Contract.objects.get(announcement=announcement)
    assert contract.agency_id == selected.agency_id
    assert contract.price_ceiling == announcement.budget_ceiling


def test_only_the_selected_agency_confirms_or_declines(drawn):
    _, by_status = drawn
    [selected] = by_status[RegistrationStatus.SELECTED]
    other = by_status[RegistrationStatus.ALTERNATE][0]
    with pytest.raises(PermissionDenied):
        services.registration_confirm(actor=admin_of(other), registration=selected)
    with pytest.raises(PermissionDenied):
        services.registration_decline(actor=admin_of(other), registration=selected)
    with pytest.raises(ValidationError, match="Only a selected agency"):
        services.registration_confirm(actor=admin_of(other), registration=other)
    selected.refresh_from_db()
    assert selected.status == RegistrationStatus.SELECTED


def test_a_decline_promotes_the_next_alternate_audited(drawn):
    _, by_status = drawn
    [selected] = by_status[RegistrationStatus.SELECTED]
    first_alternate = min(by_status[RegistrationStatus.ALTERNATE], key=lambda r: r.position)
    services.registration_decline(
        actor=admin_of(selected), registration=selected, reason="人手不足"
    )
    first_alternate.refresh_from_db()
    assert first_alternate.status == RegistrationStatus.SELECTED
    assert first_alternate.confirm_by > timezone.now()
    [promotion] = events(first_alternate, "select")[-1:]
    assert promotion.from_state == "alternate"
    assert promotion.data["replaces"] == selected.agency_id


def test_silence_past_the_time_limit_promotes_the_alternate(drawn):
    _, by_status = drawn
    [selected] = by_status[RegistrationStatus.SELECTED]
    services.expire_confirmations()
    selected.refresh_from_db()
    assert selected.status == RegistrationStatus.SELECTED  # still within its time
    later = selected.confirm_by + datetime.timedelta(minutes=1)
    assert services.expire_confirmations(now=later) == 1
    selected.refresh_from_db()
    assert selected.status == RegistrationStatus.DECLINED
    assert "No confirmation" in selected.status_reason
    [decline] = events(selected, "decline")
    assert decline.actor is None


def test_when_everyone_declines_the_announcement_fails(drawn):
    announcement, by_status = drawn
    order = sorted(
        by_status[RegistrationStatus.SELECTED] + by_status[RegistrationStatus.ALTERNATE],
        key=lambda r: r.position,
    )
    for registration in order:
        registration.refresh_from_db()
        services.registration_decline(actor=admin_of(registration), registration=registration)
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.FAILED
    assert "declined" in announcement.status_reason
    copy = services.announcement_republish(
        actor=announcement.project.owner.organisation.memberships.first().user,
        announcement=announcement,
    )
    assert copy.status == AnnouncementStatus.DRAFT
    assert copy.republished_from == announcement


# --- objections -----------------------------------------------------------------------------------


@pytest.fixture
def in_publicity(drawn):
    announcement, by_status = drawn
    [selected] = by_status[RegistrationStatus.SELECTED]
    services.registration_confirm(actor=admin_of(selected), registration=selected)
    announcement.refresh_from_db()
    loser = by_status.get(RegistrationStatus.NOT_SELECTED)[0]
    return announcement, selected, loser


def regulator_for(announcement):
    return make_regulator_user(region=announcement.project.region.parent, industries=["ecology"])


def test_an_objection_suspends_the_award_until_dismissed(in_publicity):
    announcement, _, loser = in_publicity
    objection = services.objection_file(
        actor=admin_of(loser),
        announcement=announcement,
        registration=loser,
        reason="中选机构的资质证书在报名截止前已经过期，请核查。",
    )
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SUSPENDED
    after = announcement.publicity_ends_at + datetime.timedelta(seconds=1)
    assert services.award_due(announcement.pk, now=after) == "not_due"
    with pytest.raises(PermissionDenied):
        services.objection_decide(
            actor=admin_of(loser), objection=objection, upheld=False, reason="x"
        )
    regulator = regulator_for(announcement)
    services.objection_decide(
        actor=regulator, objection=objection, upheld=False, reason="经核查，证书在有效期内。"
    )
    objection.refresh_from_db()
    announcement.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED
    assert announcement.status == AnnouncementStatus.PUBLICITY
    assert services.award_due(announcement.pk, now=after) == "awarded"


def test_an_upheld_objection_annuls_the_result(in_publicity):
    announcement, _, loser = in_publicity
    objection = services.objection_file(
        actor=admin_of(loser),
        announcement=announcement,
        registration=loser,
        reason="中选机构与业主存在关联关系，应当回避。",
    )
    services.objection_decide(
        actor=regulator_for(announcement), objection=objection, upheld=True, reason="关联关系属实"
    )
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.FAILED
    assert "upheld" in announcement.status_reason


def test_an_objection_after_the_window_or_by_a_non_registrant_is_refused(in_publicity, monkeypatch):
    announcement, _, loser = in_publicity
    outsider = make_eligible_agency(announcement.service_item)
    outsider_registration = Registration(announcement=announcement, agency=outsider)
    with pytest.raises(PermissionDenied):
        services.objection_file(
            actor=outsider.admin_user,
            announcement=announcement,
            registration=loser,
            reason="这是一个没有报名的机构提出的异议。",
        )
    assert outsider_registration.pk is None
    later = announcement.publicity_ends_at + datetime.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(ValidationError, match="publicity period"):
        services.objection_file(
            actor=admin_of(loser),
            announcement=announcement,
            registration=loser,
            reason="窗口结束之后提出的异议应当被拒绝。",
        )


# --- direct selection --------------------------------------------------------------------------


def test_direct_selection_publishes_the_owners_choice(world):
    chosen = world.agencies[2]
    announcement = make_announcement(
        world,
        method=SelectionMethod.DIRECT,
        direct_agency=chosen,
        direct_reason="金额较小，直接选取",
        registration_deadline=None,
    )
    assert announcement.status == AnnouncementStatus.SELECTED
    registration = Registration.objects.get(announcement=announcement)
    assert (registration.agency_id, registration.status) == (chosen.pk, "selected")
    actions = [e.action for e in events(announcement) if e.to_state]
    assert actions == ["announcement.create", "publish", "start_selection", "select"]
    with pytest.raises(ValidationError, match="no registrations"):
        services.registration_submit(
            actor=world.agencies[0].admin_user, announcement=announcement, agency=world.agencies[0]
        )


def test_direct_selection_of_an_ineligible_agency_is_refused_at_publication(world):
    unqualified = AgencyFactory(status="approved")
    announcement = draft(
        world, method=SelectionMethod.DIRECT, direct_agency=unqualified, registration_deadline=None
    )
    with pytest.raises(ValidationError) as exc:
        services.announcement_publish(actor=world.owner.admin_user, announcement=announcement)
    assert "not eligible" in " ".join(exc.value.message_dict["direct_agency"])
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.DRAFT
    assert not Registration.objects.exists()


def test_cancel_needs_a_reason_and_tells_registrants(world):
    announcement = make_announcement(world)
    register_all(announcement, world.agencies[:1])
    with pytest.raises(ValidationError):
        services.announcement_cancel(
            actor=world.owner.admin_user, announcement=announcement, reason=" "
        )
    services.announcement_cancel(
        actor=world.owner.admin_user, announcement=announcement, reason="项目调整"
    )
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.CANCELLED


def test_the_selected_agency_cannot_object_and_one_objection_at_a_time(in_publicity):
    announcement, selected, loser = in_publicity
    with pytest.raises(ValidationError, match="its own selection"):
        services.objection_file(
            actor=admin_of(selected),
            announcement=announcement,
            registration=selected,
            reason="对自己中选的结果提出异议，应当被拒绝。",
        )
    services.objection_file(
        actor=admin_of(loser),
        announcement=announcement,
        registration=loser,
        reason="第一条异议：请核查中选机构的资质。",
    )
    with pytest.raises(ValidationError, match="already under review"):
        services.objection_file(
            actor=admin_of(loser),
            announcement=announcement,
            registration=loser,
            reason="第二条异议：同一机构在审查期间再次提出。",
        )


def test_publicity_is_broadcast_to_every_registrant_once(drawn):
    from marketplace.models import OutboxMessage
    from procurement.notices import BROADCAST_TOPIC

    announcement, by_status = drawn
    [selected] = by_status[RegistrationStatus.SELECTED]
    services.registration_confirm(actor=admin_of(selected), registration=selected)
    [message] = OutboxMessage.objects.filter(
        topic=BROADCAST_TOPIC, payload__verb="announcement.publicity"
    )
    while outbox.sweep():
        pass
    told = Notification.objects.filter(verb="announcement.publicity")
    registrants = {admin_of(r).pk for r in announcement.registrations.all()}
    assert set(told.values_list("recipient_id", flat=True)) >= registrants
    # A redelivery of the broadcast queues nothing new (keyed on the message and recipient).
    from procurement.notices import deliver_broadcast

    before = OutboxMessage.objects.count()
    deliver_broadcast(message.payload, message=message)
    assert OutboxMessage.objects.count() == before
