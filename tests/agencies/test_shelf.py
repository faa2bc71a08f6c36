"""The shelf: partners, offerings as Oscar products, the fee ceiling, visibility."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from oscar.core.loading import get_model

from agencies import shelf
from agencies.models import CertificateStatus, EnrolmentStatus, Offering
from marketplace.models import AuditEvent, Membership, Role
from tests.agencies.factories import (
    AgencyFactory,
    CertificateFactory,
    UserFactory,
    add_member,
    make_catalog,
    qtype,
)

Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")
Category = get_model("catalogue", "Category")
ProductClass = get_model("catalogue", "ProductClass")

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(db):
    from cms.fees.demo import load_fee_rules

    return load_fee_rules()


@pytest.fixture
def shop(rules):
    """Items priced by: ``eia`` 招标代理 (cumulative, services: 1.5 % up to 1 M, float ±20 %);
    ``survey_b`` energy-fixed "report" (fixed 30,000, float ±10 % → ceiling 33,000);
    ``survey_a`` survey-fixed (fixed 8,000, no float); ``free`` market-regulated (no rule)."""
    return make_catalog(
        fee_rules={
            "eia": rules["zbdl-1980"],
            "eia_category": "services",
            "survey_b": rules["energy-fixed"],
            "survey_b_category": "report",
            "survey_a": rules["survey-fixed"],
        }
    )


@pytest.fixture
def items(shop):
    return shop["items"]


def approved_agency(**kwargs):
    """An approved agency holding 环境影响评价单位 and 测绘资质 乙级."""
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED, staff=True, **kwargs)
    CertificateFactory(agency=agency)
    CertificateFactory(agency=agency, qualification_type=qtype("surveying"), level="乙级")
    shelf.partner_sync(agency=agency)
    return agency


@pytest.fixture
def agency(shop):
    return approved_agency()


def save(agency, item, user=None, **terms):
    terms.setdefault("pricing_mode", "price")
    terms.setdefault("turnaround_days", 5)
    return shelf.offering_save(
        actor=user or agency.admin_user, agency=agency, service_item=item, **terms
    )


def field_error(info, field) -> str:
    return " ".join(info.value.message_dict[field])


# --- partner ------------------------------------------------------------------------------------


def test_partner_sync_creates_the_partner_with_the_members_as_users(shop):
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED, staff=True)
    outsider = UserFactory()
    gone = add_member(agency.organisation, Role.STAFF)
    Membership.objects.filter(user=gone).update(is_active=False)

    partner = shelf.partner_sync(agency=agency)

    agency.refresh_from_db()
    assert agency.partner == partner
    assert partner.name == agency.organisation.name
    assert partner.code == f"uscc-{agency.organisation.uscc.lower()}"
    assert set(partner.users.all()) == {agency.admin_user, agency.staff_user}
    assert outsider not in partner.users.all()
    assert AuditEvent.objects.filter(action="partner_create", object_id=str(agency.pk)).count() == 1


def test_partner_sync_is_idempotent_and_follows_changes(shop):
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    first = shelf.partner_sync(agency=agency)
    newcomer = add_member(agency.organisation, Role.STAFF)
    agency.organisation.name = "改名后的咨询有限公司"
    agency.organisation.save()

    second = shelf.partner_sync(agency=agency)

    assert second.pk == first.pk
    assert Partner.objects.count() == 1
    second.refresh_from_db()
    assert second.name == "改名后的咨询有限公司"
    assert newcomer in second.users.all()
    assert AuditEvent.objects.filter(action="partner_create").count() == 1


def test_partner_users_follow_membership_changes(shop):
    agency = AgencyFactory(status=EnrolmentStatus.APPROVED)
    partner = shelf.partner_sync(agency=agency)
    newcomer = add_member(agency.organisation, Role.STAFF)
    assert newcomer in partner.users.all()
    membership = Membership.objects.get(user=newcomer)
    membership.is_active = False
    membership.save()
    assert newcomer not in partner.users.all()
    Membership.objects.get(user=agency.admin_user).delete()
    assert not partner.users.exists()


# --- Oscar structure ----------------------------------------------------------------------------


def test_shop_structure_is_created_once(items):
    first = shelf.ensure_shop_structure()
    counts = (ProductClass.objects.count(), Category.objects.count())
    second = shelf.ensure_shop_structure()

    assert (ProductClass.objects.count(), Category.objects.count()) == counts
    product_class = second["product_class"]
    assert product_class.name == "中介服务"
    assert product_class.track_stock is False
    assert product_class.requires_shipping is False
    eia_category = second["items"][items["eia"].pk]
    assert eia_category.pk == first["items"][items["eia"].pk].pk
    assert eia_category.name == items["eia"].title
    assert eia_category.get_parent().name == "生态环境"
    assert set(second["items"]) >= {item.pk for item in items.values()}
    assert eia_category.get_parent().pk == second["industries"]["ecology"].pk


# --- offerings and their Oscar records ----------------------------------------------------------


def test_an_offering_is_an_oscar_product_with_a_cny_stock_record(agency, items):
    offering = save(agency, items["survey_b"], price="30000", description="含外业测量")

    product = Product.objects.get(pk=offering.product_id)
    assert product.title == f"{items['survey_b'].title} · {agency.name}"
    assert product.structure == Product.STANDALONE
    assert product.product_class.name == "中介服务"
    assert product.is_public is True
    assert product.description == "含外业测量"
    assert list(product.categories.values_list("name", flat=True)) == [items["survey_b"].title]
    record = StockRecord.objects.get(product=product)
    assert record.partner == agency.partner
    assert record.partner_sku == items["survey_b"].code
    assert record.price == Decimal("30000.00")
    assert record.price_currency == "CNY"
    assert record.num_in_stock is None
    event = AuditEvent.objects.get(action="offering_create")
    assert event.actor == agency.admin_user
    assert event.data["after"]["price"] == "30000.00" or event.data["after"]["price"] == "30000"


def test_one_offering_per_item_a_second_save_updates_it(agency, items):
    first = save(agency, items["survey_b"], price="30000")
    second = save(agency, items["survey_b"], user=agency.staff_user, price="25000",
                  turnaround_days=7)

    assert second.pk == first.pk
    assert Offering.objects.count() == 1
    assert Product.objects.count() == 1
    assert StockRecord.objects.get().price == Decimal("25000.00")
    second.refresh_from_db()
    assert (second.price, second.turnaround_days) == (Decimal("25000.00"), 7)
    assert AuditEvent.objects.filter(action="offering_update").count() == 1


# --- the ceiling --------------------------------------------------------------------------------


def test_fixed_rule_price_at_the_ceiling_is_accepted(agency, items):
    # energy-fixed "report": 30,000 standard, +10 % float → ceiling 33,000.
    offering = save(agency, items["survey_b"], price="33000.00")
    assert offering.price == Decimal("33000.00")


@pytest.mark.parametrize("price", ["33000.01", "100000"])
def test_fixed_rule_price_above_the_ceiling_is_refused_with_the_computation(agency, items, price):
    with pytest.raises(ValidationError) as info:
        save(agency, items["survey_b"], price=price)
    message = field_error(info, "price")
    assert "exceeds the fee ceiling of CNY 33,000.00" in message
    assert "standard fee CNY 30,000.00" in message
    assert "Computation:" in message
    assert Offering.objects.count() == 0
    assert Product.objects.count() == 0
    assert StockRecord.objects.count() == 0


def test_the_ceiling_message_is_chinese_under_zh_hans(agency, items):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as info:
        save(agency, items["survey_b"], price="33000.01")
    message = field_error(info, "price")
    assert "超过收费上限 33,000.00元" in message
    assert "计算过程" in message


def test_amount_based_rule_needs_the_reference_amount(agency, items):
    with pytest.raises(ValidationError) as info:
        save(agency, items["eia"], price="10000")
    assert "reference amount" in field_error(info, "reference_amount")
    assert Offering.objects.count() == 0


def test_amount_based_rule_is_checked_at_the_reference_amount(agency, items):
    # 招标代理 services at 1,000,000: 1.5 % = 15,000 standard; +20 % → ceiling 18,000.
    offering = save(agency, items["eia"], price="18000", reference_amount="1000000")
    assert shelf.offering_reference_amount(offering) == Decimal(1000000)
    with pytest.raises(ValidationError) as info:
        save(agency, items["eia"], price="18000.01", reference_amount="1000000")
    message = field_error(info, "price")
    assert "18,000.00" in message and "15,000.00" in message
    # The refused update left the listed offering as it was.
    offering.refresh_from_db()
    assert offering.price == Decimal("18000.00")
    assert StockRecord.objects.get().price == Decimal("18000.00")


def test_a_reference_amount_outside_the_rule_table_is_refused(agency, items):
    with pytest.raises(ValidationError) as info:
        save(agency, items["eia"], price="1000", reference_amount="2000000000")
    assert field_error(info, "reference_amount")


def test_a_discount_offering_prices_the_standard_fee_less_the_rate(agency, items):
    offering = save(agency, items["survey_b"], pricing_mode="discount", discount_rate="10")
    assert offering.price is None
    assert offering.discount_rate == Decimal("10.00")
    # 30,000 × (1 − 10 %)
    assert StockRecord.objects.get(product=offering.product).price == Decimal("27000.00")


def test_a_discount_on_an_amount_rule_without_reference_is_priced_per_project(agency, items):
    offering = save(agency, items["eia"], pricing_mode="discount", discount_rate="20")
    assert StockRecord.objects.get(product=offering.product).price is None
    # 15,000 at 1,000,000 less 20 %
    assert shelf.offering_quote(offering=offering, amount="1000000") == Decimal("12000.00")
    with pytest.raises(ValidationError):
        shelf.offering_quote(offering=offering)
    with_reference = save(
        agency, items["eia"], pricing_mode="discount", discount_rate="20",
        reference_amount="1000000",
    )
    assert StockRecord.objects.get(product=with_reference.product).price == Decimal("12000.00")


@pytest.mark.parametrize(("rate", "word"), [("-5", "negative"), ("100", "below 100")])
def test_a_discount_rate_out_of_range_is_refused(agency, items, rate, word):
    with pytest.raises(ValidationError) as info:
        save(agency, items["survey_b"], pricing_mode="discount", discount_rate=rate)
    assert word in field_error(info, "discount_rate")
    assert Offering.objects.count() == 0


def test_an_item_without_rule_takes_any_positive_price_and_no_discount(agency, items):
    offering = save(agency, items["free"], price="123456.78")
    assert StockRecord.objects.get(product=offering.product).price == Decimal("123456.78")
    with pytest.raises(ValidationError) as info:
        save(agency, items["free"], pricing_mode="discount", discount_rate="10")
    assert "no standard fee" in field_error(info, "pricing_mode")
    for bad in ("0", "-1", "12.345", "abc"):
        with pytest.raises(ValidationError) as info:
            save(agency, items["free"], price=bad)
        assert "price" in info.value.message_dict


def test_turnaround_beyond_the_item_time_limit_is_refused(agency, items):
    with pytest.raises(ValidationError) as info:
        save(agency, items["free"], price="100", turnaround_days=items["free"].time_limit_days + 1)
    assert "service time limit" in field_error(info, "turnaround_days")


# --- who may list what --------------------------------------------------------------------------


def test_only_the_agency_admins_and_staff_may_list(agency, items):
    other = approved_agency()
    for user in (other.admin_user, UserFactory()):
        with pytest.raises(PermissionDenied):
            save(agency, items["free"], user=user, price="100")
    assert Offering.objects.count() == 0
    save(agency, items["free"], user=agency.staff_user, price="100")


@pytest.mark.parametrize(
    "status", [EnrolmentStatus.DRAFT, EnrolmentStatus.SUBMITTED, EnrolmentStatus.SUSPENDED]
)
def test_only_an_approved_agency_may_list(shop, status):
    agency = AgencyFactory(status=status)
    CertificateFactory(agency=agency)
    with pytest.raises(ValidationError) as info:
        save(agency, shop["items"]["free"], price="100")
    assert "approved" in " ".join(info.value.messages)
    assert Offering.objects.count() == 0 and Product.objects.count() == 0


def test_an_item_lacking_its_qualification_cannot_be_offered(agency, items):
    # The agency holds 测绘资质 乙级; survey_a needs 甲级; "two" needs two other types.
    for key in ("survey_a", "two"):
        with pytest.raises(ValidationError) as info:
            save(agency, items[key], price="100")
        assert "qualification" in field_error(info, "service_item")
    assert Offering.objects.count() == 0 and Product.objects.count() == 0


# --- visibility ---------------------------------------------------------------------------------


def test_visibility_follows_approval_and_qualification(agency, items):
    eia = save(agency, items["eia"], price="18000", reference_amount="1000000")
    survey = save(agency, items["survey_b"], price="30000")
    assert set(shelf.public_offerings()) == {eia, survey}

    # The surveying certificate expires: only the surveying offering leaves the shelf.
    certificate = agency.certificates.get(qualification_type=qtype("surveying"))
    type(certificate).objects.filter(pk=certificate.pk).update(
        status=CertificateStatus.EXPIRED,
        valid_until=timezone.localdate() - datetime.timedelta(days=1),
    )
    result = shelf.shelf_refresh(agency=agency)
    assert result == {"shown": [], "hidden": [survey.product_id]}
    assert list(shelf.public_offerings()) == [eia]
    assert Product.objects.get(pk=eia.product_id).is_public is True
    assert Product.objects.get(pk=survey.product_id).is_public is False

    # Suspended: nothing public.
    type(agency).objects.filter(pk=agency.pk).update(status=EnrolmentStatus.SUSPENDED)
    shelf.shelf_refresh(agency=agency)
    assert list(shelf.public_offerings()) == []
    assert not Product.objects.filter(is_public=True).exists()

    # Approved again with a new surveying certificate: both back.
    type(agency).objects.filter(pk=agency.pk).update(status=EnrolmentStatus.APPROVED)
    CertificateFactory(agency=agency, qualification_type=qtype("surveying"), level="甲级")
    result = shelf.shelf_refresh(agency=agency)
    assert sorted(result["shown"]) == sorted([eia.product_id, survey.product_id])
    assert set(shelf.public_offerings()) == {eia, survey}
    assert AuditEvent.objects.filter(action="shelf_refresh").count() == 3


def test_shelf_refresh_is_idempotent(agency, items):
    save(agency, items["free"], price="100")
    assert shelf.shelf_refresh(agency=agency) == {"shown": [], "hidden": []}
    assert not AuditEvent.objects.filter(action="shelf_refresh").exists()


def test_shelf_refresh_follows_the_agency_name(agency, items):
    offering = save(agency, items["free"], price="100")
    agency.organisation.name = "新名称咨询有限公司"
    agency.organisation.save()
    shelf.shelf_refresh(agency=agency)
    assert Product.objects.get(pk=offering.product_id).title == f"{items['free'].title} · 新名称咨询有限公司"


def test_withdrawn_offerings_leave_the_shelf_and_can_come_back(agency, items):
    offering = save(agency, items["free"], price="100")
    with pytest.raises(PermissionDenied):
        shelf.offering_withdraw(actor=UserFactory(), offering=offering)
    shelf.offering_withdraw(actor=agency.staff_user, offering=offering)
    shelf.offering_withdraw(actor=agency.staff_user, offering=offering)  # idempotent
    assert list(shelf.public_offerings()) == []
    assert Product.objects.get(pk=offering.product_id).is_public is False
    assert AuditEvent.objects.filter(action="offering_withdraw").count() == 1
    # Refresh does not bring a withdrawn offering back; listing it again does.
    shelf.shelf_refresh(agency=agency)
    assert list(shelf.public_offerings()) == []
    save(agency, items["free"], price="100")
    assert list(shelf.public_offerings()) == [offering]


def test_public_offerings_is_one_query_whatever_the_number(
    shop, items, django_assert_num_queries
):
    agencies = [approved_agency() for _ in range(3)]
    for n, agency in enumerate(agencies):
        save(agency, items["free"], price=str(100 + n))
        save(agency, items["survey_b"], pricing_mode="discount", discount_rate=str(n))
        save(agency, items["eia"], pricing_mode="discount", discount_rate="5")

    # One query: offerings joined with agency, organisation, item and product, with the stock
    # record price and the reference amount as subqueries.
    with django_assert_num_queries(1):
        rows = list(shelf.public_offerings())
        labels = [(o.agency.name, o.service_item.title, o.product.title, o.shelf_price)
                  for o in rows]
    assert len(labels) == 9
    prices = [row.shelf_price for row in rows]
    assert prices[-3:] == [None, None, None]  # priced per project last
    assert prices[0] == Decimal("100.00")

    with django_assert_num_queries(1):
        by_item = list(shelf.public_offerings(service_item=items["survey_b"]))
    assert [o.shelf_price for o in by_item] == [
        Decimal("29400.00"), Decimal("29700.00"), Decimal("30000.00")
    ]
    with django_assert_num_queries(1):
        assert len(list(shelf.public_offerings(agency=agencies[0]))) == 3
