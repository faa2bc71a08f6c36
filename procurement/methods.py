"""Selection methods (选取方式), one class each, found by the announcement's ``method``.

A method says whether it takes registrations and uses the verifiable draw, which terms it
needs (``errors``), what happens at publication (``after_publish``) and how the pool becomes
a result (``select``, run by the scheduler under the announcement's lock, in "selecting").
Quote-based (竞价) and evaluation-based (综合评价) selection slot in as two more classes: both
take registrations; their ``select`` ranks the pool by price or score instead of by draw.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from procurement.models import SelectionMethod


class Method(ABC):
    code: str = ""
    needs_registration = True
    uses_draw = False

    def errors(self, announcement) -> dict[str, list[str]]:
        return {}

    def after_publish(self, announcement, *, actor) -> None:
        """Inside the publishing transaction, after the publish transition."""

    @abstractmethod
    def select(self, announcement, *, now) -> None:
        """Turns the frozen pool into a result (selected and alternates)."""


class RandomDraw(Method):
    """随机抽取: the draw of DESIGN §6 among the eligible registrants."""

    code = SelectionMethod.RANDOM_DRAW
    uses_draw = True

    def errors(self, announcement):
        if announcement.direct_agency_id:
            return {"direct_agency": [_("Only a direct selection names an agency.")]}
        return {}

    def select(self, announcement, *, now) -> None:
        from procurement.services import draw_select

        draw_select(announcement, now=now)


def direct_selection_max() -> Decimal:
    return Decimal(str(settings.PROCUREMENT["DIRECT_SELECTION_MAX"]))


class DirectSelection(Method):
    """直接选取: below a configurable amount the owner names an eligible agency; the choice is
    published and goes through confirmation and publicity like a drawn result."""

    code = SelectionMethod.DIRECT
    needs_registration = False

    def errors(self, announcement):
        errors: dict[str, list[str]] = {}
        limit = direct_selection_max()
        if announcement.budget_ceiling is not None and announcement.budget_ceiling >= limit:
            errors["method"] = [
                _(
                    "Direct selection is allowed only for a ceiling below %(limit)s yuan; "
                    "use a random draw."
                )
                % {"limit": f"{limit:,.2f}"}
            ]
        if not announcement.direct_agency_id:
            errors["direct_agency"] = [_("Name the agency you select directly.")]
        return errors

    def after_publish(self, announcement, *, actor) -> None:
        from procurement.services import direct_after_publish

        direct_after_publish(announcement, actor=actor)

    def select(self, announcement, *, now) -> None:
        from procurement.services import direct_select

        direct_select(announcement, now=now)


_methods: dict[str, Method] = {m.code: m for m in (RandomDraw(), DirectSelection())}


def get(code: str) -> Method:
    try:
        return _methods[code]
    except KeyError:
        raise LookupError(f"unknown selection method {code!r}") from None


def register(method: Method) -> Method:
    _methods[method.code] = method
    return method
