"""Permission rules of sanctions and appeals (registered on import, from RatingsConfig.ready).

Who may do what (the services check the same and explain a refusal):

- **propose** (拟处理): a reviewer or supervisor of a regulator *covering the agency*: its scope
  region contains the agency's registered region and it supervises the industry of at least
  one service item the agency declares, or all industries (agencies.selectors, "Regulator
  scope"). The sanction belongs to that regulator.
- **approve** a market ban (四眼原则): a reviewer or supervisor of *any* regulator covering the
  agency — the proposer's own organisation or another covering one — who is not the proposer.
  Warnings and suspensions take effect at once and need no approval.
- **withdraw** (撤回): the proposer, before approval.
- **appeal** (申诉): an administrator or staff member of the sanctioned agency, until
  ``appeal_by``.
- **decide an appeal**: a reviewer or supervisor of a regulator covering the agency who is not
  the proposer.
- **lift** early (提前解除): a supervisor of a regulator covering the agency, with a reason.
- **view**: the regulators covering the agency (any role), the agency's members, platform
  administrators. Published sanctions are public on the blacklist page.
"""

from __future__ import annotations

from marketplace.models import OrganisationKind, Role
from marketplace.permissions import is_member, rule
from marketplace.selectors import is_platform_admin, user_organisations
from ratings.models import (
    BARRING_STATES,
    AppealStatus,
    Sanction,
    SanctionSeverity,
    SanctionStatus,
)

REVIEWING_ROLES = (Role.REVIEWER, Role.SUPERVISOR)
AGENCY_ROLES = (Role.ADMIN, Role.STAFF)


def covering_regulators(user, agency, *, roles=REVIEWING_ROLES) -> list:
    """The regulators in which ``user`` has one of ``roles`` and that cover ``agency``."""
    from agencies.selectors import regulator_covers_agency

    return [
        org
        for org in user_organisations(user, kind=OrganisationKind.REGULATOR, roles=roles)
        if regulator_covers_agency(org, agency)
    ]


def may_propose(user, agency) -> bool:
    return bool(covering_regulators(user, agency))


def is_agency_member(user, agency) -> bool:
    return is_member(user, agency.organisation, roles=AGENCY_ROLES)


@rule(Sanction, "view")
def _view(user, sanction) -> bool:
    return (
        is_member(user, sanction.agency.organisation)
        or is_platform_admin(user)
        or bool(covering_regulators(user, sanction.agency, roles=None))
    )


@rule(Sanction, "approve")
def _approve(user, sanction) -> bool:
    return (
        sanction.status == SanctionStatus.PROPOSED
        and sanction.severity == SanctionSeverity.BAN
        and user.pk not in (sanction.proposed_by_id, sanction.approved_by_id)
        and bool(covering_regulators(user, sanction.agency))
    )


@rule(Sanction, "withdraw")
def _withdraw(user, sanction) -> bool:
    return sanction.status == SanctionStatus.PROPOSED and sanction.proposed_by_id == user.pk


@rule(Sanction, "appeal")
def _appeal(user, sanction) -> bool:
    return sanction.status == SanctionStatus.IN_EFFECT and is_agency_member(user, sanction.agency)


@rule(Sanction, "decide_appeal")
def _decide_appeal(user, sanction) -> bool:
    pending = sanction.status == SanctionStatus.APPEALED or (
        sanction.status == SanctionStatus.EXPIRED
        and getattr(getattr(sanction, "appeal_record", None), "status", None)
        == AppealStatus.SUBMITTED
    )
    return (
        pending
        and user.pk not in (sanction.proposed_by_id, sanction.approved_by_id)
        and bool(covering_regulators(user, sanction.agency))
    )


@rule(Sanction, "lift")
def _lift(user, sanction) -> bool:
    return sanction.status in BARRING_STATES and bool(
        covering_regulators(user, sanction.agency, roles=(Role.SUPERVISOR,))
    )
