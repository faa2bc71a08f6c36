"""The codified sanction reasons (失信惩戒事由): each with a code, a Chinese label, an English
msgid (the UI translates it), its legal basis, a default severity and a default duration.

The legal-basis texts below are EXAMPLES (示例依据): they cite the State Council's general
notices on administrative-approval intermediary services without inventing article numbers.
A deployment replaces them with its own province's rules in one of two ways:

1. edit ``DEFAULT_REASONS`` in this file; or
2. point ``settings.RATINGS["SANCTION_REASONS"]`` at a module of its own (dotted path) that
   defines ``REASONS``, a sequence of ``Reason`` — e.g. ``"deploy_yunnan.sanction_reasons"``.

A sanction copies the reason's legal basis when it is proposed (``Sanction.legal_basis``), so
replacing the list never rewrites past decisions. A code must never be reused for another
meaning; retire a reason by leaving it out (existing sanctions keep their stored text).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ratings.models import SanctionSeverity

BASIS_2015 = (
    "《国务院办公厅关于清理规范国务院部门行政审批中介服务的通知》（国办发〔2015〕31号）有关规定"
    "（示例依据，部署时按本省规定替换）"
)
BASIS_2016 = (
    "《国务院关于建立完善守信联合激励和失信联合惩戒制度加快推进社会诚信建设的指导意见》"
    "（国发〔2016〕33号）有关规定（示例依据，部署时按本省规定替换）"
)
BASIS_MARKET = "本省网上中介服务超市管理办法有关规定（示例依据，部署时按本省规定替换）"


@dataclass(frozen=True)
class Reason:
    code: str  # stable, stored on the sanction (max 16 characters)
    label_zh: str  # the Chinese label as published
    label: object  # the English msgid, lazily translated (gettext_lazy)
    legal_basis: str  # copied onto the sanction when proposed
    severity: str  # SanctionSeverity: the default offered by the form
    days: int  # default duration, in calendar days

    def display(self) -> str:
        """The label in the active language (Chinese label when the UI is Chinese)."""
        from django.utils.translation import get_language

        if (get_language() or "").startswith("zh"):
            return self.label_zh
        return str(self.label)


DEFAULT_REASONS: tuple[Reason, ...] = (
    Reason(
        "FALSE_RESULT",
        "出具虚假或严重失实的中介服务成果",
        _("Issued false or seriously inaccurate service deliverables"),
        BASIS_2015,
        SanctionSeverity.BAN,
        730,
    ),
    Reason(
        "COLLUSION",
        "串通报名、围标或者以其他方式操纵选取结果",
        _("Colluded in registrations or rigged the selection"),
        BASIS_MARKET,
        SanctionSeverity.BAN,
        365,
    ),
    Reason(
        "FALSE_ENROL",
        "提供虚假入驻材料或者隐瞒真实情况入驻",
        _("Enrolled with false documents or concealed facts"),
        BASIS_MARKET,
        SanctionSeverity.BAN,
        365,
    ),
    Reason(
        "REFUSE_SIGN",
        "被选取后无正当理由拒绝签订合同",
        _("Refused to sign the contract without a valid reason after being selected"),
        BASIS_MARKET,
        SanctionSeverity.SUSPENSION,
        180,
    ),
    Reason(
        "OUT_OF_SCOPE",
        "超出资质等级或者业务范围执业",
        _("Practised beyond its qualification level or business scope"),
        BASIS_2015,
        SanctionSeverity.SUSPENSION,
        180,
    ),
    Reason(
        "OVERCHARGE",
        "违反收费标准收费或者变相收费",
        _("Charged fees in breach of the fee standards"),
        BASIS_2015,
        SanctionSeverity.SUSPENSION,
        90,
    ),
    Reason(
        "SUBCONTRACT",
        "将中介服务转包或者违法分包",
        _("Passed the service on to another party (转包) or subcontracted it unlawfully"),
        BASIS_MARKET,
        SanctionSeverity.SUSPENSION,
        180,
    ),
    Reason(
        "SERIOUS_DELAY",
        "逾期履约，情节严重",
        _("Seriously overdue in performing the contract"),
        BASIS_MARKET,
        SanctionSeverity.WARNING,
        90,
    ),
    Reason(
        "CREDIT_LIST",
        "被依法列入严重失信主体名单",
        _("Listed as a seriously untrustworthy entity under the law"),
        BASIS_2016,
        SanctionSeverity.BAN,
        1095,
    ),
)


@cache
def _configured(path: str) -> tuple[Reason, ...]:
    return tuple(import_module(path).REASONS)


def all_reasons() -> tuple[Reason, ...]:
    """The reasons in force: the module named by ``RATINGS["SANCTION_REASONS"]`` when set,
    else ``DEFAULT_REASONS``."""
    path = (getattr(settings, "RATINGS", None) or {}).get("SANCTION_REASONS")
    return _configured(path) if path else DEFAULT_REASONS


def reason(code: str) -> Reason | None:
    return next((r for r in all_reasons() if r.code == code), None)


def reason_choices() -> list[tuple[str, str]]:
    return [(r.code, r.display()) for r in all_reasons()]


__all__ = ["DEFAULT_REASONS", "Reason", "all_reasons", "reason", "reason_choices"]
