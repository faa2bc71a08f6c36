"""The owner's pages (procurement/views/owner.py) through the Django test client: sign-up,
dashboard, projects, announcements (create, edit, fee computation, exclusions, publish, cancel,
republish), who may see them, and the dashboard's query count."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace import workdays
from marketplace.models import OrganisationKind
from procurement import services
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Exclusion,
    Owner,
    Project,
    RegistrationStatus,
)
from tests.agencies.factories import AgencyFactory, next_uscc, yunnan_regions
from tests.marketplace.factories import UserFactory
from tests.procurement.factories import (
    close_and_draw,
    deadline,
    draft,
    login,
    make_announcement,
    make_owner,
    make_world,
    owner_member,
    register_all,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def local_input(value: datetime.datetime) -> str:
    """A datetime-local input's value (Asia/Shanghai)."""
    return timezone.localtime(value, workdays.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def announcement_data(world, **overrides) -> dict:
    data = {
        "service_item": world.item.pk,
        "title": "五华区老旧小区改造项目环境影响评价",
        "scope": "编制环境影响报告表并取得批复",
        "budget_ceiling": "10000",
        "fee_base_amount": "",
        "fee_category": "",
        "method": "random_draw",
        "min_credit_grade": "",
        "region_scope": "province",
        "registration_deadline": local_input(deadline()),
        "selected_count": "1",
        "alternate_count": "2",
        "service_time_limit_days": "",
        "direct_agency": "",
        "direct_reason": "",
    }
    data.update(overrides)
    return data


# --- sign-up -----------------------------------------------------------------------------------


def test_signup_registers_an_owner_unit(client):
    yunnan_regions()
    user = UserFactory()
    login(client, user)
    assert client.get(reverse("procurement:owner_signup")).status_code == 200
    uscc = next_uscc("530102")
    response = client.post(
        reverse("procurement:owner_signup"),
        {
            "name": "五华区住房和城乡建设局",
            "uscc": uscc,
            "region": "530102",
            "legal_representative": "赵六",
            "contact_name": "钱七",
            "contact_phone": "0871-63330000",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("procurement:project_add")
    owner = Owner.objects.get(organisation__uscc=uscc)
    assert owner.organisation.kind == OrganisationKind.OWNER
    assert owner.organisation.memberships.filter(user=user).exists()
    # Signed up: the sign-up page now leads to the dashboard.
    assert client.get(reverse("procurement:owner_signup")).url == reverse("procurement:owner")


def test_signup_with_a_bad_uscc_shows_the_error_and_creates_nothing(client):
    yunnan_regions()
    login(client, UserFactory())
    response = client.post(
        reverse("procurement:owner_signup"),
        {
            "name": "某单位",
            "uscc": "91530102000000000X",
            "region": "530102",
            "legal_representative": "赵六",
            "contact_name": "钱七",
            "contact_phone": "0871",
        },
    )
    assert response.status_code == 200
    assert 'id="uscc-errors"><ul class="field__errors">' in text(response)
    assert not Owner.objects.filter(organisation__name="某单位").exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("procurement:owner"))
    assert response.status_code == 302
    assert "login" in response.url


def test_dashboard_without_an_owner_unit_leads_to_signup(client):
    login(client, UserFactory())
    assert client.get(reverse("procurement:owner")).url == reverse("procurement:owner_signup")


# --- dashboard -----------------------------------------------------------------------------


def test_dashboard_lists_projects_and_announcements_by_status(base, client):
    world = make_world(agencies=0, base=base)
    published = make_announcement(world)
    kept = draft(world, title="草稿公告")
    login(client, world.owner.admin_user)
    html = text(client.get(reverse("procurement:owner")))
    assert world.project.name in html
    assert reverse("procurement:owner_announcement", args=[published.pk]) in html
    assert reverse("procurement:owner_announcement", args=[kept.pk]) in html
    assert "registration open" in html and "draft" in html
    assert reverse("procurement:announcement_add", args=[world.project.pk]) in html


def test_dashboard_query_count(base, client, django_assert_num_queries):
    world = make_world(agencies=0, base=base)
    make_announcement(world)
    login(client, world.owner.admin_user)
    client.get(reverse("procurement:owner"))  # warm caches (content types, site)
    # 1 session, 2 user, 3 memberships, 4 owners (with organisation and region), 5 projects
    # (with region), 6 announcements (with project and service item), 7 the site header's
    # unread-notification count.
    with django_assert_num_queries(7):
        client.get(reverse("procurement:owner"))
    for _ in range(3):
        services.project_create(
            actor=world.owner.admin_user,
            owner=world.owner,
            name="另一个项目",
            region=world.project.region,
            total_investment="1000000",
        )
        draft(world)
    with django_assert_num_queries(7):  # the same, whatever the number of rows
        response = client.get(reverse("procurement:owner"))
    assert text(response).count("另一个项目") == 3


# --- projects ------------------------------------------------------------------------------


def test_project_create_and_edit(client):
    owner = make_owner()
    login(client, owner.admin_user)
    data = {
        "name": "盘龙区道路改造",
        "code": "",
        "region": "530103",
        "total_investment": "5000000",
        "description": "道路",
    }
    response = client.post(reverse("procurement:project_add"), data)
    assert response.status_code == 302
    project = Project.objects.get(name="盘龙区道路改造")
    assert project.owner == owner
    data["total_investment"] = "6000000.50"
    response = client.post(reverse("procurement:project_edit", args=[project.pk]), data)
    assert response.status_code == 302
    project.refresh_from_db()
    assert str(project.total_investment) == "6000000.50"


def test_project_bad_input_is_shown_beside_the_field(client):
    owner = make_owner()
    login(client, owner.admin_user)
    response = client.post(
        reverse("procurement:project_add"),
        {"name": "X", "code": "bad", "region": "530103", "total_investment": "-1"},
    )
    assert response.status_code == 200
    html = text(response)
    assert 'id="code-errors"><ul class="field__errors">' in html
    assert "The amount must be positive." in html
    assert not Project.objects.filter(name="X").exists()


def test_another_owner_cannot_see_or_edit_the_project(base, client):
    world = make_world(agencies=0, base=base)
    other = make_owner(name="另一业主")
    login(client, other.admin_user)
    assert (
        client.get(reverse("procurement:project_edit", args=[world.project.pk])).status_code == 404
    )
    assert (
        client.get(reverse("procurement:announcement_add", args=[world.project.pk])).status_code
        == 404
    )


# --- creating an announcement ---------------------------------------------------------------


def test_announcement_add_creates_a_draft(base, client):
    world = make_world(agencies=0, base=base)
    login(client, world.owner.admin_user)
    url = reverse("procurement:announcement_add", args=[world.project.pk])
    html = text(client.get(url))
    earliest = services.earliest_deadline().isoformat()
    assert f"The deadline can be {earliest} at the earliest" in html
    assert 'type="datetime-local"' in html
    response = client.post(url, announcement_data(world))
    assert response.status_code == 302
    announcement = Announcement.objects.get(project=world.project)
    assert response.url == reverse("procurement:owner_announcement", args=[announcement.pk])
    assert announcement.status == AnnouncementStatus.DRAFT
    # The fee base defaults to the project's investment and the computation is kept.
    assert announcement.fee_base_amount == world.project.total_investment
    assert announcement.fee_computation["ceiling"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"registration_deadline": "2020-01-06T17:30"},
            "The registration deadline is in the past.",
        ),
        ({"budget_ceiling": "10000000"}, "exceeds the fee ceiling"),
        ({"budget_ceiling": "abc"}, "Enter an amount in yuan"),
        ({"title": ""}, "This field is required."),
    ],
)
def test_announcement_add_bad_input_changes_nothing(base, client, overrides, message):
    world = make_world(agencies=0, base=base)
    login(client, world.owner.admin_user)
    url = reverse("procurement:announcement_add", args=[world.project.pk])
    response = client.post(url, announcement_data(world, **overrides))
    assert response.status_code == 200
    assert message in text(response)
    assert not Announcement.objects.exists()


def test_a_deadline_too_soon_names_the_earliest_date(base, client):
    world = make_world(agencies=0, base=base)
    login(client, world.owner.admin_user)
    soon = timezone.now() + datetime.timedelta(hours=1)
    response = client.post(
        reverse("procurement:announcement_add", args=[world.project.pk]),
        announcement_data(world, registration_deadline=local_input(soon)),
    )
    html = text(response)
    assert "at the earliest" in html
    assert services.earliest_deadline().isoformat() in html
    assert not Announcement.objects.exists()


def test_a_ceiling_above_the_fee_rule_shows_the_computation(base, client):
    world = make_world(agencies=0, base=base)
    login(client, world.owner.admin_user)
    response = client.post(
        reverse("procurement:announcement_add", args=[world.project.pk]),
        announcement_data(world, budget_ceiling="10000000"),
    )
    html = text(response)
    match = re.search(r'id="budget_ceiling-errors">(.*?)</div>', html, re.DOTALL)
    assert match and "Computation:" in match.group(1)
    assert not Announcement.objects.exists()


def test_direct_selection_above_the_limit_is_refused(base, client):
    world = make_world(agencies=1, base=base)
    login(client, world.owner.admin_user)
    response = client.post(
        reverse("procurement:announcement_add", args=[world.project.pk]),
        announcement_data(
            world,
            method="direct",
            budget_ceiling="100000",
            fee_base_amount="100000000",
            direct_agency=world.agencies[0].uscc,
            direct_reason="紧急",
        ),
    )
    assert response.status_code == 200
    assert "Direct selection is allowed only for a ceiling below" in text(response)
    assert not Announcement.objects.exists()


def test_direct_agency_must_be_an_approved_agency(base, client):
    world = make_world(agencies=0, base=base)
    unapproved = AgencyFactory()
    login(client, world.owner.admin_user)
    response = client.post(
        reverse("procurement:announcement_add", args=[world.project.pk]),
        announcement_data(world, method="direct", direct_agency=unapproved.uscc),
    )
    assert "is not an approved agency" in text(response)
    assert not Announcement.objects.exists()


def test_raised_qualification_levels_are_offered_for_graded_items(base, client):
    world = make_world(agencies=0, base=base)
    item = world.items["survey_b"]  # 测绘资质 at least 乙级
    login(client, world.owner.admin_user)
    url = reverse("procurement:announcement_add", args=[world.project.pk])
    html = text(client.get(url + f"?item={item.pk}"))
    field = f"level_{world.catalog['types']['surveying'].pk}"
    assert f'name="{field}"' in html
    response = client.post(
        url,
        announcement_data(world, service_item=item.pk, budget_ceiling="5000", **{field: "甲级"}),
    )
    assert response.status_code == 302, text(response)
    announcement = Announcement.objects.get()
    assert announcement.requirements[0]["minimum_level"] == "甲级"


# --- the owner's announcement page ------------------------------------------------------------


def test_announcement_page_shows_the_fee_computation_and_is_hidden_from_others(base, client):
    world = make_world(agencies=0, base=base)
    announcement = draft(world)
    url = reverse("procurement:owner_announcement", args=[announcement.pk])
    login(client, world.owner.admin_user)
    html = text(client.get(url))
    assert "Fee computation" in html
    ceiling = announcement.fee_computation["ceiling"]
    assert ceiling in html
    first_step = announcement.fee_computation["breakdown"][0]["description_en"]
    assert first_step.split()[0] in html
    assert "Publish" in html
    # A staff member of the owner sees it too; another owner, an agency, a stranger do not.
    login(client, owner_member(world.owner))
    assert client.get(url).status_code == 200
    for user in (make_owner(name="别家").admin_user, AgencyFactory().admin_user, UserFactory()):
        login(client, user)
        assert client.get(url).status_code == 404
        assert (
            client.post(
                reverse("procurement:announcement_publish", args=[announcement.pk])
            ).status_code
            == 404
        )
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.DRAFT


def test_draft_edit_saves_and_bad_input_changes_nothing(base, client):
    world = make_world(agencies=0, base=base)
    announcement = draft(world)
    url = reverse("procurement:owner_announcement", args=[announcement.pk])
    login(client, world.owner.admin_user)
    data = announcement_data(world, title="新标题")
    del data["service_item"]
    assert client.post(url, data).status_code == 302
    announcement.refresh_from_db()
    assert announcement.title == "新标题"
    data["budget_ceiling"] = "10000000"
    data["title"] = "不应保存"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "exceeds the fee ceiling" in text(response)
    announcement.refresh_from_db()
    assert announcement.title == "新标题"


def test_publish_opens_registration(base, client):
    world = make_world(agencies=0, base=base)
    announcement = draft(world)
    login(client, world.owner.admin_user)
    response = client.post(reverse("procurement:announcement_publish", args=[announcement.pk]))
    assert response.status_code == 302
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.PUBLISHED
    assert announcement.commitment
    html = text(client.get(response.url))
    assert "Published: registration is open." in html
    assert "Edit the draft" not in html


def test_publish_with_a_stale_deadline_shows_why_and_stays_a_draft(base, client):
    world = make_world(agencies=0, base=base)
    announcement = draft(world)
    Announcement.objects.filter(pk=announcement.pk).update(
        registration_deadline=timezone.now() - datetime.timedelta(minutes=5)
    )
    login(client, world.owner.admin_user)
    response = client.post(
        reverse("procurement:announcement_publish", args=[announcement.pk]), follow=True
    )
    html = text(response)
    assert "The registration deadline is in the past." in html
    assert "The announcement was not published" in html
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.DRAFT


def test_cancel_needs_a_reason(base, client):
    world = make_world(agencies=0, base=base)
    announcement = make_announcement(world)
    url = reverse("procurement:announcement_cancel", args=[announcement.pk])
    login(client, world.owner.admin_user)
    response = client.post(url, {"cancel-reason": ""})
    assert response.status_code == 200
    assert 'id="cancel-reason-errors"><ul class="field__errors">' in text(response)
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.PUBLISHED
    response = client.post(url, {"cancel-reason": "项目调整"})
    assert response.status_code == 302
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.CANCELLED
    assert announcement.status_reason == "项目调整"


def test_republish_redirects_to_the_new_draft(base, client):
    world = make_world(agencies=0, base=base)
    announcement = make_announcement(world)
    services.announcement_cancel(
        actor=world.owner.admin_user, announcement=announcement, reason="重来"
    )
    login(client, world.owner.admin_user)
    response = client.post(reverse("procurement:announcement_republish", args=[announcement.pk]))
    copy = Announcement.objects.get(republished_from=announcement)
    assert response.url == reverse("procurement:owner_announcement", args=[copy.pk])
    assert copy.status == AnnouncementStatus.DRAFT
    assert copy.registration_deadline is None
    html = text(client.get(response.url))
    assert "Edit the draft" in html and announcement.code in html


def test_republish_of_an_open_announcement_is_refused(base, client):
    world = make_world(agencies=0, base=base)
    announcement = make_announcement(world)
    login(client, world.owner.admin_user)
    response = client.post(
        reverse("procurement:announcement_republish", args=[announcement.pk]), follow=True
    )
    assert "Only a failed or cancelled announcement can be republished." in text(response)
    assert Announcement.objects.count() == 1


def test_exclusions_are_declared_and_removed(base, client):
    world = make_world(agencies=2, base=base)
    announcement = make_announcement(world)
    target = world.agencies[0]
    login(client, world.owner.admin_user)
    add = reverse("procurement:exclusion_add", args=[announcement.pk])
    response = client.post(add, {"exclusion-agency": target.uscc, "exclusion-reason": ""})
    assert response.status_code == 200
    assert 'id="exclusion-reason-errors"><ul class="field__errors">' in text(response)
    response = client.post(add, {"exclusion-agency": "91530100000000000X", "exclusion-reason": "x"})
    assert "No agency has the unified social credit code" in text(response)
    assert not Exclusion.objects.exists()
    response = client.post(
        add, {"exclusion-agency": f"{target.uscc} {target.name}", "exclusion-reason": "关联关系"}
    )
    assert response.status_code == 302
    exclusion = Exclusion.objects.get()
    assert (exclusion.agency, exclusion.reason) == (target, "关联关系")
    html = text(client.get(reverse("procurement:owner_announcement", args=[announcement.pk])))
    assert "关联关系" in html
    # Another owner cannot remove it.
    login(client, make_owner(name="别家").admin_user)
    remove = reverse("procurement:exclusion_remove", args=[exclusion.pk])
    assert client.post(remove).status_code == 404
    login(client, world.owner.admin_user)
    assert client.post(remove).status_code == 302
    assert not Exclusion.objects.exists()


def test_registrations_are_listed_with_status_and_reasons(base, client):
    world = make_world(agencies=4, base=base)
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    assert close_and_draw(announcement) == "selected"
    login(client, world.owner.admin_user)
    html = text(client.get(reverse("procurement:owner_announcement", args=[announcement.pk])))
    for agency in world.agencies:
        assert agency.name in html
    assert "selected, to confirm" in html
    assert "alternate" in html
    statuses = set(announcement.registrations.values_list("status", flat=True))
    assert RegistrationStatus.SELECTED in statuses
