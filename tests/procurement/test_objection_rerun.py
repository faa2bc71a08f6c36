"""An upheld objection that names the offending agency: the selection is re-run without it, in
the published draw's rank order, audited; the draw record still verifies; with nobody left the
announcement fails (issue 7)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse

from agencies.models import Agency, EnrolmentStatus
from marketplace.models import AuditEvent, Membership, Role
from procurement import draw, services
from procurement.models import (
    AnnouncementStatus,
    Contract,
    Draw,
    ObjectionStatus,
    RegistrationStatus,
)
from tests.agencies.factories import make_regulator_user
from tests.procurement.factories import (
    close_and_draw,
    login,
    make_announcement,
    make_world,
    register_all,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
GROUNDS = "中选机构与业主存在关联关系，应当回避。"


def admin_of(registration):
    return Membership.objects.get(
        organisation_id=registration.agency.organisation_id, role=Role.ADMIN
    ).user


def regulator_for(announcement):
    return make_regulator_user(region=announcement.project.region.parent, industries=["ecology"])


def events(obj, action=None):
    qs = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    )
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("created_at", "id"))


def in_publicity(world):
    """Drawn (1 selected, 2 alternates, the rest not selected), confirmed, in publicity."""
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    close_and_draw(announcement)
    by_status = {}
    for registration in announcement.registrations.select_related("agency__organisation"):
        by_status.setdefault(registration.status, []).append(registration)
    [selected] = by_status[RegistrationStatus.SELECTED]
    services.registration_confirm(actor=admin_of(selected), registration=selected)
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.PUBLICITY
    alternates = sorted(by_status[RegistrationStatus.ALTERNATE], key=lambda r: r.position)
    return announcement, selected, alternates, by_status.get(RegistrationStatus.NOT_SELECTED, [])


def object_to(announcement, objector):
    return services.objection_file(
        actor=admin_of(objector), announcement=announcement, registration=objector, reason=GROUNDS
    )


@pytest.fixture
def objected(world):
    announcement, selected, alternates, others = in_publicity(world)
    objection = object_to(announcement, others[0])
    return announcement, selected, alternates, others, objection


def test_the_offending_agency_is_excluded_and_the_next_in_draw_order_selected(objected):
    announcement, selected, alternates, _, objection = objected
    record_before = Draw.objects.get(announcement=announcement).record
    regulator = regulator_for(announcement)
    services.objection_decide(
        actor=regulator, objection=objection, upheld=True, reason="关联关系属实", exclude=[selected]
    )
    objection.refresh_from_db()
    selected.refresh_from_db()
    first, second = (r.__class__.objects.get(pk=r.pk) for r in alternates)
    announcement.refresh_from_db()
    assert objection.status == ObjectionStatus.UPHELD
    assert selected.status == RegistrationStatus.INELIGIBLE
    assert "关联关系属实" in selected.status_reason
    assert first.status == RegistrationStatus.SELECTED and first.confirm_by
    assert second.status == RegistrationStatus.ALTERNATE
    assert announcement.status == AnnouncementStatus.SELECTED
    assert selected.agency.organisation.name in announcement.status_reason
    # The published draw is untouched and still verifies; the new order is its order.
    record = Draw.objects.get(announcement=announcement).record
    assert record == record_before and draw.verify(record) == []
    ranking = [e["id"] for e in record["ranking"] if e["id"] != selected.agency_id]
    assert ranking[0] == first.agency_id
    # Audited: the exclusion, the promotion and the re-run, each with the regulator.
    [exclusion] = events(selected, "disqualify")
    assert exclusion.actor == regulator and exclusion.data["objection"] == objection.pk
    assert exclusion.from_state == "confirmed" and exclusion.to_state == "ineligible"
    promotion = events(first, "select")[-1]
    assert promotion.actor == regulator and promotion.data["replaces"] == [selected.agency_id]
    [rerun] = events(announcement, "reselect")
    assert rerun.data["excluded"] == [selected.agency_id]
    assert rerun.data["promoted"] == [first.agency_id]
    [upheld] = events(objection, "uphold")
    assert upheld.data["excluded"] == [selected.agency_id]
    # The promoted agency confirms: a new publicity, then the award goes to it.
    services.registration_confirm(actor=admin_of(first), registration=first)
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.PUBLICITY
    after = announcement.publicity_ends_at + datetime.timedelta(seconds=1)
    assert services.award_due(announcement.pk, now=after) == "awarded"
    assert Contract.objects.get(announcement=announcement).agency_id == first.agency_id


def test_past_the_alternates_the_not_selected_follow_in_rank_order(objected):
    announcement, selected, alternates, others, objection = objected
    for alternate in alternates:
        services.registration_decline(actor=admin_of(alternate), registration=alternate)
    services.objection_decide(
        actor=regulator_for(announcement),
        objection=objection,
        upheld=True,
        reason="关联关系属实",
        exclude=[selected.pk],
    )
    nxt = min(others, key=lambda r: r.position)
    nxt.refresh_from_db()
    assert nxt.status == RegistrationStatus.SELECTED
    assert events(nxt, "select")[-1].from_state == "not_selected"


def test_a_candidate_no_longer_eligible_is_skipped_with_its_reasons(objected):
    announcement, selected, alternates, _, objection = objected
    Agency.objects.filter(pk=alternates[0].agency_id).update(status=EnrolmentStatus.SUSPENDED)
    services.objection_decide(
        actor=regulator_for(announcement),
        objection=objection,
        upheld=True,
        reason="关联关系属实",
        exclude=[selected],
    )
    first, second = (r.__class__.objects.get(pk=r.pk) for r in alternates)
    assert first.status == RegistrationStatus.INELIGIBLE and first.status_reason
    assert events(first, "disqualify")[-1].actor is None
    assert second.status == RegistrationStatus.SELECTED


def test_with_nobody_left_the_announcement_fails(base):
    world = make_world(agencies=3, base=base)
    announcement, selected, alternates, others = in_publicity(world)
    assert others == []
    objection = object_to(announcement, alternates[0])
    for alternate in alternates:
        alternate.refresh_from_db()
        services.registration_decline(actor=admin_of(alternate), registration=alternate)
    services.objection_decide(
        actor=regulator_for(announcement),
        objection=objection,
        upheld=True,
        reason="关联关系属实",
        exclude=[selected],
    )
    announcement.refresh_from_db()
    selected.refresh_from_db()
    assert announcement.status == AnnouncementStatus.FAILED
    assert "no eligible agency is left" in announcement.status_reason
    assert selected.status == RegistrationStatus.INELIGIBLE


@pytest.mark.parametrize("case", ["dismissed", "not_in_the_result", "other_announcement"])
def test_bad_exclusions_are_refused(objected, case):
    announcement, selected, alternates, _, objection = objected
    upheld, exclude = {
        "dismissed": (False, [selected]),
        "not_in_the_result": (True, [alternates[0]]),
        "other_announcement": (True, [10**9]),
    }[case]
    with pytest.raises(ValidationError) as exc:
        services.objection_decide(
            actor=regulator_for(announcement),
            objection=objection,
            upheld=upheld,
            reason="关联关系属实",
            exclude=exclude,
        )
    assert "exclude" in exc.value.message_dict
    objection.refresh_from_db()
    selected.refresh_from_db()
    assert objection.status == ObjectionStatus.SUBMITTED
    assert selected.status == RegistrationStatus.CONFIRMED


def test_the_regulator_names_the_offending_agency_on_the_page(objected, client):
    announcement, selected, alternates, _, objection = objected
    login(client, regulator_for(announcement))
    url = reverse("procurement:objection_detail", args=[objection.pk])
    page = text(client.get(url))
    assert f'name="exclude" value="{selected.pk}"' in page
    assert f'value="{alternates[0].pk}"' not in page
    response = client.post(
        url, {"decision": "uphold", "reason": "关联关系属实", "exclude": [selected.pk]}
    )
    assert response.status_code == 302
    selected.refresh_from_db()
    assert selected.status == RegistrationStatus.INELIGIBLE
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SELECTED
