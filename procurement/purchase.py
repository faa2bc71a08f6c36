"""直接购买: may an owner buy a listed offering (货架上的服务) for one of its projects, now?

A direct purchase has no announcement, so nobody froze a pool: the checkout asks this module
at the preview and again when the order is placed (under the agency's lock, in the placing
transaction), never trusting what the basket says. The checks are the announcement's
eligibility checks that make sense without an announcement, through the same helpers:

- the project is one of the owner's;
- ``approved``: the agency's enrolment is approved (``eligibility.status_check``);
- ``sanction``: no sanction in effect bars it (the registered providers, ``eligibility.sanctions``);
- ``listed``: the offering is still on the public shelf — listed, item live, the agency
  qualified for the item today (``agencies.shelf.is_visible``) — and has a shelf price;
- ``amount``: the price is strictly below ``PROCUREMENT["DIRECT_SELECTION_MAX"]``, as for a
  direct selection (``procurement.methods.direct_selection_max``);
- ``region``: the agency's service area covers the project's location
  (``eligibility.service_area_covers``);
- ``conflict``: no conflict of interest (回避): the same legal representative, or a person who
  is a member of both (``eligibility.conflicts``).

    purchase_check(owner=owner, offering=offering, project=project)  # or ValidationError
    problems = purchase_problems(owner=owner, offering=offering, project=project)  # [] if allowed
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from oscar.core.loading import get_model

from agencies import shelf
from agencies.eligibility import qualified_item_ids
from agencies.models import Agency, EnrolmentStatus, Offering, ServiceScope
from procurement import eligibility
from procurement.methods import direct_selection_max
from procurement.models import Owner, Project

StockRecord = get_model("partner", "StockRecord")

__all__ = ["offering_shelf_price", "purchase_check", "purchase_problems"]


def offering_shelf_price(offering: Offering) -> Decimal | None:
    """The price the shelf sells ``offering`` at (its Oscar stock record's, CNY), or None when
    it is priced per project (a discount on an amount-based fee rule without a reference
    amount) or has no product. One query."""
    if offering.product_id is None:
        return None
    return (
        StockRecord.objects.filter(product_id=offering.product_id)
        .order_by("pk")
        .values_list("price", flat=True)
        .first()
    )


def _unlisted_reason(offering: Offering, qualified: set[int]) -> str:
    """Why a listed-no-more offering is off the shelf (the agency's status is its own check)."""
    if not offering.is_active:
        return _("The agency has withdrawn this offering from the shelf.")
    if not offering.service_item.live:
        return _("The service item “%(item)s” is no longer published in the catalog.") % {
            "item": offering.service_item.title
        }
    if offering.service_item_id not in qualified:
        return _("The agency no longer holds a valid qualification that “%(item)s” requires.") % {
            "item": offering.service_item.title
        }
    return _("This offering is not on the shelf.")


def purchase_problems(
    *,
    owner: Owner,
    offering: Offering,
    project: Project,
    today: datetime.date | None = None,
    amount: Decimal | None = None,
) -> list[str]:
    """The reasons ``owner`` may not buy ``offering`` for ``project`` on ``today`` (Asia/
    Shanghai date, default today), translated; empty when the purchase is allowed. ``amount``:
    the price being paid (the order total at placement); default the offering's shelf price.
    Reads the offering, its agency and the project afresh (the arguments may be stale)."""
    day = today or timezone.localdate()
    offering = Offering.objects.select_related("agency__organisation__region", "service_item").get(
        pk=offering.pk
    )
    project = Project.objects.select_related("region").get(pk=project.pk)
    agency: Agency = offering.agency
    errors: list[str] = []

    if project.owner_id != owner.pk:
        errors.append(_("The project “%(project)s” is not one of yours.") % {"project": project})

    status = eligibility.status_check(agency)
    if not status.met:
        errors.append(status.explanation)

    sanction = eligibility.sanctions([agency.pk], day).get(agency.pk)
    if sanction is not None:
        errors.append(sanction)

    qualified = (
        qualified_item_ids(agency, today=day, item_ids=[offering.service_item_id])
        if agency.status == EnrolmentStatus.APPROVED
        else set()
    )
    listed = shelf.is_visible(offering, agency, qualified)
    if not listed and agency.status == EnrolmentStatus.APPROVED:
        errors.append(_unlisted_reason(offering, qualified))

    if amount is None:
        amount = offering_shelf_price(offering)
    if amount is None:
        errors.append(
            _(
                "This offering is priced per project: it cannot be bought from the shelf; "
                "post an announcement instead."
            )
        )
    else:
        limit = direct_selection_max()
        if amount >= limit:
            errors.append(
                _(
                    "A direct purchase is allowed only for an amount below %(limit)s yuan "
                    "(this one is %(amount)s yuan); post an announcement for a random draw."
                )
                % {"limit": f"{limit:,.2f}", "amount": f"{amount:,.2f}"}
            )

    service_regions = (
        [] if agency.service_scope == ServiceScope.PROVINCE else list(agency.service_regions.all())
    )
    if not eligibility.service_area_covers(agency, project.region, service_regions):
        errors.append(
            _("The agency's service area does not cover the project's location (%(region)s).")
            % {"region": project.region.name}
        )

    shares_member = agency.pk in eligibility.agencies_sharing_members(owner, [agency.pk])
    errors.extend(eligibility.conflicts(owner, agency, shares_member=shares_member))
    return errors


def purchase_check(
    *,
    owner: Owner,
    offering: Offering,
    project: Project,
    today: datetime.date | None = None,
    amount: Decimal | None = None,
) -> None:
    """Raises ``ValidationError`` (a list of every reason, ``purchase_problems``) unless
    ``owner`` may buy ``offering`` for ``project`` now. Nothing to do with the return value."""
    problems = purchase_problems(
        owner=owner, offering=offering, project=project, today=today, amount=amount
    )
    if problems:
        raise ValidationError(problems, code="purchase_refused")
