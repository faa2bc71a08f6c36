"""Public pages: the directory of approved agencies and their profiles.

Not opted into the page cache (cms.cache.mark_cacheable): what they show changes on approval,
suspension and certificate expiry, none of which is a Wagtail publish that would invalidate it."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies import selectors
from agencies.models import Agency, CertificateStatus
from agencies.views.common import paginate, query_string_without_page
from marketplace.models import Industry, Region


def directory(request):
    """名录: approved agencies, filtered by region and industry. A fixed number of queries per
    page whatever its size (see tests/agencies/test_views.py::test_directory_query_count)."""
    from agencies.forms import region_choices

    region_code = (request.GET.get("region") or "").strip()
    industry_code = (request.GET.get("industry") or "").strip()
    region = Region.objects.filter(pk=region_code).first() if region_code else None
    industry = Industry.objects.filter(code=industry_code).first() if industry_code else None
    queryset = selectors.agency_public_queryset()
    if region is not None:
        queryset = queryset.filter(region.descendant_q(prefix="organisation__region__"))
    pages_by_path = selectors.industry_pages_by_path()
    if industry is not None:
        # Agencies declaring an item of the industry (items live under its industry pages).
        under = Q(pk__in=[])
        for path, industry_page in pages_by_path.items():
            if industry_page.industry_id == industry.pk:
                under |= Q(service_items__service_item__path__startswith=path)
        queryset = queryset.filter(pk__in=Agency.objects.filter(under).values("pk"))
    page = paginate(request, queryset)
    for agency in page.object_list:
        agency.industries = selectors.agency_industries(agency, pages_by_path)
    return render(
        request,
        "agencies/directory.html",
        {
            "page_obj": page,
            "region_select": forms.Select(
                choices=[("", _("All regions")), *region_choices(blank=False)]
            ).render("region", region.code if region else "", attrs={"id": "f-region"}),
            "industries": list(Industry.objects.all()),
            "selected_region": region.code if region else "",
            "selected_industry": industry.code if industry else "",
            "query_string": query_string_without_page(request),
            "is_filtered": bool(region or industry),
        },
    )


def profile(request, pk):
    """机构主页: an approved agency's public data; 404 for any other agency."""
    agency = selectors.agency_public_queryset().filter(pk=pk).first()
    if agency is None:
        raise Http404
    certificates = list(
        agency.certificates.filter(
            status__in=(CertificateStatus.VALID, CertificateStatus.EXPIRING),
            valid_until__gte=timezone.localdate(),
        )
        .select_related("qualification_type__industry")
        .order_by("qualification_type__name")
    )
    from agencies import shelf

    offerings = list(shelf.public_offerings(agency=agency))
    return render(
        request,
        "agencies/profile.html",
        {
            "agency": agency,
            "certificates": certificates,
            "service_items": list(
                agency.service_items.select_related("service_item").order_by("service_item__path")
            ),
            "offerings": offerings,
            "practitioners": list(agency.practitioners.order_by("pk")),
        },
    )


__all__ = ["Agency", "directory", "profile"]
