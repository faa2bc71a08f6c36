"""Public pages: approved agencies' profiles. (The directory, 名录检索, is a search page:
search/views.py::agency_directory, still at agencies:directory.)

Not opted into the page cache (cms.cache.mark_cacheable): what they show changes on approval,
suspension and certificate expiry, none of which is a Wagtail publish that would invalidate it."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from agencies import selectors
from agencies.models import CertificateStatus


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
    from ratings import sanction_selectors
    from ratings import selectors as ratings_selectors

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
            # 合同数: contracts the agency has signed (one query).
            "contract_count": agency.contracts.filter(signed_at__isnull=False).count(),
            "practitioners": list(agency.practitioners.order_by("pk")),
            # 服务评价 and 信用评价: the aggregates, the latest ratings with their replies and
            # the published formula's page (three queries).
            "rating_summary": ratings_selectors.rating_summary(agency.pk),
            "latest_ratings": ratings_selectors.latest_ratings(agency.pk),
            "credit_policy_url": ratings_selectors.credit_policy_url(),
            # 失信惩戒: the published sanctions, current ones first to the eye (one query).
            "sanctions": sanction_selectors.published_sanctions(agency.pk),
        },
    )


__all__ = ["profile"]
