"""Who may be in an announcement's pool (资格审查), explained per agency. Pure reads.

An agency is eligible for an announcement when every check is met (DESIGN §6, point 5):

- ``approved``: its enrolment is approved (not draft, suspended or withdrawn);
- ``sanction``: no sanction in effect bars it (the ratings app registers the provider);
- ``item``: it declared the announcement's service item;
- ``qualification``: for each requirement as published, a usable certificate of the type at
  the level (甲级 meets 乙级);
- ``credit``: at least the announcement's minimum credit grade, when it sets one;
- ``region``: its service area covers the project's location and, for a local (本地) or
  cross-region (异地) draw, it is registered in (or outside) the project's city;
- ``conflict``: no conflict of interest (回避) — the same legal representative as the owner,
  a person who is a member of both, or an exclusion the owner declared with its reason.

``evaluate`` checks many agencies at once with a fixed number of queries (it freezes pools of
100,000 agencies in bench/draw.py); ``check`` is the one-agency form used at registration.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from types import SimpleNamespace

from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.eligibility import USABLE_STATUSES, check_requirement
from agencies.models import (
    Agency,
    AgencyServiceItem,
    EnrolmentStatus,
    QualificationCertificate,
    ServiceScope,
)
from marketplace.models import Membership, QualificationType, Region, RegionLevel
from procurement.models import Announcement, Exclusion, RegionScope

CHECK_ORDER = ("approved", "sanction", "item", "qualification", "credit", "region", "conflict")
CREDIT_ORDER = "ABCD"


@dataclass(frozen=True)
class Check:
    code: str
    met: bool
    explanation: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Outcome:
    agency: Agency
    checks: list[Check]

    @property
    def eligible(self) -> bool:
        return all(c.met for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [c.explanation for c in self.checks if not c.met]

    def as_list(self) -> list[dict]:
        return [c.as_dict() for c in self.checks]


# Sanction providers: ``fn(agency_ids, day) -> {agency_id: explanation}`` for the agencies a
# sanction in effect bars. The ratings app (blacklist) registers one; none means no sanctions.
SanctionProvider = Callable[[list[int], datetime.date], dict[int, str]]
_sanction_providers: list[SanctionProvider] = []


def register_sanction_provider(fn: SanctionProvider) -> SanctionProvider:
    if fn not in _sanction_providers:
        _sanction_providers.append(fn)
    return fn


def sanctions(agency_ids: list[int], day: datetime.date) -> dict[int, str]:
    """{agency id: explanation} of the agencies among ``agency_ids`` that a sanction in effect
    on ``day`` bars, from every registered provider."""
    found: dict[int, str] = {}
    for provider in _sanction_providers:
        found.update(provider(agency_ids, day))
    return found


def locality(region: Region) -> str:
    """The code of the city (地级) a region belongs to: the unit of "local" (本地). A county
    directly under the province is its own locality."""
    if region.level == RegionLevel.PREFECTURE:
        return region.code
    if region.level == RegionLevel.PROVINCE:
        return region.code
    return region.prefecture_code or region.code


def published_requirements(announcement: Announcement, types: dict | None = None) -> list:
    """The announcement's requirements as objects ``check_requirement`` takes. ``types``:
    {id: QualificationType} already loaded (else one query)."""
    if types is None:
        types = QualificationType.objects.in_bulk(
            [r["qualification_type"] for r in announcement.requirements]
        )
    requirements = []
    for entry in announcement.requirements:
        qtype = types.get(entry["qualification_type"])
        if qtype is not None:
            requirements.append(
                SimpleNamespace(
                    pk=None, qualification=qtype, minimum_level=entry.get("minimum_level") or ""
                )
            )
    return requirements


def status_check(agency: Agency) -> Check:
    """Whether the agency's enrolment is approved, and if not, why (its status or suspension
    reason)."""
    if agency.status == EnrolmentStatus.APPROVED:
        return Check("approved", True, _("The agency's enrolment is approved."))
    if agency.status == EnrolmentStatus.SUSPENDED:
        text = _("The agency is suspended")
        if agency.status_reason:
            text += _(": %(reason)s") % {"reason": agency.status_reason}
        return Check("approved", False, text + ".")
    return Check(
        "approved",
        False,
        _("The agency's enrolment is not approved (it is %(status)s).")
        % {"status": agency.get_status_display()},
    )


def service_area_covers(agency: Agency, region: Region, service_regions: list) -> bool:
    """Whether the agency's service area (province-wide from its home province, or its
    declared ``service_regions``) covers ``region``. ``agency`` with organisation__region."""
    home = agency.organisation.region
    if agency.service_scope == ServiceScope.PROVINCE:
        return home is not None and home.province_code == region.province_code
    return any(r.contains(region) for r in service_regions)


def _region_check(agency: Agency, announcement: Announcement, service_regions: list) -> Check:
    project_region = announcement.project.region
    home = agency.organisation.region
    if not service_area_covers(agency, project_region, service_regions):
        return Check(
            "region",
            False,
            _("The agency's service area does not cover the project's location (%(region)s).")
            % {"region": project_region.name},
        )
    scope = announcement.region_scope
    if scope != RegionScope.PROVINCE:
        same_city = home is not None and locality(home) == locality(project_region)
        if scope == RegionScope.LOCAL and not same_city:
            return Check(
                "region",
                False,
                _("Only agencies registered in the project's city may take part (本地)."),
            )
        if scope == RegionScope.CROSS_REGION and same_city:
            return Check(
                "region",
                False,
                _(
                    "This is a cross-region draw (异地抽取): agencies registered in the "
                    "project's city may not take part."
                ),
            )
    return Check(
        "region",
        True,
        _("The agency's service area covers the project's location (%(region)s).")
        % {"region": project_region.name},
    )


def _credit_check(agency: Agency, minimum: str) -> Check | None:
    if not minimum:
        return None
    grade = agency.credit_grade
    if not grade:
        return Check(
            "credit",
            False,
            _("A credit grade of %(minimum)s or better is required; the agency is not rated yet.")
            % {"minimum": minimum},
        )
    if CREDIT_ORDER.index(grade) <= CREDIT_ORDER.index(minimum):
        return Check(
            "credit",
            True,
            _("Credit grade %(grade)s meets the minimum %(minimum)s.")
            % {"grade": grade, "minimum": minimum},
        )
    return Check(
        "credit",
        False,
        _("Credit grade %(grade)s is below the required %(minimum)s.")
        % {"grade": grade, "minimum": minimum},
    )


def _normalise_person(name: str) -> str:
    return "".join((name or "").split())


CHUNK = 2000  # agencies per batch: bounded IN lists (SQLite caps bound parameters)


def evaluate(
    announcement: Announcement,
    agencies: Iterable[Agency | int],
    *,
    today: datetime.date | None = None,
) -> dict[int, Outcome]:
    """{agency id: Outcome} for ``agencies`` (instances or ids) against ``announcement``. A
    fixed number of queries per 2,000 agencies (8, plus 1 for the requirement types): the
    agencies (with organisation and home region), their service regions, declared items,
    certificates of the required types, the owner's members, the agencies' members, the
    declared exclusions and one per registered sanction provider."""
    day = today or timezone.localdate()
    ids = [a.pk if isinstance(a, Agency) else int(a) for a in agencies]
    requirements = published_requirements(announcement)
    outcomes: dict[int, Outcome] = {}
    for start in range(0, len(ids), CHUNK):
        outcomes.update(_evaluate(announcement, ids[start : start + CHUNK], requirements, day))
    return outcomes


def _evaluate(announcement, ids: list[int], requirements: list, day) -> dict[int, Outcome]:
    rows = {
        a.pk: a for a in Agency.objects.filter(pk__in=ids).select_related("organisation__region")
    }
    service_regions: dict[int, list] = defaultdict(list)
    for through in Agency.service_regions.through.objects.filter(agency_id__in=ids).select_related(
        "region"
    ):
        service_regions[through.agency_id].append(through.region)
    declared = set(
        AgencyServiceItem.objects.filter(
            agency_id__in=ids, service_item_id=announcement.service_item_id
        ).values_list("agency_id", flat=True)
    )
    certificates: dict[int, list] = defaultdict(list)
    type_ids = [r.qualification.pk for r in requirements]
    if type_ids:
        for certificate in QualificationCertificate.objects.filter(
            agency_id__in=ids, qualification_type_id__in=type_ids
        ):
            certificates[certificate.agency_id].append(certificate)
    shared_members = agencies_sharing_members(announcement.project.owner, ids)
    declared_exclusions = {
        e.agency_id: e.reason
        for e in Exclusion.objects.filter(announcement=announcement, agency_id__in=ids)
    }
    barred = sanctions(ids, day)
    outcomes: dict[int, Outcome] = {}
    for agency_id in ids:
        agency = rows.get(agency_id)
        if agency is None:
            continue
        outcomes[agency_id] = outcome_of(
            announcement,
            agency,
            Facts(
                day=day,
                requirements=requirements,
                sanction=barred.get(agency_id),
                declared=agency_id in declared,
                certificates=certificates.get(agency_id, []),
                service_regions=service_regions.get(agency_id, []),
                shares_member=agency_id in shared_members,
                exclusion=declared_exclusions.get(agency_id),
            ),
        )
    return outcomes


@dataclass
class Facts:
    """What the checks need to know about one agency for one announcement, loaded in batches
    by ``evaluate`` (many agencies) or ``procurement.selectors.feed_eligibility`` (many
    announcements)."""

    day: datetime.date
    requirements: list  # published_requirements(announcement)
    sanction: str | None  # the explanation of a sanction in effect
    declared: bool  # declared the announcement's item
    certificates: list  # of the required types (any status: unusable ones explain)
    service_regions: list
    shares_member: bool  # a person is a member of both the agency and the owner
    exclusion: str | None  # the owner's declared reason


def outcome_of(announcement: Announcement, agency: Agency, facts: Facts) -> Outcome:
    """Every check of ``agency`` (with organisation and home region) for ``announcement``."""
    item_name = announcement.service_item.title
    checks = [status_check(agency)]
    if facts.sanction is not None:
        checks.append(Check("sanction", False, facts.sanction))
    else:
        checks.append(Check("sanction", True, _("No sanction in effect bars the agency.")))
    if facts.declared:
        checks.append(Check("item", True, _("The agency offers %(item)s.") % {"item": item_name}))
    else:
        checks.append(
            Check(
                "item",
                False,
                _("The agency has not declared the service item %(item)s.") % {"item": item_name},
            )
        )
    day = facts.day
    usable = [
        c
        for c in facts.certificates
        if c.status in USABLE_STATUSES and c.valid_from <= day <= c.valid_until
    ]
    if not facts.requirements:
        checks.append(Check("qualification", True, _("The item requires no qualification.")))
    for requirement in facts.requirements:
        rc = check_requirement(requirement, usable, facts.certificates, day)
        checks.append(Check("qualification", rc.met, rc.explanation))
    credit = _credit_check(agency, announcement.min_credit_grade)
    if credit is not None:
        checks.append(credit)
    checks.append(_region_check(agency, announcement, facts.service_regions))
    found = conflicts(
        announcement.project.owner,
        agency,
        shares_member=facts.shares_member,
        exclusion=facts.exclusion,
    )
    if found:
        checks.extend(Check("conflict", False, text) for text in found)
    else:
        checks.append(Check("conflict", True, _("No conflict of interest found.")))
    return Outcome(agency, checks)


def agencies_sharing_members(owner, agency_ids: list[int]) -> set[int]:
    """The ids among ``agency_ids`` of the agencies a person is an active member of as well as
    of ``owner`` (回避). Two queries (one when the owner has no active member)."""
    owner_members = set(
        Membership.objects.filter(
            organisation_id=owner.organisation_id, is_active=True
        ).values_list("user_id", flat=True)
    )
    if not owner_members:
        return set()
    return set(
        Membership.objects.filter(
            organisation__agency__in=agency_ids, user_id__in=owner_members, is_active=True
        ).values_list("organisation__agency", flat=True)
    )


def conflicts(owner, agency: Agency, *, shares_member: bool, exclusion: str | None = None) -> list:
    """The conflicts of interest (回避) between ``owner`` and ``agency``, explained: the same
    legal representative, a person who is a member of both (``shares_member``, see
    ``agencies_sharing_members``), an exclusion the owner declared. Empty when none."""
    found = []
    owner_person = _normalise_person(owner.legal_representative)
    if owner_person and _normalise_person(agency.legal_representative) == owner_person:
        found.append(_("The agency has the same legal representative as the project owner (回避)."))
    if shares_member:
        found.append(_("A member of the agency is also a member of the project owner (回避)."))
    if exclusion is not None:
        found.append(_("Excluded by the project owner (回避): %(reason)s") % {"reason": exclusion})
    return found


def check(announcement: Announcement, agency: Agency, **kwargs) -> Outcome:
    """The eligibility of one agency (registration, the agency's feed)."""
    return evaluate(announcement, [agency], **kwargs)[agency.pk]
