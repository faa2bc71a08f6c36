"""Permission rules of procurement (registered on import, from ProcurementConfig.ready).

Owner / Project
    manage        the owner's admin and staff members, platform administrators
Announcement
    view          anyone once published; the owner's members (and platform admins) as a draft
    edit, publish, cancel, exclude, republish   the owner's admin and staff members
Registration
    respond       (confirm, decline) the registered agency's members
    view          the agency's members and the owner's members
Objection
    decide        reviewers and supervisors of a regulator covering the project's location in
                  the service item's industry
Agency
    register      the agency's admin and staff members
Contract
    view          the members of either party, regulators covering the project's location in
                  the item's industry, platform administrators
    act_owner     (terms, signing as party A, acceptance, payment) the owner's admin and staff
    act_agency    (signing as party B, deliverables) the agency's admin and staff members
    terminate     either party's admin and staff, a covering regulator's reviewers and
                  supervisors
Deposit
    pay           the agency's admin and staff members
"""

from __future__ import annotations

from agencies.models import Agency
from agencies.selectors import item_industry
from marketplace.models import OrganisationKind, Role
from marketplace.permissions import is_member, regulator_covers, rule
from marketplace.selectors import is_platform_admin, user_organisations
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Contract,
    Deposit,
    Objection,
    Owner,
    Project,
    Registration,
)

EDITING_ROLES = (Role.ADMIN, Role.STAFF)


def owner_member(user, owner: Owner) -> bool:
    return is_member(user, owner.organisation, roles=EDITING_ROLES)


@rule(Owner, "manage")
def _owner_manage(user, owner) -> bool:
    return owner_member(user, owner) or is_platform_admin(user)


@rule(Project, "manage")
def _project_manage(user, project) -> bool:
    return owner_member(user, project.owner)


@rule(Announcement, "view", public=True)
def _announcement_view(user, announcement) -> bool:
    if announcement.status != AnnouncementStatus.DRAFT:
        return True
    if user is None or not user.is_authenticated:
        return False
    return owner_member(user, announcement.project.owner) or is_platform_admin(user)


@rule(Announcement, "edit")
@rule(Announcement, "publish")
@rule(Announcement, "cancel")
@rule(Announcement, "exclude")
@rule(Announcement, "republish")
def _announcement_owner(user, announcement) -> bool:
    return owner_member(user, announcement.project.owner)


@rule(Registration, "respond")
def _registration_respond(user, registration) -> bool:
    return is_member(user, registration.agency.organisation, roles=EDITING_ROLES)


@rule(Registration, "view")
def _registration_view(user, registration) -> bool:
    return is_member(user, registration.agency.organisation) or owner_member(
        user, registration.announcement.project.owner
    )


def regulator_covers_announcement(org, announcement: Announcement) -> bool:
    return regulator_covers(
        org, announcement.project.region, item_industry(announcement.service_item)
    )


@rule(Objection, "decide")
def _objection_decide(user, objection) -> bool:
    return any(
        regulator_covers_announcement(org, objection.announcement)
        for org in user_organisations(
            user, kind=OrganisationKind.REGULATOR, roles=(Role.REVIEWER, Role.SUPERVISOR)
        )
    )


@rule(Agency, "register")
def _agency_register(user, agency) -> bool:
    return is_member(user, agency.organisation, roles=EDITING_ROLES)


def regulator_covers_contract(org, contract: Contract) -> bool:
    return regulator_covers(org, contract.project.region, item_industry(contract.service_item))


def _covering_regulator(user, contract: Contract, roles=None) -> bool:
    return any(
        regulator_covers_contract(org, contract)
        for org in user_organisations(user, kind=OrganisationKind.REGULATOR, roles=roles)
    )


@rule(Contract, "view")
def _contract_view(user, contract) -> bool:
    return (
        is_member(user, contract.owner.organisation)
        or is_member(user, contract.agency.organisation)
        or _covering_regulator(user, contract)
        or is_platform_admin(user)
    )


@rule(Contract, "act_owner")
def _contract_owner(user, contract) -> bool:
    return owner_member(user, contract.owner)


@rule(Contract, "act_agency")
def _contract_agency(user, contract) -> bool:
    return is_member(user, contract.agency.organisation, roles=EDITING_ROLES)


@rule(Contract, "terminate")
def _contract_terminate(user, contract) -> bool:
    return (
        owner_member(user, contract.owner)
        or is_member(user, contract.agency.organisation, roles=EDITING_ROLES)
        or _covering_regulator(user, contract, roles=(Role.REVIEWER, Role.SUPERVISOR))
    )


@rule(Deposit, "pay")
def _deposit_pay(user, deposit) -> bool:
    return is_member(user, deposit.agency.organisation, roles=EDITING_ROLES)
