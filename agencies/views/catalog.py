"""The catalog's service items grouped by industry, with what an agency lacks for each."""

from __future__ import annotations

from agencies.models import QualificationCertificate
from cms.models import IndustryPage, ServiceItemPage


def live_items_by_industry():
    """[(industry page, [items])] of the live catalog, in catalog order. Three queries: the
    industry pages with their industry, the items, their requirements with their type."""
    industry_pages = list(
        IndustryPage.objects.live()
        .select_related("industry")
        .order_by("industry__sort_order", "path")
    )
    by_path = {page.path: page for page in industry_pages}
    items = list(
        ServiceItemPage.objects.live()
        .order_by("path")
        .prefetch_related("qualification_requirements__qualification")
    )
    groups: dict[int, list] = {page.pk: [] for page in industry_pages}
    for item in items:
        page = by_path.get(item.path[: -item.steplen])
        if page is not None:
            item.industry_page = page
            groups[page.pk].append(item)
    return [(page, groups[page.pk]) for page in industry_pages if groups[page.pk]]


def service_item_rows(agency):
    """([{"industry": …, "rows": [{"item", "declared", "missing"}]}], [item ids]) for the
    enrolment page. ``missing`` lists the requirements the agency's current certificates do not
    meet (from agencies.eligibility); such items cannot be ticked."""
    from agencies import eligibility

    declared = set(agency.service_items.values_list("service_item_id", flat=True))
    # The certificates are loaded once for every item's check.
    checker = eligibility.missing_for_items(
        agency,
        certificates=QualificationCertificate.objects.filter(agency=agency).select_related(
            "qualification_type"
        ),
    )
    groups = []
    ids = []
    for page, items in live_items_by_industry():
        rows = []
        for item in items:
            missing = checker(item)
            rows.append({"item": item, "declared": item.pk in declared, "missing": missing})
            ids.append(item.pk)
        groups.append({"industry": page.industry, "page": page, "rows": rows})
    return groups, ids
