"""Permission rules of the agencies app (registered on import, from AgenciesConfig.ready).

Agency
    view_private   its members (any role), reviewers in scope, platform administrators
    edit           its admin and staff members
    submit         its admin members
    withdraw       its admin members
    review         reviewers/supervisors of a regulator covering it (agencies.selectors)
    suspend        supervisors of a regulator covering it, platform administrators
                   (the scheduler suspends as the system: actor None, no rule involved)
    view_public    anyone, approved agencies only
Certificate / practitioner / change request
    download       members of the agency, members of a regulator covering it
    manage_certificate  (certificate transitions by a person) supervisors in scope and
                   platform administrators
Change request
    review         as Agency.review;  withdraw  as Agency.withdraw;  view  as Agency.view_private
"""

from __future__ import annotations

from agencies.models import (
    Agency,
    ChangeRequest,
    EnrolmentStatus,
    Practitioner,
    QualificationCertificate,
)
from agencies.selectors import regulator_covers_agency, regulator_in_scope, reviewing_regulators
from marketplace.models import OrganisationKind, Role
from marketplace.permissions import is_member, rule
from marketplace.selectors import is_platform_admin, user_organisations

AGENCY_EDITING_ROLES = (Role.ADMIN, Role.STAFF)
AGENCY_ADMIN_ROLES = (Role.ADMIN,)


def _member(user, agency: Agency, roles=None) -> bool:
    return is_member(user, agency.organisation, roles=roles)


def _supervisor_in_scope(user, agency: Agency) -> bool:
    return any(
        regulator_covers_agency(org, agency)
        for org in user_organisations(
            user, kind=OrganisationKind.REGULATOR, roles=(Role.SUPERVISOR,)
        )
    )


@rule(Agency, "view_private")
def _agency_view_private(user, agency) -> bool:
    return (
        _member(user, agency) or is_platform_admin(user) or bool(reviewing_regulators(user, agency))
    )


@rule(Agency, "edit")
def _agency_edit(user, agency) -> bool:
    return _member(user, agency, AGENCY_EDITING_ROLES)


@rule(Agency, "submit")
@rule(Agency, "withdraw")
def _agency_admin(user, agency) -> bool:
    return _member(user, agency, AGENCY_ADMIN_ROLES)


@rule(Agency, "review")
def _agency_review(user, agency) -> bool:
    return bool(reviewing_regulators(user, agency))


@rule(Agency, "suspend")
def _agency_suspend(user, agency) -> bool:
    return is_platform_admin(user) or _supervisor_in_scope(user, agency)


@rule(Agency, "view_public", public=True)
def _agency_view_public(user, agency) -> bool:
    return agency.status == EnrolmentStatus.APPROVED


@rule(QualificationCertificate, "download")
@rule(Practitioner, "download")
@rule(ChangeRequest, "download")
def _file_download(user, obj) -> bool:
    agency = obj.agency
    return _member(user, agency) or regulator_in_scope(user, agency)


@rule(QualificationCertificate, "manage_certificate")
def _certificate_manage(user, certificate) -> bool:
    return is_platform_admin(user) or _supervisor_in_scope(user, certificate.agency)


@rule(ChangeRequest, "review")
def _change_review(user, change) -> bool:
    return bool(reviewing_regulators(user, change.agency))


@rule(ChangeRequest, "withdraw")
def _change_withdraw(user, change) -> bool:
    return _member(user, change.agency, AGENCY_ADMIN_ROLES)


@rule(ChangeRequest, "view")
def _change_view(user, change) -> bool:
    return _agency_view_private(user, change.agency)
