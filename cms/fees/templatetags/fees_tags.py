"""Template helpers for fee standards: language-aware field picking, money formatting and the
calculator form's prepared context (so that ``fees/_calculator.html`` can be included with
just ``rule`` and an optional ``category``)."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.translation import get_language

from .. import engine

register = template.Library()


def _is_zh() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def localized(obj, attr: str):
    """``{{ cat|loc:"name" }}`` → ``name_zh`` (or ``name``) in Chinese, ``name_en`` in
    English; works on objects and dicts."""
    def get(name):
        if isinstance(obj, dict):
            return obj.get(name)
        return getattr(obj, name, None)

    if _is_zh():
        value = get(f"{attr}_zh")
        return value if value is not None else get(attr)
    value = get(f"{attr}_en")
    return value if value is not None else get(attr)


register.filter("loc", localized)


@register.filter
def yuan(value) -> str:
    if value in (None, ""):
        return ""
    return engine.format_yuan(Decimal(value))


@register.filter
def wan(value) -> str:
    if value in (None, ""):
        return ""
    return engine.format_wan(Decimal(value))


@register.filter
def factor(value) -> str:
    if value in (None, ""):
        return ""
    return f"{Decimal(value).normalize():f}"


@register.simple_tag
def fee_calculator_context(rule, category=None, values=None, error=None):
    """Everything the calculator form needs: field ids, choices with the selected one, the
    current values (kept after an error) and the error message for its field."""
    compiled = rule.compiled
    values = values if isinstance(values, dict) else {}
    coef_values = values.get("coefficients") or {}
    chosen_category = values.get("category") or category or compiled.default_category or (
        compiled.categories[0].code)
    prefix = f"fee-{rule.code}"
    err = None
    if isinstance(error, engine.FeeError):
        err = {"message": error.message if _is_zh() else error.message_en,
               "field": error.field, "code": error.code}
    field_err = (lambda name: err["message"] if err and err["field"] == name else "")
    form_fields = {"amount", "unit"} if compiled.needs_amount else set()
    if len(compiled.categories) > 1:
        form_fields.add("category")
    coefficients = []
    for coef in compiled.coefficients:
        selected = coef_values.get(coef.code) or coef.default
        coefficients.append({
            "code": coef.code,
            "field": f"coef_{coef.code}",
            "id": f"{prefix}-coef-{coef.code}",
            "name": localized(coef, "name"),
            "error": field_err(f"coef_{coef.code}"),
            "options": [{"code": o.code, "name": localized(o, "name"),
                         "factor": f"{o.factor.normalize():f}", "selected": o.code == selected}
                        for o in coef.options],
        })
    return {
        "rule": rule,
        "prefix": prefix,
        "action": reverse("fees:calculate", args=[rule.code]),
        "api": reverse("fees_api:calculate"),
        "needs_amount": compiled.needs_amount,
        "base_label": localized({"label_zh": compiled.base_label_zh,
                                 "label_en": compiled.base_label_en}, "label"),
        "amount": values.get("amount") or "",
        "unit": values.get("unit") or ("wan" if compiled.display == "wan" else "yuan"),
        "categories": [{"code": c.code, "name": localized(c, "name"),
                        "selected": c.code == chosen_category} for c in compiled.categories],
        "coefficients": coefficients,
        "error": err,
        "amount_error": (field_err("amount") or field_err("unit")) if compiled.needs_amount else "",
        "category_error": field_err("category") if "category" in form_fields else "",
        "other_error": err["message"] if err and err["field"] not in (
            form_fields | {c["field"] for c in coefficients}) else "",
    }


@register.simple_tag
def bracket_table(compiled):
    """Rows of a cumulative rule's table: ``{"shared": bool, "rows": [(lower, upper,
    [rate per category])]}`` when every category has the same brackets, else
    ``{"shared": False}`` (the template then shows one table per category)."""
    cats = compiled.categories
    bounds = [tuple((b.lower, b.upper) for b in c.brackets) for c in cats]
    if any(b != bounds[0] for b in bounds):
        return {"shared": False, "rows": []}
    rows = [(lo, up, [c.brackets[i].rate_pct for c in cats])
            for i, (lo, up) in enumerate(bounds[0])]
    return {"shared": True, "rows": rows}
