"""The organisation members page (/org/<pk>/members/, marketplace.views.members): who may see
it, adding an existing account by e-mail, removing members, the last administrator kept
(marketplace.services.membership_remove), the links to it and its query count."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from marketplace.models import AuditEvent, Membership, Role
from marketplace.services import membership_remove
from tests.agencies.factories import AgencyFactory, add_member
from tests.marketplace.factories import UserFactory, platform_admin
from tests.procurement.factories import make_owner

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def url(organisation) -> str:
    return reverse("core:members", args=[organisation.pk])


def membership(organisation, user) -> Membership:
    return Membership.objects.get(organisation=organisation, user=user)


# --- who may see it --------------------------------------------------------------------------


def test_page_only_for_the_organisations_managers(client):
    owner = make_owner()
    org = owner.organisation
    staff = add_member(org, Role.STAFF)
    agency = AgencyFactory(staff=True)

    assert client.get(url(org)).status_code == 302  # anonymous: to the login page
    for user in (staff, agency.admin_user, agency.staff_user, UserFactory()):
        login(client, user)
        assert client.get(url(org)).status_code == 404, user
        assert client.post(url(org), {"remove": membership(org, staff).pk}).status_code == 404
    assert Membership.objects.filter(organisation=org).count() == 2

    login(client, owner.admin_user)
    assert client.get(reverse("core:members", args=[999_999_999])).status_code == 404
    assert client.get(url(agency.organisation)).status_code == 404  # another organisation
    response = client.get(url(org))
    assert response.status_code == 200
    html = response.content.decode()
    assert owner.admin_user.email in html and staff.email in html
    assert "staff member" in html and "administrator" in html
    # Only the roles of an owner unit are offered.
    assert list(response.context["form"].fields["role"].choices) == [
        (Role.ADMIN, "administrator"),
        (Role.STAFF, "staff member"),
    ]

    login(client, agency.admin_user)
    assert client.get(url(agency.organisation)).status_code == 200
    login(client, platform_admin())
    assert client.get(url(org)).status_code == 200


# --- adding ----------------------------------------------------------------------------------


def test_add_by_email_is_audited(client):
    agency = AgencyFactory()
    org = agency.organisation
    newcomer = UserFactory(email="new.colleague@test.example.com")
    login(client, agency.admin_user)

    response = client.post(url(org), {"email": "New.Colleague@TEST.example.com", "role": "staff"})

    assert response.status_code == 302 and response["Location"] == url(org)
    added = membership(org, newcomer)
    assert added.role == Role.STAFF and added.is_active
    event = AuditEvent.objects.get(action="membership.add", object_id=str(added.pk))
    assert event.actor == agency.admin_user and event.organisation_id == org.pk
    assert event.data == {"user_id": newcomer.pk, "role": "staff"}
    page = client.get(url(org)).content.decode()
    assert "is now a member" in page and newcomer.email in page


def test_unknown_email_explains_the_sign_up(client):
    agency = AgencyFactory()
    org = agency.organisation
    login(client, agency.admin_user)

    response = client.post(url(org), {"email": "nobody@test.example.com", "role": "staff"})

    assert response.status_code == 200
    errors = response.context["form"].errors["email"]
    assert "must first create an account at the sign-up page" in errors[0]
    assert reverse("customer:register") in errors[0]
    assert "must first create an account" in response.content.decode()
    assert Membership.objects.filter(organisation=org).count() == 1
    assert not AuditEvent.objects.filter(action="membership.add", organisation=org).exists()


def test_existing_member_gets_the_services_error(client):
    agency = AgencyFactory(staff=True)
    org = agency.organisation
    login(client, agency.admin_user)

    response = client.post(url(org), {"email": agency.staff_user.email, "role": "admin"})

    assert response.status_code == 200
    assert "already a member of this organisation" in response.content.decode()
    assert membership(org, agency.staff_user).role == Role.STAFF
    assert Membership.objects.filter(organisation=org).count() == 2


def test_role_of_another_kind_refused(client):
    owner = make_owner()
    org = owner.organisation
    user = UserFactory()
    login(client, owner.admin_user)

    for role in (Role.REVIEWER, Role.PLATFORM_ADMIN, "nonsense"):
        response = client.post(url(org), {"email": user.email, "role": role})
        assert response.status_code == 200
        assert "role" in response.context["form"].errors
    assert not Membership.objects.filter(user=user).exists()


# --- removing --------------------------------------------------------------------------------


def test_remove_a_member(client):
    agency = AgencyFactory(staff=True)
    org = agency.organisation
    staff = membership(org, agency.staff_user)
    login(client, agency.admin_user)

    response = client.post(url(org), {"remove": staff.pk})

    assert response.status_code == 302 and response["Location"] == url(org)
    assert not Membership.objects.filter(pk=staff.pk).exists()
    event = AuditEvent.objects.get(action="membership.remove", object_id=str(staff.pk))
    assert event.actor == agency.admin_user and event.organisation_id == org.pk
    assert "is no longer a member" in client.get(url(org)).content.decode()


def test_remove_only_this_organisations_memberships(client):
    agency, other = AgencyFactory(), AgencyFactory()
    theirs = membership(other.organisation, other.admin_user)
    login(client, agency.admin_user)
    assert client.post(url(agency.organisation), {"remove": theirs.pk}).status_code == 404
    assert client.post(url(agency.organisation), {"remove": "x"}).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_last_administrator_cannot_be_removed(client):
    agency = AgencyFactory(staff=True)
    org = agency.organisation
    admin = membership(org, agency.admin_user)
    login(client, agency.admin_user)

    response = client.post(url(org), {"remove": admin.pk}, follow=True)

    assert response.status_code == 200
    assert "last administrator" in response.content.decode()
    assert Membership.objects.filter(pk=admin.pk).exists()
    assert not AuditEvent.objects.filter(action="membership.remove").exists()


def test_membership_remove_keeps_a_managing_member():
    agency = AgencyFactory(staff=True)
    org = agency.organisation
    admin = membership(org, agency.admin_user)
    with pytest.raises(ValidationError, match="last administrator"):
        membership_remove(membership=admin, actor=agency.admin_user)
    with pytest.raises(ValidationError, match="last administrator"):
        membership_remove(membership=admin)  # the system too
    # An inactive administrator does not manage: it does not count as the other one.
    dormant = add_member(org, Role.ADMIN)
    Membership.objects.filter(user=dormant).update(is_active=False)
    with pytest.raises(ValidationError, match="last administrator"):
        membership_remove(membership=admin, actor=agency.admin_user)
    # Staff and inactive administrators go freely; with a second administrator, so does one.
    membership_remove(membership=membership(org, agency.staff_user), actor=agency.admin_user)
    membership_remove(membership=membership(org, dormant), actor=agency.admin_user)
    second = add_member(org, Role.ADMIN)
    membership_remove(membership=admin, actor=second)
    assert list(Membership.objects.filter(organisation=org).values_list("user", flat=True)) == [
        second.pk
    ]


def test_removing_oneself_leaves_for_the_workspace(client):
    owner = make_owner()
    org = owner.organisation
    add_member(org, Role.ADMIN)
    login(client, owner.admin_user)

    response = client.post(url(org), {"remove": membership(org, owner.admin_user).pk})

    assert response.status_code == 302
    assert response["Location"] == reverse("procurement:owner")
    assert not Membership.objects.filter(organisation=org, user=owner.admin_user).exists()


# --- links and cost --------------------------------------------------------------------------


def test_links_from_the_owner_dashboard_and_the_agency_portal(client):
    owner = make_owner()
    login(client, owner.admin_user)
    assert url(owner.organisation) in client.get(reverse("procurement:owner")).content.decode()

    agency = AgencyFactory(staff=True)
    portal = reverse("agencies:portal_agency", args=[agency.pk])
    login(client, agency.admin_user)
    assert url(agency.organisation) in client.get(portal).content.decode()
    login(client, agency.staff_user)  # staff do not manage members: no link
    assert url(agency.organisation) not in client.get(portal).content.decode()


def test_page_query_count_does_not_grow_with_members(client, django_assert_num_queries):
    agency = AgencyFactory()
    org = agency.organisation
    login(client, agency.admin_user)
    client.get(url(org))  # warm caches (content types, site)
    # 1 session, 2 user, 3 the user's memberships (the "manage" check), 4 the organisation,
    # 5 the members with their users, 6 the site header's unread-notification count.
    with django_assert_num_queries(6):
        client.get(url(org))
    for _ in range(5):
        add_member(org, Role.STAFF)
    with django_assert_num_queries(6):  # the same, whatever the number of members
        response = client.get(url(org))
    assert len(response.context["memberships"]) == 6
