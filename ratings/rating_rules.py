"""Permission rules of ratings and credit (registered on import, from RatingsConfig.ready).

Contract
    rate          (服务评价) the owner's admin and staff members
Rating
    reply         the rated agency's admin and staff members
    view          anyone (ratings and replies are public)
Agency
    view_credit   anyone, for an agency on the public directory (approved)

Whether a rating is still possible (accepted, not yet rated, within the time limit) is the
service's check (ratings.rating), with its own error message, not a permission.
"""

from __future__ import annotations

from agencies.models import Agency, EnrolmentStatus
from marketplace.models import Role
from marketplace.permissions import is_member, rule
from procurement.models import Contract
from ratings.models import Rating

EDITING_ROLES = (Role.ADMIN, Role.STAFF)


@rule(Contract, "rate")
def _contract_rate(user, contract) -> bool:
    return is_member(user, contract.owner.organisation, roles=EDITING_ROLES)


@rule(Rating, "reply")
def _rating_reply(user, rating) -> bool:
    return is_member(user, rating.agency.organisation, roles=EDITING_ROLES)


@rule(Rating, "view", public=True)
def _rating_view(user, rating) -> bool:
    return True


@rule(Agency, "view_credit", public=True)
def _agency_view_credit(user, agency) -> bool:
    return agency.status == EnrolmentStatus.APPROVED
