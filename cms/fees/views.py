"""Fee standards: the JSON API (/api/fees/…) and the public pages (/fees/…). Thin: read the
query, call ``cms.fees.api``, render. Bad input is a 400 with the message in Chinese and English,
never a 500."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from . import api, engine
from .models import FeeRule

#: JSON answers do not depend on the language (they carry both), so shared caches may keep them.
API_MAX_AGE = 300
#: HTML pages carry the language switch's CSRF token, so only the browser may keep them.
PAGE_MAX_AGE = 60


# ------------------------------------------------------------------------------ input
def read_query(query) -> dict[str, Any]:
    """The calculator's query parameters, as typed: ``rule``, ``category``, ``amount``,
    ``unit`` (yuan | wan) and ``coef_<code>=<option>``."""
    return {
        "rule": (query.get("rule") or "").strip(),
        "category": (query.get("category") or "").strip() or None,
        "amount": (query.get("amount") or "").strip(),
        "unit": (query.get("unit") or "yuan").strip(),
        "coefficients": {k[5:]: v.strip() for k, v in query.items()
                         if k.startswith("coef_") and v.strip()},
    }


def compute(rule: FeeRule, values: dict[str, Any]) -> engine.FeeResult:
    """Validate ``values`` (from ``read_query``) and price them; raises ``FeeError``."""
    compiled = rule.compiled
    # category and coefficients first: their errors name the choices, the amount's don't
    compiled.category(values["category"])
    amount = None
    if compiled.needs_amount or values["amount"]:
        amount = engine.parse_amount(values["amount"], values["unit"])
    return api.calculate(rule, amount, category=values["category"],
                         coefficients=values["coefficients"])


# ------------------------------------------------------------------------- serialising
def rule_as_dict(rule: FeeRule, request: HttpRequest | None = None) -> dict[str, Any]:
    c = rule.compiled
    categories = []
    for cat in c.categories:
        entry: dict[str, Any] = {"code": cat.code, "name": cat.name_zh, "name_en": cat.name_en}
        if c.method == "cumulative":
            entry["brackets"] = [{"from": str(b.lower), "to": str(b.upper),
                                  "rate_pct": f"{b.rate_pct.normalize():f}"} for b in cat.brackets]
        elif c.method == "interpolation":
            entry["points"] = [{"amount": str(p.amount), "fee": str(p.fee)} for p in cat.points]
        elif c.method == "percentage":
            entry["rate_pct"] = f"{cat.rate_pct.normalize():f}"
            entry["minimum"] = None if cat.minimum is None else str(cat.minimum)
            entry["maximum"] = None if cat.maximum is None else str(cat.maximum)
        else:
            entry["fee"] = str(cat.fee)
        cap = c.cap_for(cat)
        entry["cap"] = None if cap is None else str(cap)
        entry["table_max"] = None if cat.table_max is None else str(cat.table_max)
        entry["table_min"] = None if cat.table_min is None else str(cat.table_min)
        categories.append(entry)
    return {
        "code": rule.code,
        "name": rule.name,
        "basis": rule.basis,
        "illustrative": rule.illustrative,
        "source_note": rule.source_note,
        "method": c.method,
        "base": None if not c.needs_amount else {
            "label": c.base_label_zh, "label_en": c.base_label_en, "unit": "yuan",
            "display": c.display},
        "categories": categories,
        "default_category": c.default_category,
        "coefficients": [
            {"code": co.code, "name": co.name_zh, "name_en": co.name_en, "default": co.default,
             "options": [{"code": o.code, "name": o.name_zh, "name_en": o.name_en,
                          "factor": f"{o.factor.normalize():f}"} for o in co.options]}
            for co in c.coefficients],
        "float": {"down_pct": f"{c.float_down_pct.normalize():f}",
                  "up_pct": f"{c.float_up_pct.normalize():f}"},
        "updated_at": rule.updated_at.isoformat() if rule.updated_at else None,
    }


def _json(data: Any, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 200:
        patch_cache_control(response, public=True, max_age=API_MAX_AGE)
    else:
        patch_cache_control(response, no_store=True)
    return response


def _json_error(exc: engine.FeeError, status: int = 400) -> JsonResponse:
    return _json({"error": {"code": exc.code, "message": exc.message,
                            "message_en": exc.message_en, "field": exc.field}}, status=status)


# ------------------------------------------------------------------------------- API
@require_safe
def api_calculate(request: HttpRequest) -> JsonResponse:
    """GET /api/fees/calculate/?rule=&category=&amount=&unit=&coef_<code>=<option>
    Queries: 1 (the FeeRule by code)."""
    values = read_query(request.GET)
    try:
        rule = api.get_rule(values["rule"])
        result = compute(rule, values)
    except engine.FeeError as exc:
        return _json_error(exc)
    return _json({"rule": {"code": rule.code, "name": rule.name, "basis": rule.basis,
                           "illustrative": rule.illustrative},
                  "result": result.as_dict()})


@require_safe
def api_rules(request: HttpRequest) -> JsonResponse:
    """GET /api/fees/rules/ — every fee standard. Queries: 1 (all FeeRules)."""
    out = []
    for rule in FeeRule.objects.all():
        try:
            out.append(rule_as_dict(rule))
        except engine.InvalidRule as exc:  # saved around FeeRule.save(): never a 500
            out.append({"code": rule.code, "name": rule.name, "error": exc.as_dict()})
    return _json({"rules": out})


@require_safe
def api_rule(request: HttpRequest, code: str) -> JsonResponse:
    """GET /api/fees/rules/<code>/ — 404 JSON when unknown. Queries: 1."""
    try:
        rule = api.get_rule(code)
        return _json(rule_as_dict(rule))
    except (engine.UnknownRule, engine.InvalidRule) as exc:
        return _json_error(exc, status=404)


# ------------------------------------------------------------------------------ pages
def _page(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    if status == 200:
        patch_cache_control(response, private=True, max_age=PAGE_MAX_AGE)
    else:
        patch_cache_control(response, no_store=True)
    patch_vary_headers(response, ("Cookie",))  # the language comes from the switch cookie
    return response


def _get_rule_or_404(code: str) -> FeeRule:
    """The rule, compiled; 404 when unknown or when its stored definition cannot be priced
    (only possible if it was written around FeeRule.save())."""
    try:
        rule = FeeRule.objects.get(code=code)
        rule.compiled  # noqa: B018
    except (FeeRule.DoesNotExist, engine.InvalidRule):
        raise Http404(code) from None
    return rule


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """/fees/ — all fee standards. Queries: 1."""
    return _page(request, "fees/index.html", {"rules": list(FeeRule.objects.all())})


@require_safe
def detail(request: HttpRequest, code: str) -> HttpResponse:
    """/fees/<code>/ — the full table and the calculator. Queries: 1."""
    rule = _get_rule_or_404(code)
    category = request.GET.get("category") or None
    return _page(request, "fees/detail.html", {"rule": rule, "category": category})


@require_safe
def calculate(request: HttpRequest, code: str) -> HttpResponse:
    """/fees/<code>/calculate/?… — the calculator's result without JavaScript. Errors are
    shown in the form (400) with the inputs kept. Queries: 1."""
    rule = _get_rule_or_404(code)
    values = read_query(request.GET)
    values["rule"] = rule.code
    context: dict[str, Any] = {"rule": rule, "values": values, "category": values["category"]}
    try:
        context["result"] = compute(rule, values)
    except engine.FeeError as exc:
        context["error"] = exc
        return _page(request, "fees/calculate.html", context, status=400)
    return _page(request, "fees/calculate.html", context)
