"""The fee interface other apps use (Django-aware wrapper around ``cms.fees.engine``).

    from cms.fees import api as fees

    result = fees.calculate("zbdl-1980", Decimal("8000000"), category="works")
    result.standard_fee      # Decimal("54500.00")  — the standard fee (after coefficients, cap)
    result.floor, result.ceiling   # the allowed float around it (ceiling capped again)
    result.steps             # the breakdown: engine.Step(kind, description, description_en, value…)
    result.as_dict()         # JSON-ready, Decimals as strings

    fees.fee_ceiling(rule, amount, category="works")   # the most a budget / quote may be
    fees.check_price_within_ceiling(rule, amount, price, category="works")  # or raises

Arguments:

- ``rule``: a ``FeeRule`` instance or its ``code`` (one query to load it; raises
  ``UnknownRule`` when there is no such code);
- ``amount``: the base amount in yuan as ``Decimal`` (or int / plain string); floats are
  refused; for "fixed" rules it may be ``None``;
- ``category``: a category code of the rule (``None``: the only one or the rule's default);
- ``coefficients``: ``{coefficient code: option code}``; missing ones take their default.

Every failure is a ``FeeError`` (re-exported here) with ``code``, ``message`` (Chinese),
``message_en`` and ``field``: ``InvalidAmount``, ``AmountOutOfTable``, ``UnknownCategory``,
``UnknownCoefficient``, ``UnknownRule``, ``InvalidRule``, ``PriceAboveCeiling`` (its
``result`` carries the computation, and its messages show it).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from . import engine
from .engine import (
    AmountOutOfTable,
    FeeError,
    FeeResult,
    InvalidAmount,
    InvalidRule,
    PriceAboveCeiling,
    Step,
    UnknownCategory,
    UnknownCoefficient,
    UnknownRule,
    format_yuan,
    parse_amount,
)
from .models import FeeRule

__all__ = [
    "AmountOutOfTable", "FeeError", "FeeResult", "InvalidAmount", "InvalidRule",
    "PriceAboveCeiling", "Step", "UnknownCategory", "UnknownCoefficient", "UnknownRule",
    "calculate", "check_price_within_ceiling", "fee_ceiling", "get_rule", "message_for",
]


def message_for(exc: FeeError) -> str:
    """The error's message in the active language (Chinese unless English is active)."""
    from django.utils import translation

    return exc.message_en if (translation.get_language() or "").startswith("en") else exc.message


def get_rule(rule: FeeRule | str) -> FeeRule:
    """A ``FeeRule`` from an instance or a code (one query); ``UnknownRule`` if absent."""
    if isinstance(rule, FeeRule):
        return rule
    code = (rule or "").strip() if isinstance(rule, str) else ""
    if not code:
        raise UnknownRule("请指定收费标准。", "Please name a fee standard (rule).",
                          code="rule_required")
    try:
        return FeeRule.objects.get(code=code)
    except FeeRule.DoesNotExist:
        raise UnknownRule(f"收费标准“{code[:60]}”不存在。",
                          f"There is no fee standard “{code[:60]}”.") from None


def calculate(rule: FeeRule | str, amount: Decimal | None, *, category: str | None = None,
              coefficients: Mapping[str, Any] | None = None) -> FeeResult:
    """The standard fee of ``amount`` under ``rule`` with its breakdown (see module doc)."""
    return engine.calculate(get_rule(rule).compiled, amount, category, coefficients)


def fee_ceiling(rule: FeeRule | str, amount: Decimal | None, *, category: str | None = None,
                coefficients: Mapping[str, Any] | None = None) -> Decimal:
    """The most a budget or a quote may be: standard × (1 + upward float), capped by the
    maximum per project."""
    return calculate(rule, amount, category=category, coefficients=coefficients).ceiling


def check_price_within_ceiling(rule: FeeRule | str, amount: Decimal | None, price: Any, *,
                               category: str | None = None,
                               coefficients: Mapping[str, Any] | None = None) -> FeeResult:
    """Return the ``FeeResult`` if ``price`` (yuan, Decimal/int/str) is at most the ceiling;
    otherwise raise ``PriceAboveCeiling`` whose messages show the computation and whose
    ``result`` is the full ``FeeResult``. An invalid price raises ``InvalidAmount`` with
    ``field="price"``."""
    try:
        price_d = parse_amount(price)
    except InvalidAmount as exc:
        exc.field = "price"
        raise
    result = calculate(rule, amount, category=category, coefficients=coefficients)
    if price_d > result.ceiling:
        lines_zh = "；".join(s.description for s in result.steps)
        lines_en = "; ".join(s.description_en for s in result.steps)
        raise PriceAboveCeiling(
            f"价格 {format_yuan(price_d)}元 超过收费上限 {format_yuan(result.ceiling)}元"
            f"（标准收费 {format_yuan(result.standard_fee)}元）。计算过程：{lines_zh}。",
            f"The price of CNY {format_yuan(price_d)} exceeds the fee ceiling of CNY "
            f"{format_yuan(result.ceiling)} (standard fee CNY {format_yuan(result.standard_fee)})."
            f" Computation: {lines_en}.",
            result=result, price=price_d)
    return result
