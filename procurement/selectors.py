"""Reads of procurement for the owner's, the agency's and the regulator's pages.

Every list here costs a fixed number of queries whatever the number of rows (DESIGN §4); the
docstrings say which, and the view tests assert the totals."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from agencies.models import Agency, AgencyServiceItem, QualificationCertificate, ServiceScope
from marketplace.models import Membership, Organisation, OrganisationKind, QualificationType, Role
from marketplace.selectors import user_organisations
from procurement import eligibility
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Exclusion,
    Objection,
    ObjectionStatus,
    Owner,
    Project,
    Registration,
    SelectionMethod,
)

DECIDING_ROLES = (Role.REVIEWER, Role.SUPERVISOR)
MY_REGISTRATIONS = 50  # the agency's most recent registrations shown on its feed


# --- owners ----------------------------------------------------------------------------------


def user_owners(user) -> list[Owner]:
    """The owner units the user may act for (admin or staff), by name. Costs the memberships
    (cached on the user) and one query."""
    orgs = user_organisations(user, kind=OrganisationKind.OWNER, roles=(Role.ADMIN, Role.STAFF))
    if not orgs:
        return []
    return list(
        Owner.objects.filter(organisation__in=orgs)
        .select_related("organisation__region")
        .order_by("organisation__name", "pk")
    )


@dataclass
class OwnerDashboard:
    owner: Owner
    projects: list = field(default_factory=list)
    # [(status value, status label, [announcements])] in the state machine's order, non-empty
    by_status: list = field(default_factory=list)
    can_manage_members: bool = False


def owner_dashboards(owners: list[Owner]) -> list[OwnerDashboard]:
    """Each owner with its projects and its announcements grouped by status: two queries
    (projects with their region; announcements with project and service item)."""
    if not owners:
        return []
    boards = {o.pk: OwnerDashboard(owner=o) for o in owners}
    projects = Project.objects.filter(owner__in=owners).select_related("region")
    by_project = {}
    for project in projects:
        project.announcement_count = 0
        boards[project.owner_id].projects.append(project)
        by_project[project.pk] = project
    grouped: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    announcements = (
        Announcement.objects.filter(project__owner__in=owners)
        .select_related("project", "service_item")
        .order_by("-created_at", "-pk")
    )
    for announcement in announcements:
        owner_id = announcement.project.owner_id
        grouped[owner_id][announcement.status].append(announcement)
        if announcement.project_id in by_project:
            by_project[announcement.project_id].announcement_count += 1
    for owner_id, board in boards.items():
        board.by_status = [
            (value, label, grouped[owner_id][value])
            for value, label in AnnouncementStatus.choices
            if grouped[owner_id].get(value)
        ]
    return list(boards.values())


def owner_announcement(pk: int) -> Announcement | None:
    return (
        Announcement.objects.select_related(
            "project__owner__organisation",
            "project__region",
            "service_item",
            "direct_agency__organisation",
            "republished_from",
        )
        .filter(pk=pk)
        .first()
    )


def announcement_registrations(announcement: Announcement) -> list[Registration]:
    """The registrations of an announcement, drawn ones by position: one query."""
    return list(
        announcement.registrations.select_related("agency__organisation").order_by(
            "position", "created_at", "pk"
        )
    )


def announcement_exclusions(announcement: Announcement) -> list[Exclusion]:
    return list(announcement.exclusions.select_related("agency__organisation").order_by("pk"))


def announcement_objections(announcement: Announcement) -> list[Objection]:
    return list(
        announcement.objections.select_related("registration__agency__organisation").order_by(
            "-created_at", "-pk"
        )
    )


def approved_agencies_for_choice(limit: int = 300) -> list[Agency]:
    """Approved agencies for a datalist (USCC with the name): one query, capped."""
    from agencies.models import EnrolmentStatus

    return list(
        Agency.objects.filter(status=EnrolmentStatus.APPROVED)
        .select_related("organisation")
        .order_by("organisation__name", "pk")[:limit]
    )


# --- agencies --------------------------------------------------------------------------------


def _covering_q(agency: Agency, region_codes: list[str]) -> Q | None:
    """The announcements whose project location the agency's service area covers, as a Q over
    Announcement; the mirror of procurement.notices.matching_agency_ids."""
    if agency.service_scope == ServiceScope.PROVINCE:
        home = agency.organisation.region
        if home is None:
            return None
        return Q(project__region__province_code=home.province_code)
    if not region_codes:
        return None
    return (
        Q(project__region__code__in=region_codes)
        | Q(project__region__prefecture_code__in=region_codes)
        | Q(project__region__province_code__in=region_codes)
    )


def matching_announcements(
    agency: Agency, *, now: datetime.datetime | None = None, region_codes: list[str] | None = None
) -> QuerySet[Announcement]:
    """Open announcements for ``agency``: published, registration deadline still ahead, of a
    service item the agency declared, at a location its service area covers; soonest deadline
    first. (Eligibility in full — qualifications, credit, 本地/异地, 回避 — is explained per
    announcement by ``feed_eligibility``.) One query for the service regions (unless given),
    one for the page."""
    now = now or timezone.now()
    if region_codes is None:
        region_codes = list(agency.service_regions.values_list("code", flat=True))
    covering = _covering_q(agency, region_codes)
    if covering is None:
        return Announcement.objects.none()
    declared = AgencyServiceItem.objects.filter(agency=agency).values("service_item_id")
    return (
        Announcement.objects.filter(
            covering,
            status=AnnouncementStatus.PUBLISHED,
            registration_deadline__gt=now,
            service_item_id__in=declared,
        )
        .exclude(method=SelectionMethod.DIRECT)
        .select_related("project__owner__organisation", "project__region", "service_item")
        .order_by("registration_deadline", "pk")
    )


def feed_eligibility(
    agency: Agency,
    announcements: list[Announcement],
    *,
    service_regions: list | None = None,
    today: datetime.date | None = None,
) -> dict[int, eligibility.Outcome]:
    """{announcement id: Outcome} of one agency against many announcements, with the checks
    and explanations of ``procurement.eligibility.evaluate`` (which works the other way: one
    announcement, many agencies). A fixed number of queries whatever the number of
    announcements: the service regions (unless given), the declared items, the certificates,
    the qualification types required, the owners' members, the agency's members among them and
    the declared exclusions — 7. ``agency`` must come with ``organisation__region``.
    tests/procurement/test_selectors.py checks that it agrees with ``eligibility.check``."""
    if not announcements:
        return {}
    day = today or timezone.localdate()
    if service_regions is None:
        service_regions = [
            t.region
            for t in Agency.service_regions.through.objects.filter(
                agency_id=agency.pk
            ).select_related("region")
        ]
    declared = set(
        AgencyServiceItem.objects.filter(
            agency=agency, service_item_id__in={a.service_item_id for a in announcements}
        ).values_list("service_item_id", flat=True)
    )
    certificates = list(QualificationCertificate.objects.filter(agency=agency))
    type_ids = {r["qualification_type"] for a in announcements for r in a.requirements}
    types = QualificationType.objects.in_bulk(type_ids) if type_ids else {}
    owner_org_ids = {a.project.owner.organisation_id for a in announcements}
    owner_members: dict[int, set[int]] = defaultdict(set)
    for org_id, user_id in Membership.objects.filter(
        organisation_id__in=owner_org_ids, is_active=True
    ).values_list("organisation_id", "user_id"):
        owner_members[org_id].add(user_id)
    agency_members = set(
        Membership.objects.filter(
            organisation_id=agency.organisation_id, is_active=True
        ).values_list("user_id", flat=True)
    )
    exclusions = {
        e.announcement_id: e.reason
        for e in Exclusion.objects.filter(
            agency=agency, announcement_id__in=[a.pk for a in announcements]
        )
    }
    sanction = eligibility.sanctions([agency.pk], day).get(agency.pk)
    outcomes: dict[int, eligibility.Outcome] = {}
    for announcement in announcements:
        requirements = eligibility.published_requirements(announcement, types)
        owner_org = announcement.project.owner.organisation_id
        outcomes[announcement.pk] = eligibility.outcome_of(
            announcement,
            agency,
            eligibility.Facts(
                day=day,
                requirements=requirements,
                sanction=sanction,
                declared=announcement.service_item_id in declared,
                certificates=certificates,
                service_regions=service_regions,
                shares_member=bool(owner_members.get(owner_org, set()) & agency_members),
                exclusion=exclusions.get(announcement.pk),
            ),
        )
    return outcomes


def agency_registrations(agency: Agency, *, limit: int = MY_REGISTRATIONS) -> list[Registration]:
    """The agency's most recent registrations with their announcement: one query."""
    return list(
        Registration.objects.filter(agency=agency)
        .select_related("announcement__project__region", "announcement__service_item")
        .order_by("-created_at", "-pk")[:limit]
    )


def registered_announcement_ids(agency: Agency, announcement_ids) -> dict[int, Registration]:
    return {
        r.announcement_id: r
        for r in Registration.objects.filter(agency=agency, announcement_id__in=announcement_ids)
    }


def registration_for_page(pk: int) -> Registration | None:
    return (
        Registration.objects.select_related(
            "agency__organisation",
            "announcement__project__owner__organisation",
            "announcement__project__region",
            "announcement__service_item",
        )
        .filter(pk=pk)
        .first()
    )


# --- regulators ------------------------------------------------------------------------------


def _deciding_scope(user) -> Q | None:
    """A Q over Objection: what the user's regulators (reviewers and supervisors) cover — the
    project's location in the scope region and the service item under an industry page of the
    scope — or None. Costs the memberships (cached), the regulators with their industries (2)
    and the industry pages (1). The same test as procurement.rules "decide", in SQL."""
    return regulator_scope(user, roles=DECIDING_ROLES, through="announcement__")


def regulator_scope(user, *, roles=None, through: str = "") -> Q | None:
    """A Q over a model reaching a project and a service item through ``through`` ("" for a
    Contract, "announcement__" for an Objection): what the user's regulators cover, or None."""
    from agencies.selectors import industry_pages_by_path

    orgs = user_organisations(user, kind=OrganisationKind.REGULATOR, roles=roles)
    if not orgs:
        return None
    orgs = list(
        Organisation.objects.filter(pk__in=[o.pk for o in orgs], is_active=True)
        .select_related("scope_region")
        .prefetch_related("scope_industries")
    )
    pages = industry_pages_by_path()
    scope = None
    for org in orgs:
        if org.scope_region_id is None:
            continue
        q = org.scope_region.code_prefix_q(f"{through}project__region__code")
        if not org.scope_all_industries:
            industry_ids = {i.pk for i in org.scope_industries.all()}
            under = Q()
            found = False
            for page in pages.values():
                if page.industry_id in industry_ids:
                    under |= Q(**{f"{through}service_item__path__startswith": page.path})
                    found = True
            if not found:
                continue
            q &= under
        scope = q if scope is None else scope | q
    return scope


def is_deciding_regulator(user) -> bool:
    return bool(user_organisations(user, kind=OrganisationKind.REGULATOR, roles=DECIDING_ROLES))


def objection_queue(user) -> QuerySet[Objection]:
    """Objections the user may decide, pending first, each group oldest first. A page costs one query; building the queryset, those of _deciding_scope."""
    scope = _deciding_scope(user)
    if scope is None:
        return Objection.objects.none()
    pending = Case(
        When(status=ObjectionStatus.SUBMITTED, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        Objection.objects.filter(scope)
        .annotate(pending_first=pending)
        .select_related(
            "announcement__project__region",
            "announcement__service_item",
            "registration__agency__organisation",
        )
        .order_by("pending_first", "created_at", "pk")
    )


def objection_for_page(pk: int) -> Objection | None:
    return (
        Objection.objects.select_related(
            "announcement__project__owner__organisation",
            "announcement__project__region",
            "announcement__service_item",
            "registration__agency__organisation",
            "filed_by",
            "decided_by",
        )
        .filter(pk=pk)
        .first()
    )


# --- contracts -------------------------------------------------------------------------------


def user_contracts(user, *, status: str = "") -> QuerySet:
    """The contracts of the organisations ``user`` belongs to (owner units and agencies, any
    role) and, for a regulator's member, those it supervises (the project's location and the
    item's industry in its scope), newest first, with what the list shows joined in. The
    membership lookup is cached on the user, so an owner's or agency's list costs its count
    and its page whatever the page size (a regulator's adds its scope's 2 queries)."""
    from procurement.models import Contract

    orgs = [
        o.pk
        for o in user_organisations(user)
        if o.kind in (OrganisationKind.OWNER, OrganisationKind.AGENCY)
    ]
    condition = Q(owner__organisation_id__in=orgs) | Q(agency__organisation_id__in=orgs)
    if any(o.kind == OrganisationKind.REGULATOR for o in user_organisations(user)):
        supervised = regulator_scope(user)
        if supervised is not None:
            condition |= supervised
    queryset = (
        Contract.objects.filter(condition)
        .select_related("owner__organisation", "agency__organisation", "project", "service_item")
        .order_by("-created_at", "-pk")
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def contract_for_page(code: str):
    """One contract with everything its page shows: parties, project, item, order, the
    milestones with their deliverables and payments, signatures, extensions. A fixed number
    of queries whatever the number of milestones and rounds."""
    from django.db.models import Prefetch

    from marketplace.models import Payment
    from procurement.models import Contract, Deliverable

    return (
        Contract.objects.filter(code=code)
        .select_related(
            "owner__organisation__region",
            "agency__organisation__region",
            "project__region",
            "service_item",
            "announcement",
            "offering",
            "order",
        )
        .prefetch_related(
            "milestones",
            Prefetch(
                "milestones__deliverables",
                queryset=Deliverable.objects.order_by("round", "pk"),
            ),
            Prefetch("milestones__payments", queryset=Payment.objects.order_by("pk")),
            "signatures__signed_by",
            "extensions",
        )
        .first()
    )
