import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.views.generic import DetailView

from marketplace.models import (
    AuditEvent,
    Industry,
    Membership,
    Notification,
    Organisation,
    OrganisationKind,
    Region,
    Role,
)
from marketplace.permissions import (
    PermissionRequiredObjectMixin,
    has_perm,
    object_permission_required,
    regulator_covers,
    require_perm,
    rule,
)
from marketplace.reference import ensure_industries
from marketplace.selectors import is_platform_admin, user_memberships
from marketplace.services import membership_add, membership_remove, organisation_create
from marketplace.validators import make_uscc

from .factories import MembershipFactory, OrganisationFactory, UserFactory, platform_admin

pytestmark = pytest.mark.django_db


def test_organisation_create_validates_and_audits(yunnan):
    uscc = make_uscc("91530100MA6TEXT1")
    org = organisation_create(kind="owner", name=" 示例业主 ", uscc=uscc.lower(), region=yunnan)
    assert org.name == "示例业主" and org.uscc == uscc
    event = AuditEvent.objects.get(action="organisation.create")
    assert event.organisation == org and event.object_id == str(org.pk)
    with pytest.raises(ValidationError, match="already exists"):
        organisation_create(kind="agency", name="另一家", uscc=uscc)
    with pytest.raises(ValidationError, match="check"):
        wrong = uscc[:17] + ("0" if uscc[17] != "0" else "1")
        organisation_create(kind="agency", name="坏代码", uscc=wrong)


def test_uscc_optional_and_blank_not_unique():
    organisation_create(kind="owner", name="甲")
    organisation_create(kind="owner", name="乙")
    assert Organisation.objects.filter(uscc="").count() == 2


def test_regulator_needs_scope_and_others_have_none(yunnan):
    with pytest.raises(ValidationError):
        organisation_create(kind="regulator", name="无范围监管部门")
    with pytest.raises(ValidationError):
        organisation_create(kind="agency", name="机构", scope_region=yunnan)


def test_membership_roles_follow_organisation_kind():
    agency = OrganisationFactory(kind=OrganisationKind.AGENCY)
    user = UserFactory()
    with pytest.raises(ValidationError, match="role"):
        membership_add(organisation=agency, user=user, role=Role.REVIEWER)
    membership = membership_add(organisation=agency, user=user, role=Role.STAFF)
    with pytest.raises(ValidationError, match="already a member"):
        membership_add(organisation=agency, user=user, role=Role.ADMIN)
    membership_remove(membership=membership)
    assert not Membership.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action__startswith="membership.").count() == 2


def test_membership_add_by_actor_is_authorised():
    agency = OrganisationFactory()
    staff = MembershipFactory(organisation=agency, role=Role.STAFF).user
    admin = MembershipFactory(organisation=agency, role=Role.ADMIN).user
    outsider = UserFactory()
    with pytest.raises(PermissionDenied):
        membership_add(organisation=agency, user=UserFactory(), role=Role.STAFF, actor=staff)
    with pytest.raises(PermissionDenied):
        membership_add(organisation=agency, user=UserFactory(), role=Role.STAFF, actor=outsider)
    membership_add(organisation=agency, user=outsider, role=Role.STAFF, actor=admin)
    assert has_perm(outsider, "view", agency)


def test_organisation_rules_deny_by_default():
    agency = OrganisationFactory()
    other = OrganisationFactory()
    member = MembershipFactory(organisation=agency, role=Role.STAFF).user
    admin = MembershipFactory(organisation=agency, role=Role.ADMIN).user
    superuser = UserFactory(is_superuser=True, is_staff=True)
    from django.contrib.auth.models import AnonymousUser

    assert has_perm(member, "view", agency) and not has_perm(member, "manage", agency)
    assert has_perm(admin, "manage", agency)
    assert not has_perm(admin, "view", other)
    assert not has_perm(AnonymousUser(), "view", agency)
    assert not has_perm(None, "view", agency)
    # No rule for the action: denied, even for a Django superuser.
    assert not has_perm(admin, "frobnicate", agency)
    assert not has_perm(superuser, "view", agency)
    with pytest.raises(PermissionDenied):
        require_perm(member, "manage", agency)
    # Inactive users and inactive memberships count for nothing.
    admin.is_active = False
    assert not has_perm(admin, "manage", agency)
    Membership.objects.filter(user=member).update(is_active=False)
    member = type(member).objects.get(pk=member.pk)
    assert not has_perm(member, "view", agency)


def test_platform_admin():
    admin = platform_admin()
    assert is_platform_admin(admin)
    assert has_perm(admin, "manage", OrganisationFactory())
    # The platform organisation's admin role is the only way in: a same-named role elsewhere
    # cannot exist (roles are checked against the organisation kind).
    assert not is_platform_admin(MembershipFactory(role=Role.ADMIN).user)


def test_membership_lookups_are_cached_per_user(django_assert_num_queries):
    agency = OrganisationFactory()
    user = MembershipFactory(organisation=agency).user
    with django_assert_num_queries(1):
        for _ in range(5):
            has_perm(user, "view", agency)
            has_perm(user, "manage", agency)
    assert len(user_memberships(user)) == 1


def test_custom_rules_public_and_raising():
    class Thing:
        pass

    class SubThing(Thing):
        pass

    @rule(Thing, "view", public=True)
    def anyone(user, obj):
        return True

    @rule(Thing, "edit")
    def broken(user, obj):
        raise RuntimeError("bug in a rule")

    from django.contrib.auth.models import AnonymousUser

    assert has_perm(AnonymousUser(), "view", SubThing())  # inherited, public
    assert not has_perm(UserFactory(), "edit", Thing())  # a raising rule denies


def test_regulator_covers(yunnan):
    industries = ensure_industries()
    province = organisation_create(
        kind="regulator", name="省发改委", scope_region=yunnan, scope_all_industries=True
    )
    kunming = Region.objects.get(code="530100")
    ecology = organisation_create(
        kind="regulator",
        name="昆明市生态环境局",
        scope_region=kunming,
        scope_industries=[industries["ecology"]],
    )
    wuhua = Region.objects.get(code="530102")
    qujing = Region.objects.get(code="530300")
    assert regulator_covers(province, wuhua, industries["water"])
    assert regulator_covers(province, "530300", "construction")
    assert regulator_covers(ecology, wuhua, industries["ecology"])
    assert regulator_covers(ecology, kunming, "ecology")
    assert not regulator_covers(ecology, qujing, industries["ecology"])
    assert not regulator_covers(ecology, yunnan, industries["ecology"])
    assert not regulator_covers(ecology, wuhua, industries["water"])
    assert not regulator_covers(ecology, wuhua, None)
    assert not regulator_covers(ecology, "000000", "ecology")
    ecology_prefetched = Organisation.objects.prefetch_related("scope_industries").get(
        pk=ecology.pk
    )
    assert regulator_covers(ecology_prefetched, wuhua, Industry.objects.get(code="ecology"))
    agency = OrganisationFactory()
    assert not regulator_covers(agency, wuhua, "ecology")


class OrganisationDetail(PermissionRequiredObjectMixin, DetailView):
    model = Organisation
    permission_action = "manage"

    def render_to_response(self, context, **kwargs):
        return HttpResponse(self.object.name)


def test_class_view_mixin_403_404_and_login():
    agency = OrganisationFactory()
    admin = MembershipFactory(organisation=agency, role=Role.ADMIN).user
    staff = MembershipFactory(organisation=agency, role=Role.STAFF).user
    from django.contrib.auth.models import AnonymousUser

    def get(user, pk):
        request = RequestFactory().get(f"/x/{pk}/")
        request.user = user
        return OrganisationDetail.as_view()(request, pk=pk)

    assert get(admin, agency.pk).status_code == 200
    with pytest.raises(PermissionDenied):
        get(staff, agency.pk)
    with pytest.raises(Http404):
        get(admin, 999999)
    response = get(AnonymousUser(), agency.pk)
    assert response.status_code == 302 and "login" in response["Location"]


def test_function_view_decorator(client):
    agency = OrganisationFactory()
    member = MembershipFactory(organisation=agency, role=Role.STAFF).user

    @object_permission_required("view", Organisation)
    def view(request, obj):
        return HttpResponse(obj.name)

    @object_permission_required("manage", Organisation, deny_as_404=True)
    def secret(request, obj):
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    request.user = member
    assert view(request, pk=agency.pk).content.decode() == agency.name
    with pytest.raises(Http404):
        secret(request, pk=agency.pk)
    request.user = UserFactory()
    with pytest.raises(PermissionDenied):
        view(request, pk=agency.pk)


def test_notification_rules():
    user = UserFactory()
    notification = Notification.objects.create(recipient=user, title="t")
    assert has_perm(user, "view", notification)
    assert not has_perm(UserFactory(), "view", notification)
