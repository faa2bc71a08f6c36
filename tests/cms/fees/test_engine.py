"""The pure-Python fee engine: every rule type, boundaries, rounding, errors, the validator.
No database needed."""

import copy
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from cms.fees import engine
from cms.fees.demo import RULES
from cms.fees.engine import (
    AmountOutOfTable,
    FeeError,
    InvalidAmount,
    InvalidRule,
    UnknownCategory,
    UnknownCoefficient,
    calculate,
    compile_rule,
    parse_amount,
    validate_definition,
)

D = Decimal
WAN = D(10000)
DEMO = {r["code"]: r["definition"] for r in RULES}
ZBDL = compile_rule(DEMO["zbdl-1980"])


def wan(x) -> Decimal:
    return D(str(x)) * WAN


def fee(amount, category, **coefs):
    return calculate(ZBDL, amount, category, coefs or None)


# ------------------------------------------------------------------ purity
def test_engine_imports_without_django():
    root = Path(__file__).resolve().parents[3]
    code = (
        "import sys\n"
        "import cms.fees.engine as m\n"
        "assert not any(k == 'django' or k.startswith('django.') for k in sys.modules), "
        "sorted(k for k in sys.modules if k.startswith('django'))\n"
        "r = m.calculate({'version': 1, 'method': 'fixed', 'categories': "
        "[{'code': 'a', 'name_zh': '甲', 'name_en': 'A', 'fee': '100'}]})\n"
        "print(r.standard_fee)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=root, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "100.00"


def test_engine_source_has_no_django_import():
    text = Path(engine.__file__).read_text(encoding="utf-8")
    assert "import django" not in text and "from django" not in text


# ---------------------------------------------------- zbdl-1980 by hand
def test_zbdl_works_800_wan_by_hand():
    # 100万×1.0% + 400万×0.7% + 300万×0.55% = 1万 + 2.8万 + 1.65万 = 5.45万元
    r = fee(wan(800), "works")
    assert r.standard_fee == D("54500.00")
    assert [s.value for s in r.steps if s.kind == "slice"] == [D("10000.00"), D("28000.00"),
                                                                D("16500.00")]
    assert [s.base for s in r.steps if s.kind == "slice"] == [wan(100), wan(400), wan(300)]
    # float ±20%
    assert r.floor == D("43600.00")
    assert r.ceiling == D("65400.00")
    assert not r.cap_applied
    assert r.cap == wan(450)
    assert r.coefficients == {"scope": "full"}
    assert "5.45" == r.standard_fee_wan


def test_zbdl_goods_and_services_by_hand():
    # goods 2,000万: 100×1.5% + 400×1.1% + 500×0.8% + 1000×0.5% = 1.5+4.4+4+5 = 14.9万
    assert fee(wan(2000), "goods").standard_fee == D("149000.00")
    # services 2,000万: 100×1.5% + 400×0.8% + 500×0.45% + 1000×0.25% = 1.5+3.2+2.25+2.5 = 9.45万
    assert fee(wan(2000), "services").standard_fee == D("94500.00")


@pytest.mark.parametrize("category,expected", [
    ("works", D("10000.00")), ("goods", D("15000.00")), ("services", D("15000.00"))])
def test_zbdl_boundary_100_wan_is_first_bracket_only(category, expected):
    r = fee(wan(100), category)
    assert r.standard_fee == expected
    assert len([s for s in r.steps if s.kind == "slice"]) == 1


def test_zbdl_boundary_500_wan_and_just_above():
    r = fee(wan(500), "works")  # 1万 + 400万×0.7% = 3.8万
    assert r.standard_fee == D("38000.00")
    assert len([s for s in r.steps if s.kind == "slice"]) == 2
    r = fee(wan(500) + D("0.01"), "works")  # one fen more: a third slice of 0.01 × 0.55%
    assert len([s for s in r.steps if s.kind == "slice"]) == 3
    assert r.standard_fee == D("38000.00")  # 0.000055 yuan rounds to 0.00


def test_zbdl_table_end_is_inclusive_and_beyond_is_an_error():
    # works at 10,000万: 1 + 2.8 + 2.75 + 14 + 10 = 30.55万元
    assert fee(wan(10000), "works").standard_fee == D("305500.00")
    with pytest.raises(AmountOutOfTable) as exc:
        fee(wan(10000) + D("0.01"), "works")
    assert exc.value.code == "amount_above_table"
    assert exc.value.field == "amount"
    assert "10,000万元" in exc.value.message and "不作推算" in exc.value.message
    assert "never extrapolated" in exc.value.message_en
    with pytest.raises(AmountOutOfTable):
        fee(wan(20000), "goods")


def test_zbdl_scope_drafting_documents_is_30_percent():
    r = fee(wan(800), "works", scope="docs")
    assert r.standard_fee == D("16350.00")  # 54,500 × 0.3
    step = next(s for s in r.steps if s.kind == "coefficient")
    assert step.factor == D("0.3") and step.base == D("54500.00")
    assert "仅编制招标文件" in step.description
    assert r.ceiling == D("19620.00") and r.floor == D("13080.00")


def test_zbdl_caps_per_category():
    assert ZBDL.category("works").cap == wan(450)
    assert ZBDL.category("goods").cap == wan(350)
    assert ZBDL.category("services").cap == wan(300)


def test_zbdl_requires_a_category():
    with pytest.raises(UnknownCategory) as exc:
        calculate(ZBDL, wan(800))
    assert exc.value.code == "category_required"
    with pytest.raises(UnknownCategory) as exc:
        calculate(ZBDL, wan(800), "consulting")
    assert exc.value.code == "unknown_category"
    assert "货物招标" in exc.value.message and "Goods" in exc.value.message_en


# ------------------------------------------------------------ the cap bites
def _capped_rule(**extra):
    d = copy.deepcopy(DEMO["zbdl-1980"])
    d["categories"][2]["cap"] = "200000"  # a lower maximum so that it bites inside the table
    d.update(extra)
    return compile_rule(d)


def test_cap_bites_and_is_shown():
    rule = _capped_rule()
    r = calculate(rule, wan(10000), "works")  # 30.55万 uncapped
    assert r.uncapped_fee == D("305500.00")
    assert r.standard_fee == D("200000.00")
    assert r.cap_applied
    cap_steps = [s for s in r.steps if s.kind == "cap"]
    assert len(cap_steps) == 1 and cap_steps[0].value == D("200000.00")
    assert r.ceiling == D("200000.00")  # the float cannot lift the fee above the maximum
    assert r.floor == D("160000.00")
    assert {w["code"] for w in r.warnings} == {"cap_applied"}


def test_cap_limits_only_the_ceiling_when_standard_is_below():
    rule = _capped_rule()
    # 4,000万 works: 1 + 2.8 + 2.75 + 3000×0.35% = 17.05万; × 1.2 = 20.46万 > 20万
    r = calculate(rule, wan(4000), "works")
    assert r.standard_fee == D("170500.00") and not r.cap_applied
    assert r.ceiling == D("200000.00")
    assert [s.kind for s in r.steps][-1] == "ceiling_cap"
    assert {w["code"] for w in r.warnings} == {"ceiling_capped"}


def test_cap_applies_after_coefficients():
    r = calculate(_capped_rule(), wan(10000), "works", {"scope": "docs"})
    assert r.standard_fee == D("91650.00")  # 305,500 × 0.3, below the cap
    assert not r.cap_applied


def test_illustrative_safety_rule_cap_bites():
    rule = compile_rule(DEMO["safety-assess-interp"])
    r = calculate(rule, wan(500000), "pre", {"complexity": "complex"})
    assert r.uncapped_fee == D("520000.00")  # 40万 × 1.3
    assert r.standard_fee == D("450000.00") and r.cap_applied


# ------------------------------------------------------------- interpolation
def test_interpolation_between_points_by_hand():
    rule = compile_rule(DEMO["eia-interp"])
    # between 3,000万 (6万) and 20,000万 (12万): 6 + 6 × (8000-3000)/(17000) = 7.7647058…万
    r = calculate(rule, wan(8000), "report")
    assert r.standard_fee == D("77647.06")
    assert r.steps[0].kind == "interpolation"
    assert r.steps[0].lower == wan(3000) and r.steps[0].upper == wan(20000)


def test_interpolation_at_points_and_ends():
    rule = compile_rule(DEMO["eia-interp"])
    assert calculate(rule, wan(3000)).standard_fee == D("60000.00")  # first point, default cat
    assert calculate(rule, wan(20000)).steps[0].kind == "point"
    assert calculate(rule, wan(500000)).standard_fee == D("450000.00")  # last point
    with pytest.raises(AmountOutOfTable) as exc:
        calculate(rule, wan(3000) - D("0.01"))
    assert exc.value.code == "amount_below_table"
    with pytest.raises(AmountOutOfTable) as exc:
        calculate(rule, wan(500000) + D("0.01"))
    assert exc.value.code == "amount_above_table"


def test_interpolation_coefficients_multiply_in_order_and_show():
    rule = compile_rule(DEMO["eia-interp"])
    r = calculate(rule, wan(20000), "report", {"industry": "complex", "sensitivity": "special"})
    # 12万 × 1.3 = 15.6万; × 1.5 = 23.4万
    coef = [s for s in r.steps if s.kind == "coefficient"]
    assert [s.value for s in coef] == [D("156000.00"), D("234000.00")]
    assert r.standard_fee == D("234000.00")
    assert r.ceiling == D("280800.00") and r.floor == D("187200.00")
    assert r.coefficients == {"industry": "complex", "sensitivity": "special"}


# ------------------------------------------------------------- percentage
def test_percentage_with_minimum_and_maximum():
    rule = compile_rule(DEMO["cost-consult-pct"])
    assert calculate(rule, wan(1000), "estimate").standard_fee == D("10000.00")  # 0.1%
    r = calculate(rule, wan(100), "estimate")  # 1,000 < minimum 5,000
    assert r.standard_fee == D("5000.00") and r.steps[-1].kind == "minimum"
    r = calculate(rule, wan(100000), "estimate")  # 100万 > maximum 50万
    assert r.standard_fee == D("500000.00") and r.steps[-1].kind == "maximum"
    assert calculate(rule, wan(1000), "settlement").standard_fee == D("50000.00")


def test_percentage_rounding_half_up():
    rule = compile_rule(DEMO["lightning-pct"])
    # 125,000.42 × 1.2% = 1,500.00504 → 1,500.01? no: 1500.00504 rounds to 1500.01 only if ≥ .005
    r = calculate(rule, D("125000.42"))
    assert r.standard_fee == D("1500.01")
    r = calculate(rule, D("125000.37"))  # 1,500.00444 → 1,500.00
    assert r.standard_fee == D("1500.00")
    # exact half: 0.125 → 0.13 (not banker's 0.12)
    half = compile_rule({"version": 1, "method": "percentage",
                         "base": {"label_zh": "金额", "label_en": "Amount"},
                         "categories": [{"code": "a", "name_zh": "甲", "name_en": "A",
                                         "rate_pct": "50"}]})
    assert calculate(half, D("0.25")).standard_fee == D("0.13")
    assert calculate(half, D("0.05")).standard_fee == D("0.03")


def test_percentage_minimum_for_lightning():
    rule = compile_rule(DEMO["lightning-pct"])
    r = calculate(rule, D("50000"))  # 600 < 1,500
    assert r.standard_fee == D("1500.00")
    assert [w["code"] for w in r.warnings] == ["minimum_applied"]


# ------------------------------------------------------------------ fixed
def test_fixed_with_region_coefficient():
    rule = compile_rule(DEMO["survey-fixed"])
    assert calculate(rule).standard_fee == D("8000.00")
    assert calculate(rule, None, None, {"region": "mountain"}).standard_fee == D("12000.00")
    r = calculate(rule, "123")
    assert r.standard_fee == D("8000.00")
    assert [w["code"] for w in r.warnings] == ["amount_ignored"]


def test_fixed_categories_and_float():
    rule = compile_rule(DEMO["energy-fixed"])
    r = calculate(rule, None, "form")
    assert (r.standard_fee, r.floor, r.ceiling) == (D("12000.00"), D("10800.00"), D("13200.00"))
    assert calculate(rule).standard_fee == D("30000.00")  # default category: report


# ------------------------------------------------------------- cumulative
def test_water_and_land_cumulative_by_hand():
    water = compile_rule(DEMO["water-sb-cumulative"])
    # 1000×0.5% + 4000×0.3% + 3000×0.15% = 5 + 12 + 4.5 = 21.5万
    assert calculate(water, wan(8000)).standard_fee == D("215000.00")
    land = compile_rule(DEMO["land-appraisal-cumulative"])
    # 100×0.4% + 50×0.3% = 0.4 + 0.15 = 0.55万
    assert calculate(land, wan(150)).standard_fee == D("5500.00")


def test_cumulative_fractional_slices_round_each_slice():
    # 1,234,567.89 works: 1,000,000×1.0% = 10,000; 234,567.89×0.7% = 1,641.97523 → 1,641.98
    r = fee(D("1234567.89"), "works")
    assert [s.value for s in r.steps if s.kind == "slice"] == [D("10000.00"), D("1641.98")]
    assert r.standard_fee == D("11641.98")


def test_breakdown_always_adds_up():
    for amount in (D("1.00"), D("999999.99"), D("1234567.89"), wan(777), wan(9999)):
        for cat in ("goods", "services", "works"):
            r = fee(amount, cat)
            assert sum(s.value for s in r.steps if s.kind == "slice") == r.base_fee


# ------------------------------------------------------- property-style checks
def _amounts(limit_wan: int, n: int = 400):
    step = D(limit_wan) * WAN / n
    return [(step * i + D("0.37") * (i % 7)).quantize(D("0.01")) for i in range(1, n + 1)
            if step * i + D("0.37") * (i % 7) <= D(limit_wan) * WAN]


@pytest.mark.parametrize("code,category", [
    ("zbdl-1980", "goods"), ("zbdl-1980", "services"), ("zbdl-1980", "works"),
    ("water-sb-cumulative", None), ("land-appraisal-cumulative", None)])
def test_cumulative_fee_is_monotonic_and_bounded(code, category):
    rule = compile_rule(DEMO[code])
    limit = rule.category(category).table_max / WAN
    previous = D(0)
    max_rate = max(b.rate_pct for b in rule.category(category).brackets) / 100
    for amount in _amounts(int(limit)):
        r = calculate(rule, amount, category)
        assert r.standard_fee >= previous, amount
        assert r.standard_fee <= (amount * max_rate).quantize(D("0.01")) + D("0.05")
        assert r.floor <= r.standard_fee <= r.ceiling
        previous = r.standard_fee


@pytest.mark.parametrize("code", ["eia-interp", "safety-assess-interp"])
def test_interpolation_stays_between_neighbouring_points(code):
    rule = compile_rule(DEMO[code])
    for cat in rule.categories:
        for a, b in zip(cat.points, cat.points[1:]):
            n = 50
            for i in range(n + 1):
                amount = (a.amount + (b.amount - a.amount) * i / n).quantize(D("0.01"))
                r = calculate(rule, amount, cat.code)
                lo, hi = sorted((a.fee, b.fee))
                assert lo <= r.base_fee <= hi


def test_float_floor_and_ceiling_bracket_standard_everywhere():
    rule = compile_rule(DEMO["eia-interp"])
    for amount in _amounts(500000, 200):
        if amount < wan(3000):
            continue
        r = calculate(rule, amount)
        assert r.floor == (r.standard_fee * D("0.8")).quantize(D("0.01"))
        assert r.ceiling == (r.standard_fee * D("1.2")).quantize(D("0.01"))


# ------------------------------------------------------------------ amounts
@pytest.mark.parametrize("raw,code", [
    ("", "amount_required"), ("   ", "amount_required"), (None, "amount_required"),
    ("abc", "amount_not_numeric"), ("1e5", "amount_not_numeric"), ("12.3.4", "amount_not_numeric"),
    ("-5", "amount_negative"), (D("-1"), "amount_negative"), (-3, "amount_negative"),
    ("0", "amount_zero"), ("0.00", "amount_zero"),
    ("NaN", "amount_not_finite"), ("Infinity", "amount_not_finite"), ("-inf", "amount_not_finite"),
    (D("NaN"), "amount_not_finite"), (D("Infinity"), "amount_not_finite"),
    ("1.234", "amount_too_many_decimals"), ("99999999999999", "amount_too_many_digits"),
    ("1" * 50, "amount_too_many_digits"),
    (1.5, "amount_float"), (True, "amount_float"),
])
def test_parse_amount_rejects(raw, code):
    with pytest.raises(InvalidAmount) as exc:
        parse_amount(raw)
    assert exc.value.code == code
    assert exc.value.message and exc.value.message_en and exc.value.field == "amount"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)


def test_parse_amount_accepts():
    assert parse_amount("8000000") == D("8000000.00")
    assert parse_amount(" 8,000,000.5 ") == D("8000000.50")
    assert parse_amount(8000000) == D("8000000.00")
    assert parse_amount(D("1.10")) == D("1.10")
    assert parse_amount("800", unit="wan") == D("8000000.00")
    assert parse_amount("0.000001", unit="wan") == D("0.01")
    assert parse_amount("9999999999999.99") == D("9999999999999.99")
    with pytest.raises(InvalidAmount):
        parse_amount("0.0000001", unit="wan")  # a tenth of a fen
    with pytest.raises(InvalidAmount) as exc:
        parse_amount("1", unit="euro")
    assert exc.value.field == "unit"


def test_calculate_refuses_float_amounts():
    with pytest.raises(InvalidAmount) as exc:
        fee(8000000.0, "works")
    assert exc.value.code == "amount_float"


# ------------------------------------------------------------- coefficients
def test_unknown_coefficient_and_option():
    with pytest.raises(UnknownCoefficient) as exc:
        fee(wan(800), "works", region="hilly")
    assert exc.value.code == "unknown_coefficient" and exc.value.field == "coef_region"
    with pytest.raises(UnknownCoefficient) as exc:
        fee(wan(800), "works", scope="half")
    assert exc.value.code == "unknown_coefficient_option" and exc.value.field == "coef_scope"
    assert "全过程招标代理" in exc.value.message


# -------------------------------------------------------------- the result
def test_result_as_dict_is_json_with_decimal_strings():
    d = fee(wan(800), "works").as_dict()
    text = json.dumps(d, ensure_ascii=False)
    assert d["standard_fee"] == "54500.00" and d["floor"] == "43600.00"
    assert d["inputs"] == {"amount": "8000000.00", "amount_wan": "800", "category": "works",
                           "coefficients": {"scope": "full"}}
    assert d["breakdown"][0]["kind"] == "slice" and d["breakdown"][0]["rate_pct"] == "1"
    assert "工程招标" in text
    assert all(isinstance(s["value"], str) for s in d["breakdown"])


def test_errors_share_one_hierarchy():
    for cls in (InvalidAmount, AmountOutOfTable, UnknownCategory, UnknownCoefficient, InvalidRule,
                engine.UnknownRule, engine.PriceAboveCeiling):
        assert issubclass(cls, FeeError)


# --------------------------------------------------------------- validator
def test_all_demo_definitions_are_valid_and_json():
    for code, d in DEMO.items():
        validate_definition(d)
        assert json.loads(json.dumps(d)) == d, code


def _broken(mutate, base="zbdl-1980"):
    d = copy.deepcopy(DEMO[base])
    mutate(d)
    with pytest.raises(InvalidRule) as exc:
        validate_definition(d)
    return exc.value


def test_validator_brackets_contiguous_and_increasing():
    e = _broken(lambda d: d["categories"][0]["brackets"][2].update({"from": "5000001"}))
    assert e.field == "categories[0].brackets[2].from" and "contiguous" in e.message_en
    assert "连续" in e.message
    e = _broken(lambda d: d["categories"][1]["brackets"][1].update({"to": "500000"}))
    assert e.field == "categories[1].brackets[1].to" and "increase" in e.message_en
    e = _broken(lambda d: d["categories"][0]["brackets"][0].update({"from": "1"}))
    assert "start at 0" in e.message_en


def test_validator_rates_and_numbers():
    e = _broken(lambda d: d["categories"][0]["brackets"][0].update({"rate_pct": "-1"}))
    assert e.field.endswith("rate_pct") and "negative" in e.message_en
    e = _broken(lambda d: d["categories"][0]["brackets"][0].update({"rate_pct": 1.5}))
    assert "float" in e.message_en
    e = _broken(lambda d: d["categories"][0]["brackets"][0].update({"rate_pct": "150"}))
    assert "100" in e.message_en
    e = _broken(lambda d: d["categories"][0].update({"cap": "0"}))
    assert e.field == "categories[0].cap"


def test_validator_points_strictly_increasing():
    e = _broken(lambda d: d["categories"][0]["points"][2].update({"amount": "200000000"}),
                base="eia-interp")
    assert e.field == "categories[0].points[2].amount" and "strictly increasing" in e.message_en
    e = _broken(lambda d: d["categories"][0].update({"points": d["categories"][0]["points"][:1]}),
                base="eia-interp")
    assert "at least 2" in e.message_en


def test_validator_structure():
    assert _broken(lambda d: d.update({"version": 2})).field == "version"
    assert _broken(lambda d: d.update({"method": "magic"})).field == "method"
    assert "unknown key" in _broken(lambda d: d.update({"caps": "1"})).message_en
    assert _broken(lambda d: d["categories"].append(dict(d["categories"][0]))).field == \
        "categories[3].code"
    assert _broken(lambda d: d.update({"default_category": "nope"})).field == "default_category"
    assert _broken(lambda d: d["coefficients"][0].update({"default": "x"})).field == \
        "coefficients[0].default"
    assert _broken(lambda d: d["coefficients"][0]["options"][1].update({"factor": "0"})).field \
        == "coefficients[0].options[1].factor"
    assert _broken(lambda d: d.update({"float": {"down_pct": "100"}})).field == "float.down_pct"
    assert _broken(lambda d: d.pop("base")).field == "base"
    assert _broken(lambda d: d["categories"][0].update({"rate_pct": "1"})).field == "categories[0]"
    assert _broken(lambda d: d["categories"][0].update({"minimum": "100", "maximum": "50"}),
                   base="cost-consult-pct").field == "categories[0].maximum"
    assert _broken(lambda d: d.update({"categories": []})).field == "definition.categories"
    with pytest.raises(InvalidRule):
        validate_definition("not a dict")
    with pytest.raises(InvalidRule):
        validate_definition({"version": True, "method": "fixed"})
