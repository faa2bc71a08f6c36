"""Permission rules of complaints (投诉举报), registered on import (RatingsConfig.ready), and the
scope of a complaint's target.

Scope of the target (who supervises it):
  * an announcement: the project's location and the service item's industry (the same rule as
    objections, ``procurement.rules.regulator_covers_announcement``);
  * an agency: its home region (``agency.organisation.region``) in any industry of its
    declared service items — a regulator covering the home region in at least one of those
    industries is in scope. An agency that declared no item is supervised only by
    regulators covering its home region in all industries.
  * both (a complaint about an agency's conduct in one announcement): the announcement's.

Complaint
    handle      (accept, reject, investigate, decide; the full file with the complainant's
                identity and both sides' evidence) reviewers and supervisors of the regulator
                in charge (``complaint.regulator``, chosen at filing) while it still covers the
                target; platform administrators when no regulator covered the target
    view        the handlers; the complainant (the account that filed it, or any member of
                the organisation it filed for); the accused once the complaint is accepted
    state       (the accused's statement) the accused's admin and staff members
Evidence
    download    the handlers; the complainant side's own files; the accused's own files
"""

from __future__ import annotations

from agencies.selectors import agency_industries
from marketplace.models import OrganisationKind, Role
from marketplace.permissions import is_member, regulator_covers, rule
from marketplace.selectors import is_platform_admin, user_organisations
from procurement.rules import regulator_covers_announcement
from ratings.models import Complaint, ComplaintStatus, Evidence

HANDLING_ROLES = (Role.REVIEWER, Role.SUPERVISOR)
EDITING_ROLES = (Role.ADMIN, Role.STAFF)


def regulator_covers_agency(org, agency) -> bool:
    region = agency.organisation.region
    if region is None:
        return False
    industries = agency_industries(agency)
    if not industries:
        return bool(
            org is not None
            and org.scope_all_industries
            and regulator_covers(org, region, "__any__")
        )
    return any(regulator_covers(org, region, industry) for industry in industries)


def regulator_covers_target(org, *, agency=None, announcement=None) -> bool:
    if announcement is not None:
        return regulator_covers_announcement(org, announcement)
    if agency is not None:
        return regulator_covers_agency(org, agency)
    return False


def accused_organisation_id(complaint: Complaint) -> int | None:
    """The organisation that answers the complaint: the agency's, or the announcement's
    owner's when the complaint is only about an announcement."""
    if complaint.agency_id is not None:
        return complaint.agency.organisation_id
    if complaint.announcement_id is not None:
        return complaint.announcement.project.owner.organisation_id
    return None


def is_handler(user, complaint: Complaint) -> bool:
    if complaint.regulator_id is None:
        return is_platform_admin(user)
    return any(
        org.pk == complaint.regulator_id
        and regulator_covers_target(
            org, agency=complaint.agency, announcement=complaint.announcement
        )
        for org in user_organisations(user, kind=OrganisationKind.REGULATOR, roles=HANDLING_ROLES)
    )


def is_complainant(user, complaint: Complaint) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if complaint.complainant_id is not None and complaint.complainant_id == user.pk:
        return True
    return complaint.complainant_organisation_id is not None and is_member(
        user, complaint.complainant_organisation
    )


def is_accused(user, complaint: Complaint, roles=None) -> bool:
    org_id = accused_organisation_id(complaint)
    if org_id is None:
        return False
    from marketplace.selectors import user_memberships

    return any(
        m.organisation_id == org_id and (roles is None or m.role in roles)
        for m in user_memberships(user)
    )


VISIBLE_TO_ACCUSED = (
    ComplaintStatus.ACCEPTED,
    ComplaintStatus.INVESTIGATING,
    ComplaintStatus.UPHELD,
    ComplaintStatus.DISMISSED,
)


@rule(Complaint, "handle")
def _complaint_handle(user, complaint) -> bool:
    return is_handler(user, complaint)


@rule(Complaint, "view")
def _complaint_view(user, complaint) -> bool:
    return (
        is_handler(user, complaint)
        or is_complainant(user, complaint)
        or (complaint.status in VISIBLE_TO_ACCUSED and is_accused(user, complaint))
    )


@rule(Complaint, "state")
def _complaint_state(user, complaint) -> bool:
    return is_accused(user, complaint, roles=EDITING_ROLES)


@rule(Evidence, "download")
def _evidence_download(user, evidence) -> bool:
    complaint = evidence.complaint
    if is_handler(user, complaint):
        return True
    if evidence.by_accused:
        return is_accused(user, complaint)
    return is_complainant(user, complaint)
