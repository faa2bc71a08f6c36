"""The regulator's objection pages (procurement/views/regulator.py): the queue in scope
(project location and the item's industry), the decision, who may see them, and the
queue's query count."""

from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.models import Role
from procurement import services
from procurement.models import AnnouncementStatus, Objection, ObjectionStatus, RegistrationStatus
from tests.agencies.factories import make_regulator_user, region
from tests.marketplace.factories import UserFactory
from tests.procurement.factories import (
    close_and_draw,
    login,
    make_announcement,
    make_world,
    register_all,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

GROUNDS = "中选机构的资质证书在报名时已过期，请核查。"


def objected(world, title=None) -> Objection:
    """An announcement in publicity with one objection from a losing registrant."""
    fields = {"title": title} if title else {}
    announcement = make_announcement(world, **fields)
    register_all(announcement, world.agencies)
    assert close_and_draw(announcement) == "selected"
    users = {a.pk: a.admin_user for a in world.agencies}
    selected = announcement.registrations.get(status=RegistrationStatus.SELECTED)
    services.registration_confirm(actor=users[selected.agency_id], registration=selected)
    loser = announcement.registrations.exclude(pk=selected.pk).first()
    return services.objection_file(
        actor=users[loser.agency_id], announcement=announcement, registration=loser, reason=GROUNDS
    )


def ecology_regulator():
    return make_regulator_user(region=region("530100"), industries=["ecology"])


def test_queue_and_detail_for_the_regulator_in_scope(base, client):
    world = make_world(agencies=4, base=base)
    objection = objected(world)
    login(client, ecology_regulator())
    html = text(client.get(reverse("procurement:objection_queue")))
    assert objection.announcement.code in html
    detail = reverse("procurement:objection_detail", args=[objection.pk])
    assert detail in html
    html = text(client.get(detail))
    assert GROUNDS in html
    assert "selected and confirmed" in html  # the result
    assert "Record the decision" in html


def test_others_get_404(base, client):
    world = make_world(agencies=4, base=base)
    objection = objected(world)
    detail = reverse("procurement:objection_detail", args=[objection.pk])
    out_of_industry = make_regulator_user(region=region("530100"), industries=["development"])
    out_of_region = make_regulator_user(region=region("530300"), industries=["ecology"])
    for user in (out_of_industry, out_of_region):
        login(client, user)
        assert objection.announcement.code not in text(
            client.get(reverse("procurement:objection_queue"))
        )
        assert client.get(detail).status_code == 404
        assert client.post(detail, {"decision": "uphold", "reason": "x"}).status_code == 404
    for user in (world.owner.admin_user, world.agencies[0].admin_user, UserFactory()):
        login(client, user)
        assert client.get(reverse("procurement:objection_queue")).status_code == 404
        assert client.get(detail).status_code == 404
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.SUBMITTED


def test_dismissing_resumes_publicity(base, client):
    world = make_world(agencies=4, base=base)
    objection = objected(world)
    login(client, ecology_regulator())
    detail = reverse("procurement:objection_detail", args=[objection.pk])
    response = client.post(detail, {"decision": "dismiss", "reason": ""})
    assert response.status_code == 200
    assert 'id="reason-errors"><ul class="field__errors">' in text(response)
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.SUBMITTED
    response = client.post(detail, {"decision": "dismiss", "reason": "证书在有效期内。"})
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.DISMISSED
    assert objection.announcement.status == AnnouncementStatus.PUBLICITY
    html = text(client.get(detail))
    assert "证书在有效期内。" in html
    assert "Record the decision" not in html


def test_upholding_fails_the_announcement(base, client):
    world = make_world(agencies=4, base=base)
    objection = objected(world)
    login(
        client,
        make_regulator_user(role=Role.SUPERVISOR, region=region("530000"), all_industries=True),
    )
    response = client.post(
        reverse("procurement:objection_detail", args=[objection.pk]),
        {"decision": "uphold", "reason": "资质确已过期。"},
    )
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.UPHELD
    assert objection.announcement.status == AnnouncementStatus.FAILED


def test_queue_query_count(base, client, django_assert_num_queries):
    world = make_world(agencies=4, base=base)
    objected(world)
    user = ecology_regulator()
    login(client, user)
    client.get(reverse("procurement:objection_queue"))
    # 1 session, 2 user, 3 memberships, 4 the regulators and 5 their industries, 6 the
    # industry pages, 7 count and 8 page of objections (with announcement, project region,
    # item and objector), 9 the header's unread-notification count.
    with django_assert_num_queries(9):
        client.get(reverse("procurement:objection_queue"))
    for n in range(2):
        objected(world, title=f"另一公告{n}")
    with django_assert_num_queries(9):  # the same, whatever the number of objections
        response = client.get(reverse("procurement:objection_queue"))
    assert text(response).count("另一公告") == 2
