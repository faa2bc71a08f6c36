"""Reads of the agencies app.

Regulator scope (who may review an agency): a regulator organisation covers an agency when

- its scope region contains the agency's registered region (Organisation.region) — agencies
  enrol once and practise province-wide, so the registering region decides who reviews; and
- it supervises the industry of at least one service item the agency declares (the item's
  IndustryPage.industry), or it covers all industries. An agency declaring no item (it cannot
  be submitted like that) is covered only by regulators covering all industries.

Only reviewers and supervisors of such a regulator review (see agencies/rules.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import (
    Agency,
    AgencyServiceItem,
    CertificateStatus,
    ChangeRequest,
    ChangeRequestStatus,
    EnrolmentStatus,
    QualificationCertificate,
)
from marketplace.models import Industry, Organisation, OrganisationKind, Role
from marketplace.permissions import regulator_covers
from marketplace.selectors import user_organisations

REVIEWING_ROLES = (Role.REVIEWER, Role.SUPERVISOR)
_INDUSTRIES_CACHE = "_agency_industries"


# --- industries and regulator scope -----------------------------------------------------------


def industry_pages_by_path() -> dict:
    """{IndustryPage.path: IndustryPage with its industry} — one query (a handful of rows)."""
    from cms.models import IndustryPage

    return {p.path: p for p in IndustryPage.objects.select_related("industry")}


def item_industry(item, pages_by_path: dict | None = None) -> Industry | None:
    """The industry of a service item: that of its parent IndustryPage (found by tree path)."""
    from wagtail.models import Page

    pages_by_path = industry_pages_by_path() if pages_by_path is None else pages_by_path
    page = pages_by_path.get(item.path[: -Page.steplen])
    return page.industry if page is not None else None


def agency_industries(agency: Agency, pages_by_path: dict | None = None) -> list[Industry]:
    """The industries of the agency's declared items (cached on the object). Uses the
    prefetched ``service_items__service_item`` when present."""
    cached = getattr(agency, _INDUSTRIES_CACHE, None)
    if cached is not None:
        return cached
    if "service_items" in getattr(agency, "_prefetched_objects_cache", {}):
        items = [d.service_item for d in agency.service_items.all()]
    else:
        items = [
            d.service_item
            for d in AgencyServiceItem.objects.filter(agency=agency).select_related("service_item")
        ]
    industries: dict[int, Industry] = {}
    if items:
        pages_by_path = industry_pages_by_path() if pages_by_path is None else pages_by_path
        for item in items:
            industry = item_industry(item, pages_by_path)
            if industry is not None:
                industries[industry.pk] = industry
    result = sorted(industries.values(), key=lambda i: (i.sort_order, i.code))
    setattr(agency, _INDUSTRIES_CACHE, result)
    return result


def regulator_covers_agency(org: Organisation, agency: Agency) -> bool:
    """Whether regulator ``org`` may review ``agency`` (see the module docstring)."""
    if org is None or org.kind != OrganisationKind.REGULATOR or not org.is_active:
        return False
    region = agency.organisation.region
    if region is None:
        return False
    industries = agency_industries(agency)
    if not industries:
        return bool(
            org.scope_all_industries and org.scope_region_id and org.scope_region.contains(region)
        )
    return any(regulator_covers(org, region, industry) for industry in industries)


def reviewing_regulators(user, agency: Agency) -> list[Organisation]:
    """The regulators in which ``user`` is a reviewer or supervisor and that cover ``agency``."""
    return [
        org
        for org in user_organisations(user, kind=OrganisationKind.REGULATOR, roles=REVIEWING_ROLES)
        if regulator_covers_agency(org, agency)
    ]


def regulator_in_scope(user, agency: Agency) -> bool:
    """Whether ``user`` belongs (any role) to a regulator covering ``agency`` (may read its
    files); reviewing additionally needs a reviewing role (reviewing_regulators)."""
    return any(
        regulator_covers_agency(org, agency)
        for org in user_organisations(user, kind=OrganisationKind.REGULATOR)
    )


def _declares_item_under(paths: list[str]) -> Q:
    """Agencies declaring at least one item under these catalog paths, as EXISTS: a join to
    the declared items would repeat agencies and force a de-duplicating subquery around the
    whole queue (measured: a scan of every organisation at 100k agencies)."""
    under = Q()
    for path in paths:
        under |= Q(service_item__path__startswith=path)
    return Q(Exists(AgencyServiceItem.objects.filter(under, agency=OuterRef("pk"))))


def _scope_q(org: Organisation, pages_by_path: dict) -> Q | None:
    """A Q over Agency matching what ``org`` covers, or None if it covers nothing."""
    if org.scope_region_id is None:
        return None
    q = org.scope_region.code_prefix_q("organisation__region__code")
    if org.scope_all_industries:
        return q
    industry_ids = {i.pk for i in org.scope_industries.all()}
    paths = [p.path for p in pages_by_path.values() if p.industry_id in industry_ids]
    if not paths:
        return None
    return q & _declares_item_under(paths)


def _review_scope(user) -> tuple[Q | None, dict]:
    """A Q over Agency: what the user's regulators (reviewing roles) cover, or None for
    nothing; with the industry pages it was built from. Costs the memberships (cached), the
    regulators with their industries (2) and the industry pages (1)."""
    orgs = user_organisations(user, kind=OrganisationKind.REGULATOR, roles=REVIEWING_ROLES)
    if not orgs:
        return None, {}
    orgs = list(
        Organisation.objects.filter(pk__in=[o.pk for o in orgs], is_active=True)
        .select_related("scope_region")
        .prefetch_related("scope_industries")
    )
    pages_by_path = industry_pages_by_path()
    scopes = [q for q in (_scope_q(org, pages_by_path) for org in orgs) if q is not None]
    if not scopes:
        return None, pages_by_path
    scope = Q()
    for q in scopes:
        scope |= q
    return scope, pages_by_path


def change_request_queue(*, user) -> QuerySet[ChangeRequest]:
    """变更审核: submitted change requests of agencies in the user's review scope, oldest
    first; the scope is one EXISTS in SQL, so a page costs the same whatever the backlog."""
    scope, _pages = _review_scope(user)
    if scope is None:
        return ChangeRequest.objects.none()
    in_scope = Agency.objects.filter(scope, pk=OuterRef("agency_id"))
    return (
        ChangeRequest.objects.filter(Exists(in_scope), status=ChangeRequestStatus.SUBMITTED)
        .select_related("agency__organisation__region", "requested_by")
        .order_by("created_at", "pk")
    )


# --- the regulator's review queue -------------------------------------------------------------


def review_queue(
    *,
    user,
    region=None,
    industry=None,
    min_age_days: int | None = None,
    now: datetime.datetime | None = None,
) -> QuerySet[Agency]:
    """待审核: submitted agencies within the user's regulator scope (as reviewer or
    supervisor), oldest submission first. ``region`` (Region) narrows to its subtree,
    ``industry`` (Industry or code) to agencies declaring an item of that industry,
    ``min_age_days`` to submissions at least that old.

    Evaluating a page costs a fixed number of queries whatever its size: the agencies with
    organisation and region (1), declared items with their pages (1), certificates with types
    (1). Building the queryset costs the user's memberships (1, cached), the regulators'
    industries (1) and the industry pages (1)."""
    scope, pages_by_path = _review_scope(user)
    if scope is None:
        return Agency.objects.none()
    matching = Agency.objects.filter(status=EnrolmentStatus.SUBMITTED).filter(scope)
    if region is not None:
        matching = matching.filter(region.code_prefix_q("organisation__region__code"))
    if industry is not None:
        if not isinstance(industry, Industry):
            industry = Industry.objects.filter(code=str(industry)).first()
        paths = [
            p.path for p in pages_by_path.values() if industry and p.industry_id == industry.pk
        ]
        if not paths:
            return Agency.objects.none()
        matching = matching.filter(_declares_item_under(paths))
    if min_age_days is not None:
        cutoff = (now or timezone.now()) - datetime.timedelta(days=int(min_age_days))
        matching = matching.filter(submitted_at__lte=cutoff)
    # Every condition is on single-valued relations or EXISTS, so no agency repeats and the
    # queue walks the partial index (submitted_at, id) of submitted agencies in order.
    return (
        matching.select_related("organisation__region")
        .prefetch_related(
            Prefetch(
                "service_items",
                queryset=AgencyServiceItem.objects.select_related("service_item").order_by("pk"),
            ),
            Prefetch(
                "certificates",
                queryset=QualificationCertificate.objects.select_related(
                    "qualification_type"
                ).order_by("pk"),
            ),
        )
        .order_by("submitted_at", "pk")
    )


# --- agency members ---------------------------------------------------------------------------


def user_agency(user) -> Agency | None:
    """The agency ``user`` belongs to (a user belongs to at most one), or None."""
    orgs = user_organisations(user, kind=OrganisationKind.AGENCY)
    if not orgs:
        return None
    return (
        Agency.objects.select_related("organisation__region")
        .filter(organisation__in=orgs)
        .order_by("pk")
        .first()
    )


def agency_for_member(user, pk) -> Agency:
    """The agency ``pk`` if ``user`` is an active member of it; otherwise Http404 — another
    agency's drafts, review notes and portal are not even confirmed to exist."""
    orgs = {o.pk for o in user_organisations(user, kind=OrganisationKind.AGENCY)}
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    agency = (
        Agency.objects.select_related("organisation__region").filter(pk=pk).first()
        if orgs
        else None
    )
    if agency is None or agency.organisation_id not in orgs:
        raise Http404
    return agency


# --- public directory -------------------------------------------------------------------------


def agency_public_queryset(
    *, today: datetime.date | None = None, light_items: bool = False
) -> QuerySet[Agency]:
    """名录: approved agencies, by name, with their organisation and region, their usable
    certificates (valid or expiring, in their validity period; ``valid_certificates``) and
    their declared items with the item pages (``service_items``) prefetched: three queries
    for a page whatever its size. ``light_items`` loads only the items' id, code, title and
    tree path (the search index builds 100k agencies' documents: whole Wagtail pages cost
    more than the rest of the extraction)."""
    day = today or timezone.localdate()
    items = AgencyServiceItem.objects.select_related("service_item").order_by("service_item__code")
    if light_items:
        items = items.only(
            "agency_id",
            "service_item_id",
            "service_item__code",
            "service_item__title",
            "service_item__path",
        )
    return (
        Agency.objects.filter(status=EnrolmentStatus.APPROVED)
        .select_related("organisation__region")
        .prefetch_related(
            Prefetch(
                "certificates",
                queryset=QualificationCertificate.objects.filter(
                    status__in=(CertificateStatus.VALID, CertificateStatus.EXPIRING),
                    valid_from__lte=day,
                    valid_until__gte=day,
                )
                .select_related("qualification_type")
                .order_by("qualification_type__code", "pk"),
                to_attr="valid_certificates",
            ),
            Prefetch("service_items", queryset=items),
        )
        .order_by("organisation__name", "pk")
    )


# --- what is missing before submission --------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """One thing to complete before submitting: ``field`` is the form field or section
    ("business_licence", "certificates", "service_items", …), ``message`` is for people."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


def enrolment_missing(agency: Agency, *, today: datetime.date | None = None) -> list[Missing]:
    """What ``agency`` must still provide before it can be submitted; empty when complete."""
    day = today or timezone.localdate()
    missing: list[Missing] = []
    org = agency.organisation
    required_text = (
        ("legal_representative", agency.legal_representative, _("the legal representative")),
        ("registered_address", agency.registered_address, _("the registered address")),
        ("contact_name", agency.contact_name, _("a contact person")),
        ("contact_phone", agency.contact_phone, _("a contact phone number")),
        ("business_scope", agency.business_scope, _("the business scope")),
    )
    if not org.uscc:
        missing.append(Missing("uscc", _("Enter the unified social credit code.")))
    if org.region_id is None:
        missing.append(Missing("region", _("Choose the registered region.")))
    for field, value, label in required_text:
        if not (value or "").strip():
            missing.append(Missing(field, _("Enter %(what)s.") % {"what": label}))
    if not agency.business_licence:
        missing.append(Missing("business_licence", _("Upload a scan of the business licence.")))
    if agency.commitment_accepted_at is None:
        missing.append(Missing("commitment", _("Accept the commitment letter (承诺书).")))
    certificates = list(agency.certificates.all())
    if not any(c.usable_on(day) for c in certificates):
        missing.append(
            Missing("certificates", _("Declare at least one valid qualification certificate."))
        )
    declared = list(AgencyServiceItem.objects.filter(agency=agency).select_related("service_item"))
    if not declared:
        missing.append(Missing("service_items", _("Declare at least one service item.")))
    else:
        from agencies.eligibility import missing_for_items

        checker = missing_for_items(agency, today=day, certificates=certificates)
        for declaration in declared:
            unmet = checker(declaration.service_item)
            if unmet:
                missing.append(
                    Missing(
                        "service_items",
                        _("%(item)s: %(reasons)s")
                        % {
                            "item": declaration.service_item.title,
                            "reasons": " ".join(str(c) for c in unmet),
                        },
                    )
                )
    if agency.service_scope == "regions" and not agency.service_regions.exists():
        missing.append(Missing("service_regions", _("Choose at least one service region.")))
    return missing
