"""Fee engine (收费计算引擎): prices a structured fee rule. Pure Python — no Django import.

Money is ``Decimal`` yuan with 2 places, rounded ROUND_HALF_UP; floats are refused everywhere
(in amounts and in rule definitions). An amount outside a rule's table is an error that says
so; the engine never extrapolates.

Rule definition format, version 1
=================================

A rule is a JSON-serialisable dict. Money is a string (or int) of yuan, rates are strings (or
ints) in **percent** (``"1.5"`` means 1.5 %), coefficients are plain factors (``"0.3"``)::

    {
      "version": 1,
      "method": "cumulative" | "interpolation" | "percentage" | "fixed",
      "base": {                          # the amount the fee is computed from;
        "label_zh": "中标金额",           # required for every method except "fixed"
        "label_en": "Winning-bid amount",
        "unit": "yuan",                  # the only unit: amounts are always yuan
        "display": "wan"                 # optional, "wan" (万元, default) or "yuan"
      },
      "categories": [                    # one or more columns of the standard
        {"code": "goods", "name_zh": "货物招标", "name_en": "Goods",
         # method "cumulative" (差额定率累进): contiguous brackets from 0; each slice of the
         # amount is charged at its bracket's rate and the slices are added.  The last "to"
         # is the end of the table: a larger amount is an error.
         "brackets": [{"from": "0", "to": "1000000", "rate_pct": "1.5"}, ...],
         # method "interpolation" (内插法): points with strictly increasing amounts; the fee
         # is linear between the two neighbouring points; an amount below the first or above
         # the last point is an error.
         "points": [{"amount": "30000000", "fee": "80000"}, ...],
         # method "percentage": fee = amount × rate, raised to "minimum" and lowered to
         # "maximum" when given.
         "rate_pct": "0.5", "minimum": "2000", "maximum": "500000",
         # method "fixed": a fixed amount per project; no base amount is needed.
         "fee": "12000",
         # optional: maximum fee per project (封顶) for this category; overrides the rule's
         "cap": "3500000"}
      ],
      "default_category": "goods",       # optional; without it a multi-category rule needs
                                         # an explicit category
      "coefficients": [                  # optional adjustment coefficients, multiplied in
        {"code": "scope", "name_zh": "服务范围", "name_en": "Scope", "default": "full",
         "options": [{"code": "full", "name_zh": "全过程代理", "name_en": "Full service",
                      "factor": "1.0"}, ...]}
      ],
      "float": {"down_pct": "20", "up_pct": "20"},   # optional allowed float (浮动幅度)
      "cap": "4500000"                   # optional rule-wide maximum per project
    }

Unknown keys are refused (they are usually typos). ``validate_definition()`` checks all of it
and raises ``InvalidRule`` with the path of the offending value.

How a fee is computed
---------------------

1. the **base fee** from the method (each slice / table step is a breakdown step);
2. each **coefficient** in definition order multiplies the running fee (chosen option or its
   default; every coefficient is shown, even at factor 1);
3. the result is the uncapped standard fee; the **maximum per project** (cap), when lower,
   replaces it (a "cap" step is shown when it bites);
4. the **float** gives ``floor = standard × (1 − down)`` and ``ceiling = standard × (1 + up)``,
   the ceiling capped again by the per-project maximum.

Every step's figure is rounded to the fen (0.01 yuan, ROUND_HALF_UP) as it is produced and the
next step works on the rounded figure, so the published breakdown always adds up exactly.

Errors
------

``FeeError`` (``code``, ``message`` in Chinese, ``message_en``, ``field``) with subclasses
``InvalidAmount``, ``AmountOutOfTable``, ``UnknownCategory``, ``UnknownCoefficient``,
``InvalidRule``, ``UnknownRule`` (raised by the Django layer) and ``PriceAboveCeiling``.

Public interface: ``validate_definition(defn)``, ``compile_rule(defn) -> Rule``,
``calculate(rule_or_defn, amount, category=None, coefficients=None) -> FeeResult``,
``parse_amount(value, unit="yuan") -> Decimal``, ``format_yuan``, ``format_wan``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from itertools import pairwise
from typing import Any

__all__ = [
    "AmountOutOfTable",
    "FeeError",
    "FeeResult",
    "InvalidAmount",
    "InvalidRule",
    "PriceAboveCeiling",
    "Rule",
    "Step",
    "UnknownCategory",
    "UnknownCoefficient",
    "UnknownRule",
    "calculate",
    "compile_rule",
    "format_wan",
    "format_yuan",
    "parse_amount",
    "validate_definition",
]

FEN = Decimal("0.01")
HUNDRED = Decimal(100)
WAN = Decimal(10000)
ZERO = Decimal(0)
ONE = Decimal(1)
#: the largest amount accepted (13 integer digits: just under 10,000 亿元).
MAX_INTEGER_DIGITS = 13
METHODS = ("cumulative", "interpolation", "percentage", "fixed")
_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_PLAIN_NUMBER_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")


# --------------------------------------------------------------------------------- errors
class FeeError(ValueError):
    """Base of all fee errors: a machine ``code``, a Chinese ``message``, an English
    ``message_en`` and the input ``field`` it concerns (``None`` when none)."""

    default_code = "fee_error"
    default_field: str | None = None

    def __init__(self, message: str, message_en: str, *, code: str | None = None,
                 field: str | None = None):
        super().__init__(message_en)
        self.code = code or self.default_code
        self.message = message
        self.message_en = message_en
        self.field = field if field is not None else self.default_field

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "message_en": self.message_en,
                "field": self.field}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message_en!r})"


class InvalidAmount(FeeError):
    default_code = "invalid_amount"
    default_field = "amount"


class AmountOutOfTable(FeeError):
    default_code = "amount_out_of_table"
    default_field = "amount"


class UnknownCategory(FeeError):
    default_code = "unknown_category"
    default_field = "category"


class UnknownCoefficient(FeeError):
    default_code = "unknown_coefficient"


class InvalidRule(FeeError):
    default_code = "invalid_rule"
    default_field = "definition"


class UnknownRule(FeeError):
    default_code = "unknown_rule"
    default_field = "rule"


class PriceAboveCeiling(FeeError):
    """A budget or quote above the ceiling; ``result`` holds the computation."""

    default_code = "price_above_ceiling"
    default_field = "price"

    def __init__(self, message: str, message_en: str, *, result: FeeResult,
                 price: Decimal, **kw):
        super().__init__(message, message_en, **kw)
        self.result = result
        self.price = price

    def as_dict(self) -> dict[str, Any]:
        d = super().as_dict()
        d["price"] = str(self.price)
        d["ceiling"] = str(self.result.ceiling)
        d["result"] = self.result.as_dict()
        return d


# ------------------------------------------------------------------------------ formatting
def q(value: Decimal) -> Decimal:
    """Round to the fen, half up."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def format_yuan(value: Decimal) -> str:
    """``Decimal("54500")`` → ``"54,500.00"``."""
    return f"{q(value):,.2f}"


def format_wan(value: Decimal) -> str:
    """Yuan shown in 万元 without trailing zeros: ``Decimal("54500")`` → ``"5.45"``."""
    wan = (value / WAN).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    text = f"{wan:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _money_zh(value: Decimal, display: str = "wan") -> str:
    """Chinese display: 万元 when the amount is a round number of 万元 (to 2 decimals),
    otherwise 元."""
    if value == 0:
        return "0元"
    if display == "wan" and abs(value) >= WAN and value % 100 == 0:
        return f"{format_wan(value)}万元"
    return f"{format_yuan(value)}元"


def _money_en(value: Decimal, display: str = "wan") -> str:
    """English display in yuan, without a trailing .00 for whole amounts."""
    text = format_yuan(value)
    text = text.removesuffix(".00")
    return f"CNY {text}"


def _pct(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def _factor(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


# --------------------------------------------------------------------------------- amounts
def parse_amount(value: Any, unit: str = "yuan") -> Decimal:
    """Turn user input into a positive Decimal of yuan with at most 2 decimals.

    Accepts ``Decimal``, ``int`` and plain decimal strings (``"8000000"``, ``"8000000.50"``;
    surrounding spaces and thousands commas are tolerated). ``unit="wan"`` reads the value in
    万元. Refuses floats, booleans, NaN/Infinity, exponents, negatives, zero, more than 2
    decimals of a yuan and more than 13 integer digits, each with its own error code."""
    if unit not in ("yuan", "wan"):
        raise InvalidAmount("金额单位只能是“元”或“万元”。",
                            "The amount unit must be yuan or wan (10,000 yuan).",
                            code="invalid_unit", field="unit")
    if isinstance(value, (bool, float)):
        raise InvalidAmount("金额不能以浮点数传入，请使用十进制数。",
                            "Amounts must not be floats; pass a Decimal or a string.",
                            code="amount_float")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidAmount("请填写金额。", "Please enter an amount.", code="amount_required")
    if isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, Decimal):
        d = value
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        if len(text) > 40:
            raise InvalidAmount("金额位数过多。", "The amount has too many digits.",
                                code="amount_too_many_digits")
        low = text.lower().lstrip("+-")
        if low in ("nan", "snan", "inf", "infinity"):
            raise InvalidAmount("金额必须是有限的数字。", "The amount must be a finite number.",
                                code="amount_not_finite")
        if text.startswith("-") and _PLAIN_NUMBER_RE.match(text[1:]):
            raise InvalidAmount("金额不能为负数。", "The amount must not be negative.",
                                code="amount_negative")
        if not _PLAIN_NUMBER_RE.match(text):
            raise InvalidAmount(f"“{value.strip()[:40]}”不是有效的金额，请输入数字，例如 8000000 或 8000000.50。",
                                f"“{value.strip()[:40]}” is not a valid amount; enter a number "
                                "such as 8000000 or 8000000.50.",
                                code="amount_not_numeric")
        d = Decimal(text)
    else:
        raise InvalidAmount("金额格式无效。", "The amount is not a number.",
                            code="amount_not_numeric")
    if not d.is_finite():
        raise InvalidAmount("金额必须是有限的数字。", "The amount must be a finite number.",
                            code="amount_not_finite")
    if d < 0:
        raise InvalidAmount("金额不能为负数。", "The amount must not be negative.",
                            code="amount_negative")
    if unit == "wan":
        d = d * WAN
    if d == 0:
        raise InvalidAmount("金额必须大于零。", "The amount must be greater than zero.",
                            code="amount_zero")
    _sign, digits, exponent = d.normalize().as_tuple()
    if exponent < -2:
        raise InvalidAmount("金额最多精确到分（元后两位小数）。",
                            "The amount can have at most 2 decimal places of a yuan (fen).",
                            code="amount_too_many_decimals")
    int_digits = len(digits) + exponent
    if int_digits > MAX_INTEGER_DIGITS:
        raise InvalidAmount(f"金额位数过多（整数部分最多 {MAX_INTEGER_DIGITS} 位）。",
                            f"The amount has too many digits (at most {MAX_INTEGER_DIGITS} "
                            "before the decimal point).",
                            code="amount_too_many_digits")
    return q(d)


# ----------------------------------------------------------------------------- compiled rule
@dataclass(frozen=True)
class Bracket:
    lower: Decimal
    upper: Decimal
    rate_pct: Decimal

    @property
    def rate(self) -> Decimal:
        return self.rate_pct / HUNDRED


@dataclass(frozen=True)
class Point:
    amount: Decimal
    fee: Decimal


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    brackets: tuple[Bracket, ...] = ()
    points: tuple[Point, ...] = ()
    rate_pct: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    fee: Decimal | None = None
    cap: Decimal | None = None

    @property
    def table_max(self) -> Decimal | None:
        if self.brackets:
            return self.brackets[-1].upper
        if self.points:
            return self.points[-1].amount
        return None

    @property
    def table_min(self) -> Decimal | None:
        return self.points[0].amount if self.points else None


@dataclass(frozen=True)
class Option:
    code: str
    name_zh: str
    name_en: str
    factor: Decimal


@dataclass(frozen=True)
class Coefficient:
    code: str
    name_zh: str
    name_en: str
    default: str
    options: tuple[Option, ...]

    def option(self, code: str) -> Option | None:
        for o in self.options:
            if o.code == code:
                return o
        return None


@dataclass(frozen=True)
class Rule:
    """A validated, compiled definition (build with ``compile_rule``)."""

    method: str
    categories: tuple[Category, ...]
    coefficients: tuple[Coefficient, ...] = ()
    default_category: str | None = None
    base_label_zh: str = ""
    base_label_en: str = ""
    display: str = "wan"
    float_down_pct: Decimal = ZERO
    float_up_pct: Decimal = ZERO
    cap: Decimal | None = None
    definition: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def needs_amount(self) -> bool:
        return self.method != "fixed"

    @property
    def has_float(self) -> bool:
        return bool(self.float_down_pct or self.float_up_pct)

    def category(self, code: str | None) -> Category:
        if code in (None, ""):
            if len(self.categories) == 1:
                return self.categories[0]
            if self.default_category:
                code = self.default_category
            else:
                names_zh = "、".join(f"{c.name_zh}（{c.code}）" for c in self.categories)
                names_en = ", ".join(f"{c.name_en} ({c.code})" for c in self.categories)
                raise UnknownCategory(f"请选择收费类别：{names_zh}。",
                                      f"Please choose a fee category: {names_en}.",
                                      code="category_required")
        for c in self.categories:
            if c.code == code:
                return c
        names_zh = "、".join(f"{c.name_zh}（{c.code}）" for c in self.categories)
        names_en = ", ".join(f"{c.name_en} ({c.code})" for c in self.categories)
        raise UnknownCategory(f"收费类别“{str(code)[:40]}”不存在，可选：{names_zh}。",
                              f"Unknown fee category “{str(code)[:40]}”; choose one of: {names_en}.")

    def cap_for(self, category: Category) -> Decimal | None:
        return category.cap if category.cap is not None else self.cap


# ------------------------------------------------------------------------------ validation
_TOP_KEYS = {"version", "method", "base", "categories", "default_category", "coefficients",
             "float", "cap", "notes"}
_BASE_KEYS = {"label_zh", "label_en", "unit", "display"}
_CAT_KEYS = {
    "cumulative": {"code", "name_zh", "name_en", "brackets", "cap"},
    "interpolation": {"code", "name_zh", "name_en", "points", "cap"},
    "percentage": {"code", "name_zh", "name_en", "rate_pct", "minimum", "maximum", "cap"},
    "fixed": {"code", "name_zh", "name_en", "fee", "cap"},
}
_COEF_KEYS = {"code", "name_zh", "name_en", "default", "options"}
_OPTION_KEYS = {"code", "name_zh", "name_en", "factor"}
_FLOAT_KEYS = {"down_pct", "up_pct"}


def _bad(path: str, zh: str, en: str) -> InvalidRule:
    return InvalidRule(f"{path}：{zh}", f"{path}: {en}", field=path)


def _dec(value: Any, path: str, *, allow_zero: bool = True) -> Decimal:
    if isinstance(value, (bool, float)):
        raise _bad(path, "数值须写成字符串或整数（不能用浮点数）。",
                   "numbers must be strings or integers, never floats.")
    if isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str) and _PLAIN_NUMBER_RE.match(value.strip()):
        d = Decimal(value.strip())
    elif isinstance(value, str) and value.strip().startswith("-"):
        raise _bad(path, "不能为负数。", "must not be negative.")
    else:
        raise _bad(path, f"“{str(value)[:40]}”不是有效的数字。",
                   f"“{str(value)[:40]}” is not a valid number.")
    if not allow_zero and d == 0:
        raise _bad(path, "必须大于零。", "must be greater than zero.")
    return d


def _text(obj: Mapping, key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{path}.{key}", "必填，须为非空文本。", "is required and must be non-empty text.")
    return value.strip()


def _code(obj: Mapping, key: str, path: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not _CODE_RE.match(value):
        raise _bad(f"{path}.{key}", "代码须为小写字母、数字、- 或 _（最多 40 个字符）。",
                   "a code must be lower-case letters, digits, - or _ (at most 40 characters).")
    return value


def _keys(obj: Any, allowed: set[str], path: str) -> Mapping:
    if not isinstance(obj, Mapping):
        raise _bad(path, "须为对象（字典）。", "must be an object (dict).")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise _bad(path, f"未知的键：{', '.join(map(str, unknown))}。",
                   f"unknown key(s): {', '.join(map(str, unknown))}.")
    return obj


def _list(obj: Mapping, key: str, path: str, *, min_len: int = 1) -> list:
    value = obj.get(key)
    if not isinstance(value, list) or len(value) < min_len:
        raise _bad(f"{path}.{key}", f"须为至少含 {min_len} 项的列表。",
                   f"must be a list of at least {min_len} item(s).")
    return value


def compile_rule(defn: Mapping[str, Any]) -> Rule:
    """Validate ``defn`` and return the compiled ``Rule``; raises ``InvalidRule``."""
    d = _keys(defn, _TOP_KEYS, "definition")
    if d.get("version") != 1 or isinstance(d.get("version"), bool):
        raise _bad("version", "只支持版本 1。", "only version 1 is supported.")
    method = d.get("method")
    if method not in METHODS:
        raise _bad("method", f"须为以下之一：{', '.join(METHODS)}。",
                   f"must be one of: {', '.join(METHODS)}.")

    label_zh = label_en = ""
    display = "wan"
    if method != "fixed" or d.get("base") is not None:
        base = _keys(d.get("base"), _BASE_KEYS, "base")
        label_zh = _text(base, "label_zh", "base")
        label_en = _text(base, "label_en", "base")
        if base.get("unit", "yuan") != "yuan":
            raise _bad("base.unit", "金额单位只能是 yuan（元）。", "the only unit is yuan.")
        display = base.get("display", "wan")
        if display not in ("wan", "yuan"):
            raise _bad("base.display", "须为 wan 或 yuan。", "must be wan or yuan.")

    categories: list[Category] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(d, "categories", "definition")):
        path = f"categories[{i}]"
        c = _keys(raw, _CAT_KEYS[method], path)
        code = _code(c, "code", path)
        if code in seen:
            raise _bad(f"{path}.code", f"类别代码“{code}”重复。", f"duplicate category code “{code}”.")
        seen.add(code)
        kw: dict[str, Any] = {"code": code, "name_zh": _text(c, "name_zh", path),
                              "name_en": _text(c, "name_en", path)}
        if "cap" in c and c["cap"] is not None:
            kw["cap"] = _dec(c["cap"], f"{path}.cap", allow_zero=False)
        if method == "cumulative":
            brackets = []
            previous: Decimal | None = None
            for j, rb in enumerate(_list(c, "brackets", path)):
                bpath = f"{path}.brackets[{j}]"
                b = _keys(rb, {"from", "to", "rate_pct"}, bpath)
                for k in ("from", "to", "rate_pct"):
                    if k not in b:
                        raise _bad(f"{bpath}.{k}", "必填。", "is required.")
                lower = _dec(b["from"], f"{bpath}.from")
                upper = _dec(b["to"], f"{bpath}.to")
                rate = _dec(b["rate_pct"], f"{bpath}.rate_pct")
                if previous is None and lower != 0:
                    raise _bad(f"{bpath}.from", "第一个档次须从 0 开始。",
                               "the first bracket must start at 0.")
                if previous is not None and lower != previous:
                    raise _bad(f"{bpath}.from",
                               f"档次须连续：应等于上一档的上限 {previous}，实为 {lower}。",
                               f"brackets must be contiguous: expected the previous bracket's "
                               f"'to' ({previous}), got {lower}.")
                if upper <= lower:
                    raise _bad(f"{bpath}.to", f"上限 {upper} 须大于下限 {lower}（档次须递增）。",
                               f"'to' ({upper}) must be greater than 'from' ({lower}); brackets "
                               "must increase.")
                if rate > HUNDRED:
                    raise _bad(f"{bpath}.rate_pct", "费率不能超过 100%。",
                               "a rate cannot exceed 100 %.")
                brackets.append(Bracket(lower, upper, rate))
                previous = upper
            kw["brackets"] = tuple(brackets)
        elif method == "interpolation":
            points = []
            for j, rp in enumerate(_list(c, "points", path, min_len=2)):
                ppath = f"{path}.points[{j}]"
                p = _keys(rp, {"amount", "fee"}, ppath)
                for k in ("amount", "fee"):
                    if k not in p:
                        raise _bad(f"{ppath}.{k}", "必填。", "is required.")
                amount = _dec(p["amount"], f"{ppath}.amount")
                fee = _dec(p["fee"], f"{ppath}.fee")
                if points and amount <= points[-1].amount:
                    raise _bad(f"{ppath}.amount",
                               f"插值点的金额须严格递增：{amount} 不大于上一点 {points[-1].amount}。",
                               f"point amounts must be strictly increasing: {amount} is not "
                               f"greater than the previous point ({points[-1].amount}).")
                points.append(Point(amount, fee))
            kw["points"] = tuple(points)
        elif method == "percentage":
            if "rate_pct" not in c:
                raise _bad(f"{path}.rate_pct", "必填。", "is required.")
            kw["rate_pct"] = _dec(c["rate_pct"], f"{path}.rate_pct")
            if kw["rate_pct"] > HUNDRED:
                raise _bad(f"{path}.rate_pct", "费率不能超过 100%。", "a rate cannot exceed 100 %.")
            if c.get("minimum") is not None:
                kw["minimum"] = _dec(c["minimum"], f"{path}.minimum")
            if c.get("maximum") is not None:
                kw["maximum"] = _dec(c["maximum"], f"{path}.maximum", allow_zero=False)
            if kw.get("minimum") is not None and kw.get("maximum") is not None \
                    and kw["maximum"] < kw["minimum"]:
                raise _bad(f"{path}.maximum", "最高收费不能低于最低收费。",
                           "the maximum must not be below the minimum.")
        else:  # fixed
            if "fee" not in c:
                raise _bad(f"{path}.fee", "必填。", "is required.")
            kw["fee"] = _dec(c["fee"], f"{path}.fee")
        categories.append(Category(**kw))

    default_category = d.get("default_category")
    if default_category is not None and default_category not in seen:
        raise _bad("default_category", f"“{default_category}”不是已定义的类别。",
                   f"“{default_category}” is not one of the categories.")

    coefficients: list[Coefficient] = []
    coef_seen: set[str] = set()
    for i, raw in enumerate(d.get("coefficients") or []):
        path = f"coefficients[{i}]"
        co = _keys(raw, _COEF_KEYS, path)
        code = _code(co, "code", path)
        if code in coef_seen:
            raise _bad(f"{path}.code", f"系数代码“{code}”重复。", f"duplicate coefficient code “{code}”.")
        coef_seen.add(code)
        options = []
        opt_seen: set[str] = set()
        for j, ro in enumerate(_list(co, "options", path)):
            opath = f"{path}.options[{j}]"
            o = _keys(ro, _OPTION_KEYS, opath)
            ocode = _code(o, "code", opath)
            if ocode in opt_seen:
                raise _bad(f"{opath}.code", f"选项代码“{ocode}”重复。", f"duplicate option code “{ocode}”.")
            opt_seen.add(ocode)
            if "factor" not in o:
                raise _bad(f"{opath}.factor", "必填。", "is required.")
            options.append(Option(ocode, _text(o, "name_zh", opath), _text(o, "name_en", opath),
                                  _dec(o["factor"], f"{opath}.factor", allow_zero=False)))
        default = co.get("default")
        if default not in opt_seen:
            raise _bad(f"{path}.default", "默认选项须是已定义的选项之一。",
                       "the default must be one of the options.")
        coefficients.append(Coefficient(code, _text(co, "name_zh", path), _text(co, "name_en", path),
                                        default, tuple(options)))
    if "coefficients" in d and d["coefficients"] is not None and not isinstance(d["coefficients"], list):
        raise _bad("coefficients", "须为列表。", "must be a list.")

    down = up = ZERO
    if d.get("float") is not None:
        fl = _keys(d["float"], _FLOAT_KEYS, "float")
        down = _dec(fl.get("down_pct", 0), "float.down_pct")
        up = _dec(fl.get("up_pct", 0), "float.up_pct")
        if down >= HUNDRED:
            raise _bad("float.down_pct", "下浮须小于 100%。", "the downward float must be below 100 %.")
        if up > HUNDRED:
            raise _bad("float.up_pct", "上浮不能超过 100%。", "the upward float cannot exceed 100 %.")
    cap = _dec(d["cap"], "cap", allow_zero=False) if d.get("cap") is not None else None
    return Rule(method=method, categories=tuple(categories), coefficients=tuple(coefficients),
                default_category=default_category, base_label_zh=label_zh, base_label_en=label_en,
                display=display, float_down_pct=down, float_up_pct=up, cap=cap, definition=defn)


def validate_definition(defn: Mapping[str, Any]) -> None:
    """Raise ``InvalidRule`` (with the path of the offending value) unless the engine can
    price ``defn``."""
    compile_rule(defn)


# --------------------------------------------------------------------------------- results
@dataclass(eq=False)  # not frozen: frozen __init__ costs ~3x; treat as read-only
class Step:
    """One line of the breakdown. ``kind``: slice | point | interpolation | percentage |
    minimum | maximum | fixed | coefficient | cap | float_floor | float_ceiling | ceiling_cap.
    ``value`` is the figure this step contributes (for slices) or the running fee after it.
    ``description`` (Chinese) and ``description_en`` are built from the figures on first use,
    so pricing stays cheap when nobody reads them."""

    kind: str
    value: Decimal
    base: Decimal | None = None
    rate_pct: Decimal | None = None
    factor: Decimal | None = None
    lower: Decimal | None = None
    upper: Decimal | None = None
    #: kind-specific extras: names of a coefficient and option, the fees of the two points
    extra: tuple = field(default=(), repr=False)
    display: str = field(default="wan", repr=False)

    @cached_property
    def description(self) -> str:
        return _describe(self, zh=True)

    @cached_property
    def description_en(self) -> str:
        return _describe(self, zh=False)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "description": self.description,
                             "description_en": self.description_en, "value": str(self.value)}
        for name in ("base", "rate_pct", "factor", "lower", "upper"):
            v = getattr(self, name)
            if v is not None:
                d[name] = str(v) if name not in ("rate_pct", "factor") else _pct(v)
        return d


def _describe(s: Step, zh: bool) -> str:
    y = format_yuan
    k, dp = s.kind, s.display
    if k == "slice":
        if zh:
            return (f"{_money_zh(s.lower, dp)}–{_money_zh(s.upper, dp)} 档："
                    f"{_money_zh(s.base, dp)} × {_pct(s.rate_pct)}% = {y(s.value)}元")
        return (f"Bracket {_money_en(s.lower)}–{_money_en(s.upper)[4:]}: {_money_en(s.base)} × "
                f"{_pct(s.rate_pct)} % = CNY {y(s.value)}")
    if k == "point":
        if zh:
            return f"表中点：{_money_zh(s.base, dp)} 对应收费 {y(s.value)}元"
        return f"Table point: {_money_en(s.base)} → CNY {y(s.value)}"
    if k == "interpolation":
        f_lo, f_hi = s.extra
        if zh:
            return (f"内插法：在 {_money_zh(s.lower, dp)}（{y(f_lo)}元）与 "
                    f"{_money_zh(s.upper, dp)}（{y(f_hi)}元）之间，{y(f_lo)} + ({y(f_hi)} − "
                    f"{y(f_lo)}) × ({_money_zh(s.base, dp)} − {_money_zh(s.lower, dp)}) ÷ "
                    f"({_money_zh(s.upper, dp)} − {_money_zh(s.lower, dp)}) = {y(s.value)}元")
        return (f"Linear interpolation between {_money_en(s.lower)} (fee CNY {y(f_lo)}) and "
                f"{_money_en(s.upper)} (fee CNY {y(f_hi)}): {y(f_lo)} + ({y(f_hi)} − {y(f_lo)})"
                f" × ({_money_en(s.base)[4:]} − {_money_en(s.lower)[4:]}) ÷ "
                f"({_money_en(s.upper)[4:]} − {_money_en(s.lower)[4:]}) = CNY {y(s.value)}")
    if k == "percentage":
        if zh:
            return f"{_money_zh(s.base, dp)} × {_pct(s.rate_pct)}% = {y(s.value)}元"
        return f"{_money_en(s.base)} × {_pct(s.rate_pct)} % = CNY {y(s.value)}"
    if k == "minimum":
        return (f"低于最低收费，按最低收费 {y(s.value)}元 计" if zh
                else f"Below the minimum fee: raised to CNY {y(s.value)}")
    if k == "maximum":
        return (f"高于最高收费，按最高收费 {y(s.value)}元 计" if zh
                else f"Above the maximum fee: lowered to CNY {y(s.value)}")
    if k == "fixed":
        return (f"每项目定额收费 {y(s.value)}元" if zh
                else f"Fixed fee per project: CNY {y(s.value)}")
    if k == "coefficient":
        c_zh, c_en, o_zh, o_en = s.extra
        if zh:
            return (f"{c_zh}系数（{o_zh}）：{y(s.base)}元 × {_factor(s.factor)} = "
                    f"{y(s.value)}元")
        return (f"{c_en} coefficient ({o_en}): CNY {y(s.base)} × {_factor(s.factor)} = "
                f"CNY {y(s.value)}")
    if k == "cap":
        if zh:
            return (f"{y(s.base)}元 超过每项目最高收费限额 {_money_zh(s.value)}，"
                    f"按限额 {y(s.value)}元 计")
        return (f"CNY {y(s.base)} is above the maximum per project ({_money_en(s.value)}): "
                f"capped at CNY {y(s.value)}")
    if k in ("float_floor", "float_ceiling"):
        down = k == "float_floor"
        mult = (HUNDRED - s.rate_pct if down else HUNDRED + s.rate_pct) / HUNDRED
        if zh:
            return (f"{'下浮' if down else '上浮'} {_pct(s.rate_pct)}%：{y(s.base)}元 × "
                    f"{_factor(mult)} = {y(s.value)}元")
        return (f"Float {'down' if down else 'up'} {_pct(s.rate_pct)} %: CNY {y(s.base)} × "
                f"{_factor(mult)} = CNY {y(s.value)}")
    if k == "ceiling_cap":
        if zh:
            return (f"上浮后 {y(s.base)}元 超过每项目最高收费限额，上限按 {y(s.value)}元 计")
        return (f"The floated ceiling of CNY {y(s.base)} exceeds the maximum per project: "
                f"limited to CNY {y(s.value)}")
    return f"{k}: {y(s.value)}"


@dataclass(frozen=True)
class FeeResult:
    method: str
    amount: Decimal | None
    category: str
    category_name: str
    category_name_en: str
    coefficients: dict[str, str]
    base_fee: Decimal
    uncapped_fee: Decimal
    standard_fee: Decimal
    floor: Decimal
    ceiling: Decimal
    cap: Decimal | None
    cap_applied: bool
    float_down_pct: Decimal
    float_up_pct: Decimal
    steps: tuple[Step, ...]
    warnings: tuple[dict[str, str], ...] = ()
    base_label: str = ""
    base_label_en: str = ""

    @property
    def standard_fee_wan(self) -> str:
        return format_wan(self.standard_fee)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every Decimal as a string."""
        return {
            "method": self.method,
            "inputs": {
                "amount": None if self.amount is None else str(self.amount),
                "amount_wan": None if self.amount is None else format_wan(self.amount),
                "category": self.category,
                "coefficients": dict(self.coefficients),
            },
            "base_label": self.base_label,
            "base_label_en": self.base_label_en,
            "category_name": self.category_name,
            "category_name_en": self.category_name_en,
            "base_fee": str(self.base_fee),
            "uncapped_fee": str(self.uncapped_fee),
            "standard_fee": str(self.standard_fee),
            "standard_fee_wan": format_wan(self.standard_fee),
            "floor": str(self.floor),
            "ceiling": str(self.ceiling),
            "float": {"down_pct": _pct(self.float_down_pct), "up_pct": _pct(self.float_up_pct)},
            "cap": None if self.cap is None else str(self.cap),
            "cap_applied": self.cap_applied,
            "breakdown": [s.as_dict() for s in self.steps],
            "warnings": list(self.warnings),
        }


# ------------------------------------------------------------------------------- computing
def _out_of_table(amount: Decimal, limit: Decimal, rule: Rule, above: bool) -> AmountOutOfTable:
    label_zh = rule.base_label_zh or "金额"
    label_en = rule.base_label_en or "amount"
    if above:
        return AmountOutOfTable(
            f"{label_zh} {_money_zh(amount)} 超出本收费标准表的范围（最高 {_money_zh(limit)}）；"
            "更高金额的收费未在此收录，不作推算，请按原文件或与服务机构协商确定。",
            f"The {label_en.lower()} of {_money_en(amount)} is beyond this fee table, which ends "
            f"at {_money_en(limit)}; fees above it are not reproduced here and are never "
            "extrapolated — consult the published document.",
            code="amount_above_table")
    return AmountOutOfTable(
        f"{label_zh} {_money_zh(amount)} 低于本收费标准表的最低点 {_money_zh(limit)}，不作推算。",
        f"The {label_en.lower()} of {_money_en(amount)} is below the first point of this fee "
        f"table ({_money_en(limit)}); fees are never extrapolated.",
        code="amount_below_table")


def _resolve_coefficients(rule: Rule, chosen: Mapping[str, Any] | None
                          ) -> list[tuple[Coefficient, Option]]:
    chosen = dict(chosen or {})
    known = {c.code for c in rule.coefficients}
    for name in chosen:
        if name not in known:
            if rule.coefficients:
                names_zh = "、".join(f"{c.name_zh}（{c.code}）" for c in rule.coefficients)
                names_en = ", ".join(f"{c.name_en} ({c.code})" for c in rule.coefficients)
                zh, en = f"可用的系数：{names_zh}。", f"Available: {names_en}."
            else:
                zh, en = "本收费标准没有调整系数。", "This fee standard has no coefficients."
            raise UnknownCoefficient(f"调整系数“{str(name)[:40]}”不存在。{zh}",
                                     f"Unknown adjustment coefficient “{str(name)[:40]}”. {en}",
                                     code="unknown_coefficient", field=f"coef_{str(name)[:40]}")
    out = []
    for coef in rule.coefficients:
        code = chosen.get(coef.code)
        if code in (None, ""):
            code = coef.default
        option = coef.option(code) if isinstance(code, str) else None
        if option is None:
            opts_zh = "、".join(f"{o.name_zh}（{o.code}）" for o in coef.options)
            opts_en = ", ".join(f"{o.name_en} ({o.code})" for o in coef.options)
            raise UnknownCoefficient(
                f"“{coef.name_zh}”没有选项“{str(code)[:40]}”，可选：{opts_zh}。",
                f"“{coef.name_en}” has no option “{str(code)[:40]}”; choose one of: {opts_en}.",
                code="unknown_coefficient_option", field=f"coef_{coef.code}")
        out.append((coef, option))
    return out


def calculate(rule: Rule | Mapping[str, Any], amount: Any = None, category: str | None = None,
              coefficients: Mapping[str, Any] | None = None) -> FeeResult:
    """Price ``amount`` (yuan: Decimal, int or str — never float) under ``rule`` (a compiled
    ``Rule`` or a definition dict) for ``category`` with ``coefficients`` (code → option
    code; missing ones take their default). Returns a ``FeeResult``; raises ``FeeError``."""
    if not isinstance(rule, Rule):
        rule = compile_rule(rule)
    cat = rule.category(category)
    chosen = _resolve_coefficients(rule, coefficients)
    warnings: list[dict[str, str]] = []
    display = rule.display

    if rule.needs_amount:
        amt = parse_amount(amount)
    else:
        amt = None
        if amount not in (None, ""):
            amt = parse_amount(amount)
            warnings.append({"code": "amount_ignored",
                             "message": "本收费标准按项目定额收费，与金额无关。",
                             "message_en": "This is a fixed fee per project; the amount does "
                                           "not change it."})

    steps: list[Step] = []
    method = rule.method
    if method == "cumulative":
        if amt > cat.brackets[-1].upper:
            raise _out_of_table(amt, cat.brackets[-1].upper, rule, above=True)
        total = ZERO
        for b in cat.brackets:
            if amt <= b.lower:
                break
            top = min(b.upper, amt)
            slice_ = top - b.lower
            fee = (slice_ * b.rate_pct / HUNDRED).quantize(FEN, rounding=ROUND_HALF_UP)
            total += fee
            steps.append(Step("slice", fee, slice_, b.rate_pct, None, b.lower, b.upper,
                              (), display))
        base_fee = total
    elif method == "interpolation":
        pts = cat.points
        if amt < pts[0].amount:
            raise _out_of_table(amt, pts[0].amount, rule, above=False)
        if amt > pts[-1].amount:
            raise _out_of_table(amt, pts[-1].amount, rule, above=True)
        lo = hi = None
        for p in pts:
            if p.amount == amt:
                lo = hi = p
                break
        if lo is None:
            for a, b in pairwise(pts):
                if a.amount < amt < b.amount:
                    lo, hi = a, b
                    break
        if lo is hi:
            base_fee = q(lo.fee)
            steps.append(Step("point", base_fee, lo.amount, display=display))
        else:
            base_fee = q(lo.fee + (hi.fee - lo.fee) * (amt - lo.amount) / (hi.amount - lo.amount))
            steps.append(Step("interpolation", base_fee, amt, None, None, lo.amount, hi.amount,
                              (lo.fee, hi.fee), display))
    elif method == "percentage":
        base_fee = q(amt * cat.rate_pct / HUNDRED)
        steps.append(Step("percentage", base_fee, amt, cat.rate_pct, display=display))
        if cat.minimum is not None and base_fee < cat.minimum:
            base_fee = q(cat.minimum)
            steps.append(Step("minimum", base_fee))
            warnings.append({"code": "minimum_applied", "message": "已按最低收费计。",
                             "message_en": "The minimum fee applies."})
        if cat.maximum is not None and base_fee > cat.maximum:
            base_fee = q(cat.maximum)
            steps.append(Step("maximum", base_fee))
            warnings.append({"code": "maximum_applied", "message": "已按最高收费计。",
                             "message_en": "The maximum fee applies."})
    else:
        base_fee = q(cat.fee)
        steps.append(Step("fixed", base_fee))

    fee = base_fee
    echoed: dict[str, str] = {}
    for coef, option in chosen:
        echoed[coef.code] = option.code
        before = fee
        fee = (fee * option.factor).quantize(FEN, rounding=ROUND_HALF_UP)
        steps.append(Step("coefficient", fee, before, None, option.factor, None, None,
                          (coef.name_zh, coef.name_en, option.name_zh, option.name_en)))

    uncapped = fee
    cap = category_cap = rule.cap_for(cat)
    cap_applied = cap is not None and fee > cap
    if cap_applied:
        fee = q(cap)
        steps.append(Step("cap", fee, uncapped))
        warnings.append({"code": "cap_applied",
                         "message": f"已按每项目最高收费限额 {_money_zh(cap)} 封顶。",
                         "message_en": f"Capped at the maximum per project ({_money_en(cap)})."})
    standard = fee
    floor = ceiling = standard
    if rule.has_float:
        floor = q(standard * (HUNDRED - rule.float_down_pct) / HUNDRED)
        ceiling = q(standard * (HUNDRED + rule.float_up_pct) / HUNDRED)
        steps.append(Step("float_floor", floor, standard, rule.float_down_pct))
        steps.append(Step("float_ceiling", ceiling, standard, rule.float_up_pct))
        if category_cap is not None and ceiling > category_cap:
            before = ceiling
            ceiling = q(category_cap)
            steps.append(Step("ceiling_cap", ceiling, before))
            if not cap_applied:
                warnings.append({"code": "ceiling_capped",
                                 "message": f"上浮后的上限已按每项目最高收费限额 {_money_zh(cap)} 封顶。",
                                 "message_en": "The floated ceiling is capped at the maximum per "
                                               f"project ({_money_en(cap)})."})
    return FeeResult(
        method=method, amount=amt, category=cat.code, category_name=cat.name_zh,
        category_name_en=cat.name_en, coefficients=echoed, base_fee=base_fee,
        uncapped_fee=uncapped, standard_fee=standard, floor=floor, ceiling=ceiling, cap=cap,
        cap_applied=cap_applied, float_down_pct=rule.float_down_pct,
        float_up_pct=rule.float_up_pct, steps=tuple(steps), warnings=tuple(warnings),
        base_label=rule.base_label_zh, base_label_en=rule.base_label_en)
