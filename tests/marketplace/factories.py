import factory

from marketplace.models import Membership, Organisation, OrganisationKind, Region, Role, User
from marketplace.validators import make_uscc


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@test.example.com")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    is_active = True
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class RegionFactory(factory.django.DjangoModelFactory):
    """A province-level region with an unused code; load real ones with regions_load."""

    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{90 + n % 9}0000")
    name = factory.Sequence(lambda n: f"测试省{n}")
    level = "province"
    province_code = factory.LazyAttribute(lambda o: o.code)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = OrganisationKind.AGENCY
    name = factory.Sequence(lambda n: f"示例机构{n}")
    uscc = factory.Sequence(lambda n: make_uscc(f"9153010{n:09d}"))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.ADMIN


def platform_admin():
    org = OrganisationFactory(kind=OrganisationKind.PLATFORM, uscc="", name="平台")
    return MembershipFactory(organisation=org, role=Role.PLATFORM_ADMIN).user
