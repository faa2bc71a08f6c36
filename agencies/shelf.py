"""The shelf (货架): agencies as Oscar sellers and their offerings as Oscar products.

How Oscar fits (DESIGN §3): an approved agency is an Oscar ``Partner`` (its active members are
the partner's users); the catalog's industries and service items are Oscar ``Category`` nodes
(industry → item) under one ``ProductClass`` "中介服务" (no stock tracking, no shipping); an
offering is a standalone ``Product`` with one ``StockRecord`` (partner, SKU = the item's code,
price in CNY, unlimited stock). Our ``Offering`` row holds the regulated terms (pricing mode,
discount rate, turnaround); Oscar holds what is sold and its price.

    partner_sync(agency=agency)                    # on approval (agencies.services)
    offering_save(actor=user, agency=agency, service_item=item, pricing_mode="price",
                  price=Decimal("8000"), turnaround_days=10)
    shelf_refresh(agency=agency)                   # after approval, suspension, expiry, ban
    public_offerings(service_item=item)            # one query

Pricing and the fee ceiling
---------------------------

A fee rule prices a *base amount* (a project's investment, a winning-bid amount …); a shelf
offering has no project. So:

* **Item without a fee rule** (市场调节价): any positive fixed price; a discount rate is
  refused (there is no standard fee to discount).
* **Fixed price, rule of method "fixed"**: the price must be at most the rule's ceiling
  (standard × (1 + upward float), capped); no base amount is involved.
* **Fixed price, amount-based rule**: the agency states the **reference amount** (基准金额) the
  price is quoted for; the price must be at most the ceiling at that amount. Without a
  reference amount the price is refused (there is nothing to check it against).
* **Discount rate (下浮率)** ``r`` with ``0 ≤ r < 100``: the price is the standard fee ×
  (1 − r/100), never above the standard fee, hence never above the ceiling. A negative rate
  (a surcharge) is refused: to charge above the standard (within the rule's upward float) give
  a fixed price, which is checked against the ceiling.

The **effective price** put on the Oscar ``StockRecord`` is the fixed price, or for a discount
offering the discounted standard fee of the fixed rule or at the stated reference amount. A
discount offering on an amount-based rule without a reference amount has no shelf price
(``StockRecord.price`` is NULL, so Oscar will not sell it from the basket): it is priced per
project by ``offering_quote(offering=…, amount=project amount)``.

The reference amount is a field of the offering (``Offering.reference_amount``): it is part of
the ceiling check, a regulated fact, so it lives with the offering and not in Oscar.

Visibility
----------

An offering's product is public only while the offering is listed (``is_active``), its agency is
approved and not barred by a sanction in effect (``procurement.eligibility.sanctions``), the
item is live and the agency is qualified for it today
(``agencies.eligibility.qualified_item_ids``). ``shelf_refresh`` recomputes that for one agency
and is called after every event that can change it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from agencies.models import Agency, EnrolmentStatus, Offering, PricingMode
from marketplace import audit
from marketplace.models import Membership, Role
from marketplace.permissions import is_member, rule

Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
ProductCategory = get_model("catalogue", "ProductCategory")
Category = get_model("catalogue", "Category")

CURRENCY = "CNY"
PRODUCT_CLASS_SLUG = "intermediary-service"
PRODUCT_CLASS_NAME = "中介服务"
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
OFFERING_ROLES = frozenset({Role.ADMIN, Role.STAFF})

__all__ = [
    "CURRENCY",
    "ensure_shop_structure",
    "is_visible",
    "item_category",
    "offering_code",
    "offering_quote",
    "offering_reference_amount",
    "offering_save",
    "offering_withdraw",
    "partner_sync",
    "partner_users_sync",
    "public_offerings",
    "shelf_refresh",
]


# --- permissions --------------------------------------------------------------------------------


@rule(Agency, "manage_offerings")
def _member_manages_offerings(user, agency) -> bool:
    """An agency's administrators and staff list and withdraw its offerings."""
    return is_member(user, agency.organisation, roles=OFFERING_ROLES)


def _require_offering_member(actor, agency) -> None:
    from marketplace.permissions import require_perm

    require_perm(actor, "manage_offerings", agency)


# --- Oscar structure ----------------------------------------------------------------------------


def _industry_category_code(industry) -> str:
    return f"industry:{industry.code}"


def _item_category_code(item) -> str:
    return f"item:{item.code}"


def ensure_product_class():
    """The product class "中介服务" (no stock tracking, no shipping). Idempotent."""
    product_class, created = ProductClass.objects.get_or_create(
        slug=PRODUCT_CLASS_SLUG,
        defaults={
            "name": PRODUCT_CLASS_NAME,
            "track_stock": False,
            "requires_shipping": False,
        },
    )
    if not created and (product_class.track_stock or product_class.requires_shipping):
        product_class.track_stock = False
        product_class.requires_shipping = False
        product_class.save(update_fields=["track_stock", "requires_shipping"])
    return product_class


def _industry_category(industry):
    code = _industry_category_code(industry)
    category = Category.objects.filter(code=code).first()
    if category is None:
        category = Category.add_root(
            name=industry.name, code=code, slug=slugify(industry.code) or f"industry-{industry.pk}"
        )
    elif category.name != industry.name:
        category.name = industry.name
        category.save(update_fields=["name"])
    return category


def _industry_of(item):
    from cms.models import IndustryPage

    page = (
        IndustryPage.objects.select_related("industry")
        .filter(path=item.path[: -item.steplen])
        .first()
    )
    return page.industry if page is not None else None


def item_category(service_item, *, industry=None):
    """The Oscar category of a service item (a child of its industry's category), created or
    renamed as needed. Idempotent."""
    industry = industry or _industry_of(service_item)
    code = _item_category_code(service_item)
    category = Category.objects.filter(code=code).first()
    parent = _industry_category(industry) if industry is not None else None
    if category is None:
        fields = {
            "name": service_item.title,
            "code": code,
            "slug": slugify(service_item.code) or f"item-{service_item.pk}",
        }
        if parent is None:
            return Category.add_root(**fields)
        parent.refresh_from_db()  # numchild may be stale after an earlier add_child
        return parent.add_child(**fields)
    if category.name != service_item.title:
        category.name = service_item.title
        category.save(update_fields=["name"])
    current_parent = category.get_parent()
    if parent is not None and (current_parent is None or current_parent.pk != parent.pk):
        category.move(parent, pos="last-child")
        category.refresh_from_db()
    return category


def ensure_shop_structure() -> dict[str, Any]:
    """The product class and one category per industry (root) and per live service item
    (child of its industry). Idempotent: names follow the catalog, nothing is duplicated.
    Returns {"product_class": …, "industries": {code: Category}, "items": {item pk: Category}}."""
    from cms.models import IndustryPage, ServiceItemPage

    product_class = ensure_product_class()
    industries = {}
    items = {}
    pages = list(IndustryPage.objects.live().select_related("industry").order_by("path"))
    for page in pages:
        if page.industry_id is None:
            continue
        industries[page.industry.code] = _industry_category(page.industry)
        for item in ServiceItemPage.objects.live().child_of(page).order_by("path"):
            items[item.pk] = item_category(item, industry=page.industry)
    return {"product_class": product_class, "industries": industries, "items": items}


# --- partners -----------------------------------------------------------------------------------


def _partner_code(agency: Agency) -> str:
    uscc = (agency.organisation.uscc or "").strip().lower()
    return f"uscc-{uscc}" if uscc else f"agency-{agency.pk}"


def _active_member_ids(organisation) -> list[int]:
    return list(
        Membership.objects.filter(
            organisation=organisation, is_active=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def partner_sync(*, agency: Agency):
    """Creates or updates the agency's Oscar ``Partner``: name = the organisation's name,
    code from the USCC, users = the organisation's active members; stores it on
    ``agency.partner``; then refreshes the agency's shelf (``shelf_refresh``), so that
    re-approval lists its offerings again. Idempotent (a second call changes nothing). Call it
    in the approval transaction; it does not check permissions (the caller has)."""
    organisation = agency.organisation
    code = _partner_code(agency)
    name = organisation.name[:128]
    with transaction.atomic():
        partner = None
        if agency.partner_id is not None:
            partner = Partner.objects.select_for_update().filter(pk=agency.partner_id).first()
        if partner is None:
            partner = Partner.objects.select_for_update().filter(code=code).first()
        created = partner is None
        if created:
            partner = Partner.objects.create(code=code, name=name)
        elif partner.name != name or partner.code != code:
            partner.name = name
            partner.code = code
            partner.save(update_fields=["name", "code"])
        partner.users.set(_active_member_ids(organisation))
        if agency.partner_id != partner.pk:
            # A plain UPDATE: the agency row's protected FSM state is not touched.
            Agency.objects.filter(pk=agency.pk).update(partner=partner)
            agency.partner = partner
        if created:
            audit.record(
                actor=None,
                action="partner_create",
                obj=agency,
                data={"partner_id": partner.pk, "partner_code": partner.code},
            )
        # Approval (and re-approval after a suspension) puts the offerings back on the shelf.
        shelf_refresh(agency=agency)
    return partner


def partner_users_sync(*, organisation) -> None:
    """Keeps the partner's users equal to the organisation's active members (called when a
    membership changes; a no-op for organisations without a partner)."""
    agency = (
        Agency.objects.filter(organisation=organisation, partner__isnull=False)
        .select_related("partner")
        .first()
    )
    if agency is not None:
        agency.partner.users.set(_active_member_ids(organisation))


@receiver(post_save, sender=Membership, dispatch_uid="agencies.shelf.membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="agencies.shelf.membership_deleted")
def _membership_changed(sender, instance, **kwargs) -> None:
    """A member joins, leaves or is deactivated: the partner's users follow."""
    partner_users_sync(organisation=instance.organisation_id)


# --- pricing ------------------------------------------------------------------------------------


def _fee_message(exc) -> str:
    from cms.fees import api as fees

    return fees.message_for(exc)


def _decimal(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise ValidationError({field: _("Give the amount as a decimal number, not a float.")})
    try:
        result = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(
            {field: _("“%(value)s” is not a number.") % {"value": str(value)[:40]}},
            code="invalid",
        ) from None
    if not result.is_finite():
        raise ValidationError({field: _("“%(value)s” is not a number.") % {"value": value}})
    return result


@dataclass(frozen=True)
class Pricing:
    """The checked terms of an offering: ``shelf_price`` goes on the StockRecord (None: priced
    per project); ``computation`` is the fee engine's result (None without a rule)."""

    pricing_mode: str
    price: Decimal | None
    discount_rate: Decimal | None
    reference_amount: Decimal | None
    shelf_price: Decimal | None
    computation: Any = None


def _calculate(item, amount):
    """The fee engine's result for ``item`` at ``amount`` (None for a fixed rule); fee errors
    become field errors (an amount error on ``reference_amount``, a rule error on the item)."""
    from cms.fees import api as fees

    try:
        return fees.calculate(item.fee_rule, amount, category=item.fee_category or None)
    except (fees.InvalidAmount, fees.AmountOutOfTable) as exc:
        raise ValidationError({"reference_amount": _fee_message(exc)}, code=exc.code) from exc
    except fees.FeeError as exc:
        raise ValidationError({"service_item": _fee_message(exc)}, code=exc.code) from exc


def price_offering(
    *, service_item, pricing_mode: str, price=None, discount_rate=None, reference_amount=None
) -> Pricing:
    """Checks an offering's terms against the item's fee rule (see the module docstring) and
    returns its ``Pricing``; raises ``ValidationError`` keyed on the field at fault, whose
    message shows the fee computation when the ceiling is exceeded."""
    from cms.fees import api as fees

    rule = service_item.fee_rule
    price = _decimal(price, "price")
    discount_rate = _decimal(discount_rate, "discount_rate")
    reference_amount = _decimal(reference_amount, "reference_amount")
    if reference_amount is not None and reference_amount <= 0:
        raise ValidationError({"reference_amount": _("The reference amount must be positive.")})

    if pricing_mode == PricingMode.PRICE:
        if price is None:
            raise ValidationError({"price": _("Give the price.")}, code="required")
        if price <= 0:
            raise ValidationError({"price": _("The price must be positive.")}, code="min_value")
        if price != price.quantize(CENT):
            raise ValidationError({"price": _("A price has at most two decimal places (fen).")})
        if rule is None:  # 市场调节价: any positive price
            return Pricing(pricing_mode, price, None, reference_amount, price)
        is_fixed = not rule.compiled.needs_amount
        if not is_fixed and reference_amount is None:
            compiled = rule.compiled
            language = translation.get_language() or ""
            base = compiled.base_label_en if language.startswith("en") else compiled.base_label_zh
            raise ValidationError(
                {
                    "reference_amount": _(
                        "This item's fee depends on an amount%(base)s: state the reference "
                        "amount your price is quoted for, so that it can be checked against "
                        "the fee ceiling."
                    )
                    % {"base": f" ({base})" if base else ""}
                },
                code="required",
            )
        try:
            result = fees.check_price_within_ceiling(
                rule,
                None if is_fixed else reference_amount,
                price,
                category=service_item.fee_category or None,
            )
        except fees.PriceAboveCeiling as exc:
            raise ValidationError({"price": _fee_message(exc)}, code=exc.code) from exc
        except (fees.InvalidAmount, fees.AmountOutOfTable) as exc:
            field = "price" if exc.field == "price" else "reference_amount"
            raise ValidationError({field: _fee_message(exc)}, code=exc.code) from exc
        except fees.FeeError as exc:
            raise ValidationError({"service_item": _fee_message(exc)}, code=exc.code) from exc
        return Pricing(
            pricing_mode, price, None, None if is_fixed else reference_amount, price, result
        )

    if pricing_mode == PricingMode.DISCOUNT:
        if rule is None:
            raise ValidationError(
                {
                    "pricing_mode": _(
                        "This item has no standard fee (its price is set by the market), so "
                        "a discount rate cannot apply: give a fixed price."
                    )
                },
                code="no_standard_fee",
            )
        if discount_rate is None:
            raise ValidationError({"discount_rate": _("Give the discount rate.")}, code="required")
        if discount_rate < 0:
            raise ValidationError(
                {
                    "discount_rate": _(
                        "A discount rate cannot be negative. To charge above the standard fee "
                        "(within the rule's upward float), give a fixed price; it is checked "
                        "against the ceiling."
                    )
                },
                code="min_value",
            )
        if discount_rate >= HUNDRED:
            raise ValidationError(
                {"discount_rate": _("A discount rate must be below 100 %.")}, code="max_value"
            )
        if discount_rate != discount_rate.quantize(CENT):
            raise ValidationError(
                {"discount_rate": _("A discount rate has at most two decimal places.")}
            )
        is_fixed = not rule.compiled.needs_amount
        amount = None if is_fixed else reference_amount
        shelf_price = None
        result = None
        if is_fixed or amount is not None:
            result = _calculate(service_item, amount)
            shelf_price = _discounted(result.standard_fee, discount_rate)
        return Pricing(pricing_mode, None, discount_rate, amount, shelf_price, result)

    raise ValidationError(
        {"pricing_mode": _("Choose a fixed price or a discount rate.")}, code="invalid_choice"
    )


def _discounted(standard_fee: Decimal, rate: Decimal) -> Decimal:
    return (standard_fee * (HUNDRED - rate) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def offering_quote(*, offering: Offering, amount=None) -> Decimal:
    """What ``offering`` costs for a project of base ``amount`` (yuan): its fixed price, or the
    standard fee of the item's rule at ``amount`` less the discount rate. Raises
    ``ValidationError`` (on ``amount``) when the amount is needed and missing or out of the
    rule's table."""
    if offering.pricing_mode == PricingMode.PRICE:
        return offering.price
    item = offering.service_item
    if item.fee_rule is None:  # cannot happen for a saved discount offering
        raise ValidationError({"pricing_mode": _("This item has no standard fee.")})
    is_fixed = not item.fee_rule.compiled.needs_amount
    amount = _decimal(amount, "amount")
    if not is_fixed and amount is None:
        raise ValidationError({"amount": _("Give the project amount the fee is computed on.")})
    try:
        result = _calculate(item, None if is_fixed else amount)
    except ValidationError as exc:
        raise ValidationError({"amount": exc.messages}) from exc
    return _discounted(result.standard_fee, offering.discount_rate)


# --- offerings ----------------------------------------------------------------------------------


def offering_code(offering: Offering) -> str:
    """The offering's stable code: the Oscar product's ``code`` (unique)."""
    return f"OFR-{offering.pk:08d}"


def offering_reference_amount(offering: Offering) -> Decimal | None:
    """The reference amount (基准金额) an offering was priced for, if any."""
    return offering.reference_amount


def _product_title(offering: Offering, agency: Agency | None = None) -> str:
    agency = agency or offering.agency
    return f"{offering.service_item.title} · {agency.name}"[:255]


def _qualified_ids(agency: Agency, today=None) -> set[int]:
    from agencies.eligibility import qualified_item_ids

    return set(qualified_item_ids(agency, today=today))


def _barred(agency: Agency, today=None) -> bool:
    """Whether a sanction in effect bars the agency on ``today`` (the providers registered
    with procurement.eligibility, e.g. the ratings app's blacklist): its offerings are then
    off the shelf, whatever else holds. One query per provider."""
    from django.utils import timezone

    from procurement.eligibility import sanctions

    return agency.pk in sanctions([agency.pk], today or timezone.localdate())


def is_visible(offering: Offering, agency: Agency, qualified: set[int]) -> bool:
    """Whether ``offering`` belongs on the public shelf (module docstring, "Visibility");
    ``qualified``: ids of items the agency is qualified for. Checkout re-checks it with this."""
    return bool(
        offering.is_active
        and agency.status == EnrolmentStatus.APPROVED
        and offering.service_item.live
        and offering.service_item_id in qualified
    )


def _sync_product(
    offering: Offering, agency: Agency, pricing: Pricing | None, *, is_public: bool
) -> None:
    """Creates or updates the offering's Oscar product, category link and stock record."""
    product_class = ensure_product_class()
    category = item_category(offering.service_item)
    partner = agency.partner or partner_sync(agency=agency)
    product = offering.product
    if product is None:
        product = Product(structure=Product.STANDALONE, product_class=product_class)
    product.product_class = product_class
    product.structure = Product.STANDALONE
    product.title = _product_title(offering, agency)
    product.slug = slugify(f"{offering.service_item.code}-{agency.organisation.uscc}") or (
        f"offering-{offering.pk}"
    )
    product.code = offering_code(offering)
    product.description = offering.description
    product.is_public = is_public
    product.save()
    if offering.product_id != product.pk:
        Offering.objects.filter(pk=offering.pk).update(product=product)
        offering.product = product
    ProductCategory.objects.filter(product=product).exclude(category=category).delete()
    ProductCategory.objects.get_or_create(product=product, category=category)
    if pricing is not None:
        StockRecord.objects.filter(product=product).exclude(partner=partner).delete()
        StockRecord.objects.update_or_create(
            product=product,
            partner=partner,
            defaults={
                "partner_sku": offering.service_item.code,
                "price": pricing.shelf_price,
                "price_currency": CURRENCY,
                "num_in_stock": None,
            },
        )


def _locked_agency(agency: Agency) -> Agency:
    return (
        Agency.objects.select_for_update(of=("self",))
        .select_related("organisation", "partner")
        .get(pk=agency.pk)
    )


def offering_save(
    *,
    actor,
    agency: Agency,
    service_item,
    pricing_mode: str,
    price=None,
    discount_rate=None,
    turnaround_days: int,
    description: str = "",
    reference_amount=None,
) -> Offering:
    """Lists (or updates) the agency's offering of ``service_item``: one per item. Checks, in
    order: the actor is an admin or staff member of the agency (``PermissionDenied``); the
    agency is approved; it is qualified for the item today; the turnaround is within the
    item's service time limit; the price is within the ceiling (module docstring). Then saves
    the offering, its Oscar product (public per ``shelf_refresh``'s rule) and stock record
    (effective price in CNY), and audits. Nothing is saved when a check fails."""
    _require_offering_member(actor, agency)
    with transaction.atomic():
        agency = _locked_agency(agency)
        if agency.status != EnrolmentStatus.APPROVED:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: _(
                        "Only an approved agency can list offerings (this agency is %(status)s)."
                    )
                    % {"status": agency.get_status_display()}
                },
                code="agency_not_approved",
            )
        if not service_item.live:
            raise ValidationError(
                {"service_item": _("This service item is not published in the catalog.")},
                code="item_not_live",
            )
        qualified = _qualified_ids(agency)
        if service_item.pk not in qualified:
            raise ValidationError(
                {
                    "service_item": _(
                        "Your agency does not hold a valid qualification this item requires, "
                        "so it cannot offer “%(item)s”."
                    )
                    % {"item": service_item.title}
                },
                code="not_qualified",
            )
        turnaround = _turnaround(turnaround_days, service_item)
        pricing = price_offering(
            service_item=service_item,
            pricing_mode=pricing_mode,
            price=price,
            discount_rate=discount_rate,
            reference_amount=reference_amount,
        )
        description = (description or "").strip()

        offering = (
            Offering.objects.select_for_update(of=("self",))
            .filter(agency=agency, service_item=service_item)
            .select_related("product")
            .first()
        )
        created = offering is None
        if created:
            offering = Offering(agency=agency, service_item=service_item)
        before = None if created else _terms(offering)
        offering.pricing_mode = pricing.pricing_mode
        offering.price = pricing.price
        offering.discount_rate = pricing.discount_rate
        offering.reference_amount = pricing.reference_amount
        offering.turnaround_days = turnaround
        offering.description = description
        offering.is_active = True
        offering.full_clean(exclude=["agency", "service_item", "product"], validate_unique=False)
        try:
            with transaction.atomic():
                offering.save()
        except IntegrityError:  # a concurrent first listing of the same item
            raise ValidationError(
                {"service_item": _("Your agency already offers this item; edit that offering.")},
                code="unique",
            ) from None
        offering.service_item = service_item
        public = is_visible(offering, agency, qualified) and not _barred(agency)
        _sync_product(offering, agency, pricing, is_public=public)
        audit.record(
            actor=actor,
            action="offering_create" if created else "offering_update",
            obj=offering,
            organisation=agency.organisation,
            data={
                "service_item": service_item.code,
                "before": before,
                "after": _terms(offering),
                "reference_amount": _str(pricing.reference_amount),
                "shelf_price": _str(pricing.shelf_price),
                "ceiling": _str(pricing.computation.ceiling) if pricing.computation else None,
            },
        )
    return offering


def _str(value) -> str | None:
    return None if value is None else str(value)


def _terms(offering: Offering) -> dict:
    return {
        "pricing_mode": offering.pricing_mode,
        "price": _str(offering.price),
        "discount_rate": _str(offering.discount_rate),
        "reference_amount": _str(offering.reference_amount),
        "turnaround_days": offering.turnaround_days,
        "is_active": offering.is_active,
    }


def _turnaround(value, service_item) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            {"turnaround_days": _("Give the turnaround as a whole number of working days.")}
        ) from None
    if isinstance(value, float) and value != days:
        raise ValidationError(
            {"turnaround_days": _("Give the turnaround as a whole number of working days.")}
        )
    if days < 1:
        raise ValidationError({"turnaround_days": _("The turnaround is at least one working day.")})
    limit = service_item.time_limit_days
    if limit and days > limit:
        raise ValidationError(
            {
                "turnaround_days": _(
                    "The turnaround (%(days)s working days) exceeds the item's service time "
                    "limit of %(limit)s working days."
                )
                % {"days": days, "limit": limit}
            },
            code="max_value",
        )
    return days


def offering_withdraw(*, actor, offering: Offering, reason: str = "") -> Offering:
    """Takes an offering off the shelf (it stays on record; ``offering_save`` lists it again).
    Only the agency's admins and staff. Idempotent."""
    _require_offering_member(actor, offering.agency)
    with transaction.atomic():
        offering = (
            Offering.objects.select_for_update(of=("self",))
            .select_related("agency__organisation")
            .get(pk=offering.pk)
        )
        if not offering.is_active:
            return offering
        offering.is_active = False
        offering.save(update_fields=["is_active", "updated_at"])
        if offering.product_id:
            Product.objects.filter(pk=offering.product_id).update(is_public=False)
        audit.record(
            actor=actor,
            action="offering_withdraw",
            obj=offering,
            organisation=offering.agency.organisation,
            reason=reason,
            data={"service_item_id": offering.service_item_id},
        )
    return offering


def shelf_refresh(*, agency: Agency, today=None) -> dict[str, list[int]]:
    """Recomputes which of the agency's offerings are public: listed, agency approved, item
    live and the agency qualified for it on ``today`` (Asia/Shanghai date; default today).
    Also keeps product titles in step with the agency's and items' names. Call after
    approval, suspension, certificate expiry, a ban or an approved change request. Audited
    when something changes. Returns {"shown": [product ids], "hidden": [product ids]}."""
    with transaction.atomic():
        agency = Agency.objects.select_related("organisation").get(pk=agency.pk)
        offerings = list(
            Offering.objects.filter(agency=agency, product__isnull=False).select_related(
                "service_item", "product"
            )
        )
        if not offerings:
            return {"shown": [], "hidden": []}
        qualified = (
            _qualified_ids(agency, today)
            if agency.status == EnrolmentStatus.APPROVED and not _barred(agency, today)
            else set()
        )
        shown, hidden, retitled = [], [], []
        for offering in offerings:
            product = offering.product
            visible = is_visible(offering, agency, qualified)
            if product.is_public != visible:
                (shown if visible else hidden).append(product.pk)
            title = _product_title(offering, agency)
            if product.title != title:
                product.title = title
                retitled.append(product)
        if shown:
            Product.objects.filter(pk__in=shown).update(is_public=True)
        if hidden:
            Product.objects.filter(pk__in=hidden).update(is_public=False)
        if retitled:
            Product.objects.bulk_update(retitled, ["title"])
        if shown or hidden:
            audit.record(
                actor=None,
                action="shelf_refresh",
                obj=agency,
                data={"shown": shown, "hidden": hidden, "status": agency.status},
            )
    return {"shown": shown, "hidden": hidden}


# --- selectors ----------------------------------------------------------------------------------


def public_offerings(*, service_item=None, agency=None) -> QuerySet[Offering]:
    """The offerings on the public shelf, cheapest first (priced per project last), in ONE
    query: each row carries its agency and organisation, item, product and the annotations
    ``shelf_price`` (the stock record's CNY price, None when priced per project) and
    ``shelf_reference_amount`` (the offering's reference amount, or None)."""
    stock = StockRecord.objects.filter(product=OuterRef("product_id")).order_by("pk")
    queryset = (
        Offering.objects.filter(
            is_active=True,
            product__is_public=True,
            agency__status=EnrolmentStatus.APPROVED,
            service_item__live=True,
        )
        .select_related("agency__organisation", "service_item", "product")
        .annotate(
            shelf_price=Subquery(stock.values("price")[:1]),
            shelf_reference_amount=F("reference_amount"),
        )
    )
    if service_item is not None:
        queryset = queryset.filter(service_item=service_item)
    if agency is not None:
        queryset = queryset.filter(agency=agency)
    return queryset.order_by(F("shelf_price").asc(nulls_last=True), "pk")


def offerings_of(agency: Agency) -> Iterable[Offering]:
    """All the agency's offerings (for its portal), listed or not, with item and product."""
    return (
        Offering.objects.filter(agency=agency)
        .select_related("service_item", "product")
        .order_by("service_item__title")
    )
