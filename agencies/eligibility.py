"""Which service items an agency is qualified for (资质匹配). Pure reads, no writes.

A requirement of an item (cms.QualificationRequirement: a QualificationType and a minimum
level) is met by a certificate of the agency that

- is of that type,
- is usable on the day: status valid or expiring (not expired, not revoked) and
  ``valid_from <= day <= valid_until``,
- is at least the minimum level (``QualificationType.meets``: 甲级 meets 乙级, not the reverse;
  an ungraded type or an empty minimum is met by any certificate of the type).

An item is qualified when all its requirements are met; an item with no requirement is
qualified for every agency. Qualification says nothing about the enrolment status: whether an
agency may practise (be listed, register for projects) also needs it to be approved — see
``eligible_item_ids``.

Batch use (lists, the scheduler) goes through ``qualified_item_ids_for``: three queries
whatever the number of agencies and items.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import (
    Agency,
    AgencyServiceItem,
    CertificateStatus,
    EnrolmentStatus,
    QualificationCertificate,
)

USABLE_STATUSES = (CertificateStatus.VALID, CertificateStatus.EXPIRING)


@dataclass(frozen=True)
class RequirementCheck:
    """The outcome of one requirement of one item for one agency."""

    requirement_id: int
    qualification_type_id: int
    qualification_name: str
    minimum_level: str
    met: bool
    certificate: QualificationCertificate | None  # the certificate that meets it, if any
    explanation: str  # translated (zh-hans / en), for people

    def __str__(self) -> str:
        return self.explanation


def _today(today: datetime.date | None) -> datetime.date:
    return today or timezone.localdate()


def _usable(certificates: Iterable[QualificationCertificate], day) -> list:
    return [c for c in certificates if c.usable_on(day)]


def _requirement_label(requirement) -> str:
    name = requirement.qualification.name
    if requirement.minimum_level:
        return _("%(type)s (at least %(level)s)") % {
            "type": name,
            "level": requirement.minimum_level,
        }
    return name


def _check(requirement, certificates: list, all_certificates: list, day) -> RequirementCheck:
    """``certificates``: the usable ones; ``all_certificates``: every certificate of the agency
    (to explain why an unusable one does not count)."""
    qtype = requirement.qualification
    minimum = requirement.minimum_level or ""
    label = _requirement_label(requirement)
    same_type = [c for c in certificates if c.qualification_type_id == qtype.pk]
    meeting = [c for c in same_type if qtype.meets(c.level, minimum)]
    if meeting:
        # The best level first, then the longest validity.
        levels = qtype.levels or []
        meeting.sort(
            key=lambda c: (
                levels.index(c.level) if c.level in levels else len(levels),
                -c.valid_until.toordinal(),
            )
        )
        best = meeting[0]
        explanation = _(
            "%(requirement)s: met by certificate %(number)s%(level)s, valid until %(until)s."
        ) % {
            "requirement": label,
            "number": best.certificate_number,
            "level": f" ({best.level})" if best.level else "",
            "until": best.valid_until.isoformat(),
        }
        return RequirementCheck(
            requirement.pk, qtype.pk, qtype.name, minimum, True, best, explanation
        )
    if same_type:
        levels = "、".join(sorted({c.level or "—" for c in same_type}))
        explanation = _(
            "%(requirement)s: the certificates held (%(levels)s) are below the minimum level."
        ) % {"requirement": label, "levels": levels}
    else:
        unusable = [
            c
            for c in all_certificates
            if c.qualification_type_id == qtype.pk and not c.usable_on(day)
        ]
        if any(c.status == CertificateStatus.REVOKED for c in unusable):
            explanation = _("%(requirement)s: the certificate was revoked.") % {
                "requirement": label
            }
        elif any(c.valid_from > day for c in unusable):
            explanation = _("%(requirement)s: the certificate is not valid yet.") % {
                "requirement": label
            }
        elif unusable:
            explanation = _("%(requirement)s: the certificate has expired.") % {
                "requirement": label
            }
        else:
            explanation = _("%(requirement)s: no certificate of this type.") % {
                "requirement": label
            }
    return RequirementCheck(requirement.pk, qtype.pk, qtype.name, minimum, False, None, explanation)


def check_requirement(requirement, usable: list, all_certificates: list, day) -> RequirementCheck:
    """One requirement (anything with ``pk``, ``qualification`` and ``minimum_level``, e.g. an
    announcement's published requirement) against an agency's certificates: ``usable`` are
    those usable on ``day``, ``all_certificates`` every one (to explain the unusable)."""
    return _check(requirement, usable, all_certificates, day)


def _certificates_of(agency: Agency) -> list:
    cache = getattr(agency, "_prefetched_objects_cache", {})
    if "certificates" in cache:
        return list(agency.certificates.all())
    return list(agency.certificates.select_related("qualification_type"))


def _requirements_of(item) -> list:
    cache = getattr(item, "_prefetched_objects_cache", {})
    if "qualification_requirements" in cache:
        return list(item.qualification_requirements.all())
    return list(item.qualification_requirements.select_related("qualification"))


def check_item(agency: Agency, item, *, today: datetime.date | None = None) -> list:
    """One RequirementCheck per requirement of ``item`` (a ServiceItemPage), in order."""
    day = _today(today)
    certificates = _certificates_of(agency)
    usable = _usable(certificates, day)
    return [_check(r, usable, certificates, day) for r in _requirements_of(item)]


def missing_qualifications(agency: Agency, item, *, today: datetime.date | None = None) -> list:
    """The unmet requirements of ``item`` for ``agency`` (RequirementCheck, with the reason);
    empty when the agency is qualified for the item."""
    return [check for check in check_item(agency, item, today=today) if not check.met]


def missing_for_items(
    agency: Agency, *, today: datetime.date | None = None, certificates: list | None = None
):
    """A function ``item -> missing_qualifications(agency, item)`` that loads the agency's
    certificates once (for a page listing many items; the items' requirements should be
    prefetched with their ``qualification``)."""
    day = _today(today)
    all_certificates = _certificates_of(agency) if certificates is None else list(certificates)
    usable = _usable(all_certificates, day)

    def missing(item) -> list:
        checks = [_check(r, usable, all_certificates, day) for r in _requirements_of(item)]
        return [c for c in checks if not c.met]

    return missing


def is_qualified(agency: Agency, item, *, today: datetime.date | None = None) -> bool:
    return not missing_qualifications(agency, item, today=today)


def _requirements_by_item(item_ids: Iterable[int] | None) -> tuple[set[int], dict]:
    """(every item id considered, {item_id: [requirement, …]}) in two queries."""
    from cms.models import QualificationRequirement, ServiceItemPage

    if item_ids is None:
        ids = set(ServiceItemPage.objects.live().values_list("pk", flat=True))
    else:
        ids = set(item_ids)
    by_item: dict[int, list] = defaultdict(list)
    for requirement in QualificationRequirement.objects.filter(item_id__in=ids).select_related(
        "qualification"
    ):
        by_item[requirement.item_id].append(requirement)
    return ids, by_item


def item_requirements(item_ids: Iterable[int]) -> dict:
    """{item id: [QualificationRequirement with its type]} in one query."""
    return _requirements_by_item(item_ids)[1]


def meets_requirements(usable: list, requirements: list) -> bool:
    """Whether usable certificates (already filtered as usable today) meet every
    requirement of an item; for callers that hold both already (the search index)."""
    return _qualified(usable, requirements)


def _qualified(usable: list, requirements: list) -> bool:
    for requirement in requirements:
        qtype = requirement.qualification
        if not any(
            c.qualification_type_id == qtype.pk and qtype.meets(c.level, requirement.minimum_level)
            for c in usable
        ):
            return False
    return True


def qualified_item_ids_for(
    agencies: Iterable[Agency],
    *,
    today: datetime.date | None = None,
    item_ids: Iterable[int] | None = None,
) -> dict[int, set[int]]:
    """{agency id: ids of the items it is qualified for} for many agencies at once, among
    ``item_ids`` (default: every live catalog item). Three queries whatever the numbers: the
    items, their requirements with types, the agencies' usable certificates."""
    day = _today(today)
    agency_ids = [a.pk for a in agencies]
    ids, requirements = _requirements_by_item(item_ids)
    usable: dict[int, list] = defaultdict(list)
    for certificate in QualificationCertificate.objects.filter(
        agency_id__in=agency_ids,
        status__in=USABLE_STATUSES,
        valid_from__lte=day,
        valid_until__gte=day,
    ):
        usable[certificate.agency_id].append(certificate)
    return {
        agency_id: {i for i in ids if _qualified(usable[agency_id], requirements.get(i, []))}
        for agency_id in agency_ids
    }


def qualified_item_ids(
    agency: Agency,
    *,
    today: datetime.date | None = None,
    item_ids: Iterable[int] | None = None,
) -> set[int]:
    """Ids of the items (default: every live catalog item) ``agency`` is qualified for."""
    return qualified_item_ids_for([agency], today=today, item_ids=item_ids)[agency.pk]


def eligible_item_ids(agency: Agency, *, today: datetime.date | None = None) -> set[int]:
    """The declared items ``agency`` may practise now: none unless it is approved; otherwise
    the declared items it is qualified for. Empty for an approved agency means it must be
    suspended (the expiry scheduler's rule)."""
    if agency.status != EnrolmentStatus.APPROVED:
        return set()
    declared = AgencyServiceItem.objects.filter(agency=agency).values_list(
        "service_item_id", flat=True
    )
    return qualified_item_ids(agency, today=today, item_ids=list(declared))
