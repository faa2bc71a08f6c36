"""服务评价: the owner rates the service of an accepted contract, once, within a time limit;
the agency replies once, publicly (DESIGN §4: authorise, validate, lock, change; one audit
event; side effects through the outbox).

    rating_submit(actor=…, contract=…, quality=5, timeliness=4, attitude=5, fees=4,
                  compliance=5, comment="…")
    rating_reply(actor=…, rating=…, reply="…")

The time limit: ``settings.RATINGS["RATING_WINDOW_WORKING_DAYS"]`` working days after the
acceptance (验收, ``Contract.accepted_at``), until the end of that working day (17:30,
marketplace.workdays.deadline_at).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace import audit, workdays
from marketplace.permissions import require_perm
from procurement.models import Contract, ContractStatus
from ratings.credit import request_recompute
from ratings.models import Rating

DIMENSIONS = ("quality", "timeliness", "attitude", "fees", "compliance")
DIMENSION_LABELS = {
    "quality": gettext_lazy("Quality of service"),  # 服务质量
    "timeliness": gettext_lazy("Timeliness"),  # 服务时效
    "attitude": gettext_lazy("Service attitude"),  # 服务态度
    "fees": gettext_lazy("Reasonable fees"),  # 收费合理性
    "compliance": gettext_lazy("Compliance"),  # 依法依规
}
RATABLE_STATES = (ContractStatus.ACCEPTED, ContractStatus.COMPLETED)
COMMENT_MAX = 2000
REPLY_MAX = 2000


def _error(message, field: str = NON_FIELD_ERRORS, code: str | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def rating_deadline(contract: Contract) -> datetime.datetime | None:
    """The end of the time limit for rating ``contract`` (None before its acceptance)."""
    if contract.accepted_at is None:
        return None
    return workdays.deadline_at(
        contract.accepted_at, settings.RATINGS["RATING_WINDOW_WORKING_DAYS"]
    )


def _score(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        value = None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not 1 <= number <= 5 or str(number) != str(value).strip():
        raise _error(
            _("Give %(dimension)s a score from 1 to 5.")
            % {"dimension": str(DIMENSION_LABELS[name]).lower()},
            name,
            "score",
        )
    return number


def _contract_url(contract: Contract) -> str:
    from procurement.contracts import contract_url

    return contract_url(contract)


@transaction.atomic
def rating_submit(
    *,
    actor,
    contract: Contract,
    quality,
    timeliness,
    attitude,
    fees,
    compliance,
    comment: str = "",
    now: datetime.datetime | None = None,
) -> Rating:
    """The owner's rating of ``contract``'s service: only the owner's admin and staff
    (PermissionDenied otherwise), only once the service is accepted, once per contract,
    within the time limit; each score an integer 1–5."""
    from procurement.notices import notify_members
    from search.indexing import mark_dirty

    require_perm(actor, "rate", contract)
    now = now or timezone.now()
    locked = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("agency__organisation", "owner__organisation")
        .get(pk=contract.pk)
    )
    if locked.status not in RATABLE_STATES or locked.accepted_at is None:
        raise _error(
            _("The service can be rated only after its acceptance (验收)."),
            code="not_accepted",
        )
    if Rating.objects.filter(contract_id=locked.pk).exists():
        raise _error(_("This contract has already been rated."), code="already_rated")
    deadline = rating_deadline(locked)
    if now > deadline:
        raise _error(
            _("The time to rate this service ended on %(deadline)s.")
            % {"deadline": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")},
            code="too_late",
        )
    values = {}
    for name, value in zip(
        DIMENSIONS, (quality, timeliness, attitude, fees, compliance), strict=True
    ):
        values[name] = _score(name, value)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise _error(
            _("Keep the comment under %(n)d characters.") % {"n": COMMENT_MAX},
            "comment",
            "comment",
        )
    rating = Rating.objects.create(
        contract=locked,
        agency=locked.agency,
        owner=locked.owner,
        comment=comment,
        rated_by=actor,
        **values,
    )
    audit.record(
        actor=actor,
        action="rating.submit",
        obj=rating,
        data={"contract": locked.code, **values, "average": str(rating.average)},
    )
    notify_members(
        locked.agency.organisation_id,
        verb="rating.submit",
        title=_("Your service was rated: %(code)s") % {"code": locked.code},
        body=_("%(owner)s rated the service %(average)s out of 5.")
        % {"owner": locked.owner.organisation.name, "average": rating.average},
        url=_contract_url(locked),
    )
    # The agency's document shows its rating average and count; its credit follows.
    mark_dirty("agency", [locked.agency_id])
    request_recompute(locked.agency_id, "rating.submit")
    return rating


@transaction.atomic
def rating_reply(*, actor, rating: Rating, reply: str) -> Rating:
    """The agency's public reply to a rating, once: its admin and staff only."""
    from procurement.notices import notify_members

    require_perm(actor, "reply", rating)
    reply = (reply or "").strip()
    if not reply:
        raise _error(_("Write a reply."), "reply", "required")
    if len(reply) > REPLY_MAX:
        raise _error(
            _("Keep the reply under %(n)d characters.") % {"n": REPLY_MAX}, "reply", "reply"
        )
    locked = (
        Rating.objects.select_for_update(of=("self",))
        .select_related("contract", "owner", "agency__organisation")
        .get(pk=rating.pk)
    )
    if locked.replied_at is not None:
        raise _error(_("This rating already has a reply."), code="already_replied")
    locked.reply = reply
    locked.replied_by = actor
    locked.replied_at = timezone.now()
    locked.save(update_fields=["reply", "replied_by", "replied_at"])
    audit.record(
        actor=actor, action="rating.reply", obj=locked, data={"contract": locked.contract.code}
    )
    notify_members(
        locked.owner.organisation_id,
        verb="rating.reply",
        title=_("The agency replied to your rating: %(code)s") % {"code": locked.contract.code},
        body=reply[:200],
        url=_contract_url(locked.contract),
    )
    return locked


__all__ = ["DIMENSIONS", "DIMENSION_LABELS", "rating_deadline", "rating_reply", "rating_submit"]
