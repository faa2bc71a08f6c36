"""Facets several kinds share: the hierarchical region (GB/T 2260), the industry and the
service item. One place for how their filter values are checked and labelled."""

from __future__ import annotations

from django.utils.translation import gettext as _

from search.kinds.base import BadFilter

SHARED_FACETS = ("region", "industry", "item")


def region_depth(value: str) -> int:
    """GB/T 2260: 530000 a province, 530100 a prefecture, 530102 a county."""
    if value.endswith("0000"):
        return 1
    if value.endswith("00"):
        return 2
    return 3


def clean_shared(param: str, value: str, *, live_items_only: bool) -> str:
    """The value of a shared facet's filter, or BadFilter. ``live_items_only``: an item must
    be in the published catalog (agencies); announcements of a withdrawn item stay public."""
    from cms.models import ServiceItemPage
    from marketplace.models import Industry, Region

    if param == "region":
        if not (value.isdigit() and len(value) == 6 and Region.objects.filter(pk=value).exists()):
            raise BadFilter(_("Unknown region code “%(value)s”.") % {"value": value[:20]})
    elif param == "industry":
        if not Industry.objects.filter(code=value).exists():
            raise BadFilter(_("Unknown industry “%(value)s”.") % {"value": value[:40]})
    elif param == "item":
        items = ServiceItemPage.objects.live() if live_items_only else ServiceItemPage.objects
        if not items.filter(code=value).exists():
            raise BadFilter(_("Unknown service item “%(value)s”.") % {"value": value[:40]})
    return value


def shared_labels(param: str, values: list[str]) -> dict:
    """{value: label} for a shared facet's buckets, in one query."""
    from cms.models import ServiceItemPage
    from marketplace.models import Industry, Region

    if not values:
        return {}
    if param == "region":
        return dict(Region.objects.filter(code__in=values).values_list("code", "name"))
    if param == "industry":
        return {i.code: i.display_name for i in Industry.objects.filter(code__in=values)}
    return dict(ServiceItemPage.objects.filter(code__in=values).values_list("code", "title"))
