"""The Django side: FeeRule validation, the demo loader, cms.fees.api, the JSON API."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cms.fees import api
from cms.fees.demo import CODES, load_fee_rules
from cms.fees.models import FeeRule

pytestmark = pytest.mark.django_db

D = Decimal
CALC = "/api/fees/calculate/"


@pytest.fixture
def rules():
    return load_fee_rules()


# ------------------------------------------------------------------ model & demo
def test_demo_loader_is_idempotent_with_the_exact_codes(rules):
    assert set(rules) == {"zbdl-1980", "eia-interp", "cost-consult-pct", "survey-fixed",
                          "safety-assess-interp", "water-sb-cumulative", "energy-fixed",
                          "lightning-pct", "land-appraisal-cumulative"} == set(CODES)
    again = load_fee_rules()
    assert FeeRule.objects.count() == 9
    assert again["zbdl-1980"].pk == rules["zbdl-1980"].pk
    zbdl = rules["zbdl-1980"]
    assert not zbdl.illustrative and "1980" in zbdl.basis and "2015" in zbdl.source_note
    assert {c.code for c in zbdl.categories} == {"goods", "services", "works"}
    methods = {r.method for r in rules.values()}
    assert methods == {"cumulative", "interpolation", "percentage", "fixed"}
    for code, rule in rules.items():
        if code != "zbdl-1980":
            assert rule.illustrative and "示例" in rule.name and "示例" in rule.source_note
            assert "Illustrative" in rule.source_note


def test_invalid_definition_is_never_saved():
    bad = {"version": 1, "method": "cumulative", "base": {"label_zh": "金额", "label_en": "A"},
           "categories": [{"code": "a", "name_zh": "甲", "name_en": "A",
                           "brackets": [{"from": "0", "to": "100", "rate_pct": "1"},
                                        {"from": "200", "to": "300", "rate_pct": "1"}]}]}
    rule = FeeRule(code="bad", name="坏规则", basis="无", definition=bad)
    with pytest.raises(ValidationError) as exc:
        rule.full_clean()
    assert "definition" in exc.value.message_dict
    assert "连续" in exc.value.message_dict["definition"][0]
    with pytest.raises(ValidationError):
        rule.save()
    assert not FeeRule.objects.filter(code="bad").exists()


def test_compiled_follows_definition_changes(rules):
    rule = rules["survey-fixed"]
    assert rule.compiled.categories[0].fee == D("8000")
    rule.definition["categories"][0]["fee"] = "9000"
    assert rule.compiled.categories[0].fee == D("9000")


# ------------------------------------------------------------------ python api
def test_api_calculate_by_code_and_instance(rules):
    assert api.calculate("zbdl-1980", D("8000000"), category="works").standard_fee == D("54500.00")
    r = api.calculate(rules["zbdl-1980"], D("8000000"), category="works",
                      coefficients={"scope": "docs"})
    assert r.standard_fee == D("16350.00")
    with pytest.raises(api.UnknownRule):
        api.calculate("nope", D("1"))


def test_fee_ceiling_and_price_check(rules):
    assert api.fee_ceiling("zbdl-1980", D("8000000"), category="works") == D("65400.00")
    r = api.check_price_within_ceiling("zbdl-1980", D("8000000"), D("65400.00"), category="works")
    assert r.standard_fee == D("54500.00")
    with pytest.raises(api.PriceAboveCeiling) as exc:
        api.check_price_within_ceiling("zbdl-1980", D("8000000"), "65400.01", category="works")
    e = exc.value
    assert e.code == "price_above_ceiling" and e.price == D("65400.01")
    assert e.result.ceiling == D("65400.00")
    assert "65,400.00" in e.message and "100万元 × 1%" in e.message  # the computation is shown
    assert "exceeds the fee ceiling" in e.message_en
    assert e.as_dict()["ceiling"] == "65400.00"
    with pytest.raises(api.InvalidAmount) as exc:
        api.check_price_within_ceiling("zbdl-1980", D("8000000"), "-1", category="works")
    assert exc.value.field == "price"


# ------------------------------------------------------------------ JSON API
def test_calculate_endpoint_ok(client, rules, django_assert_num_queries):
    # 1 query: SELECT the FeeRule by code (no session, no user touched)
    with django_assert_num_queries(1):
        resp = client.get(CALC, {"rule": "zbdl-1980", "category": "works", "amount": "8000000",
                                 "coef_scope": "full"})
    assert resp.status_code == 200
    assert "public" in resp["Cache-Control"] and "max-age=300" in resp["Cache-Control"]
    data = resp.json()
    res = data["result"]
    assert res["standard_fee"] == "54500.00"
    assert (res["floor"], res["ceiling"]) == ("43600.00", "65400.00")
    assert res["inputs"]["amount"] == "8000000.00"
    assert [s["value"] for s in res["breakdown"] if s["kind"] == "slice"] == [
        "10000.00", "28000.00", "16500.00"]
    assert data["rule"] == {"code": "zbdl-1980", "name": "招标代理服务收费",
                            "basis": rules["zbdl-1980"].basis, "illustrative": False}


def test_calculate_endpoint_in_wan_and_fixed(client, rules):
    resp = client.get(CALC, {"rule": "zbdl-1980", "category": "works", "amount": "800",
                             "unit": "wan"})
    assert resp.json()["result"]["standard_fee"] == "54500.00"
    resp = client.get(CALC, {"rule": "survey-fixed", "coef_region": "hilly"})
    assert resp.status_code == 200 and resp.json()["result"]["standard_fee"] == "9600.00"


@pytest.mark.parametrize("params,code,field", [
    ({"amount": "-100"}, "amount_negative", "amount"),
    ({"amount": "abc"}, "amount_not_numeric", "amount"),
    ({"amount": ""}, "amount_required", "amount"),
    ({}, "amount_required", "amount"),
    ({"amount": "123456789012345678"}, "amount_too_many_digits", "amount"),
    ({"amount": "1" * 200}, "amount_too_many_digits", "amount"),
    ({"amount": "1.999"}, "amount_too_many_decimals", "amount"),
    ({"amount": "NaN"}, "amount_not_finite", "amount"),
    ({"amount": "Infinity"}, "amount_not_finite", "amount"),
    ({"amount": "0"}, "amount_zero", "amount"),
    ({"amount": "100000000.01"}, "amount_above_table", "amount"),
    ({"amount": "10001", "unit": "wan"}, "amount_above_table", "amount"),
    ({"amount": "800", "unit": "usd"}, "invalid_unit", "unit"),
    ({"amount": "8000000", "category": "consulting"}, "unknown_category", "category"),
    ({"amount": "8000000", "category": ""}, "category_required", "category"),
    ({"amount": "8000000", "coef_region": "hilly"}, "unknown_coefficient", "coef_region"),
    ({"amount": "8000000", "coef_scope": "half"}, "unknown_coefficient_option", "coef_scope"),
])
def test_calculate_endpoint_bad_input_is_400_in_both_languages(client, rules, params, code,
                                                               field):
    query = {"rule": "zbdl-1980", "category": "works", **params}
    resp = client.get(CALC, query)
    assert resp.status_code == 400, resp.content
    assert resp["Content-Type"].startswith("application/json")
    assert "no-store" in resp["Cache-Control"]
    err = resp.json()["error"]
    assert err["code"] == code and err["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]), err["message"]
    assert err["message_en"] and err["message_en"] != err["message"]
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in err["message_en"]), err["message_en"]


def test_out_of_table_message_says_not_extrapolated(client, rules):
    err = client.get(CALC, {"rule": "zbdl-1980", "category": "goods",
                            "amount": "100000000.01"}).json()["error"]
    assert "10,000万元" in err["message"] and "不作推算" in err["message"]
    assert "never extrapolated" in err["message_en"]


@pytest.mark.parametrize("rule,code", [("nope", "unknown_rule"), ("", "rule_required"),
                                       ("a" * 300, "unknown_rule")])
def test_calculate_endpoint_unknown_rule_is_400(client, rules, rule, code):
    resp = client.get(CALC, {"rule": rule, "amount": "100"})
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == code and err["field"] == "rule" and err["message"] and err["message_en"]


def test_calculate_endpoint_rejects_post(client, rules):
    assert client.post(CALC, {"rule": "zbdl-1980"}).status_code == 405


def test_rules_list_fixed_queries(client, rules, django_assert_num_queries):
    # 1 query: SELECT all FeeRules (definitions compiled in Python, nothing else fetched)
    with django_assert_num_queries(1):
        resp = client.get(reverse("fees_api:rules"))
    assert resp.status_code == 200 and "public" in resp["Cache-Control"]
    data = resp.json()["rules"]
    assert [r["code"] for r in data] == sorted(CODES)
    zbdl = next(r for r in data if r["code"] == "zbdl-1980")
    assert zbdl["illustrative"] is False and zbdl["method"] == "cumulative"
    works = next(c for c in zbdl["categories"] if c["code"] == "works")
    assert works["cap"] == "4500000" and works["table_max"] == "100000000"
    assert [b["rate_pct"] for b in works["brackets"]] == ["1.0", "0.7", "0.55", "0.35", "0.2"] \
        or [b["rate_pct"] for b in works["brackets"]] == ["1", "0.7", "0.55", "0.35", "0.2"]
    assert zbdl["coefficients"][0]["options"][1] == {
        "code": "docs", "name": "仅编制招标文件（含标底）",
        "name_en": "Drafting the tender documents only (with reserve price)", "factor": "0.3"}
    assert zbdl["float"] == {"down_pct": "20", "up_pct": "20"}


def test_rule_detail_and_404(client, rules, django_assert_num_queries):
    # 1 query: SELECT the FeeRule by code
    with django_assert_num_queries(1):
        resp = client.get(reverse("fees_api:rule", args=["eia-interp"]))
    assert resp.status_code == 200 and resp.json()["method"] == "interpolation"
    resp = client.get(reverse("fees_api:rule", args=["nope"]))
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "unknown_rule"


def test_every_demo_rule_prices_through_the_api(client, rules):
    for code, rule in rules.items():
        cat = rule.categories[0]
        amount = "" if not rule.compiled.needs_amount else str(cat.table_min or D("1000000"))
        resp = client.get(CALC, {"rule": code, "category": cat.code, "amount": amount})
        assert resp.status_code == 200, (code, resp.content)


def test_fee_rules_are_wagtail_snippets_and_the_form_refuses_bad_definitions(rules):
    from wagtail.snippets.models import get_snippet_models

    assert FeeRule in get_snippet_models()
    from cms.fees.wagtail_hooks import FeeRuleViewSet

    form_class = FeeRuleViewSet(model=FeeRule).get_form_class()
    data = {"code": "x-rule", "name": "X", "basis": "Y", "source_note": "",
            "definition": '{"version": 1, "method": "fixed", "categories": []}'}
    form = form_class(data=data)
    assert not form.is_valid()
    assert "definition" in form.errors and "categories" in str(form.errors["definition"])
    data["definition"] = ('{"version": 1, "method": "fixed", "categories": '
                          '[{"code": "a", "name_zh": "甲", "name_en": "A", "fee": "100"}]}')
    form = form_class(data=data)
    assert form.is_valid(), form.errors


def test_a_definition_written_around_save_never_gives_a_500(client, rules):
    FeeRule.objects.filter(code="survey-fixed").update(definition={"version": 9})
    assert client.get(reverse("fees_api:rules")).status_code == 200
    assert client.get(reverse("fees_api:rule", args=["survey-fixed"])).status_code == 404
    resp = client.get(CALC, {"rule": "survey-fixed"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_rule"
    assert client.get("/fees/survey-fixed/").status_code == 404
    assert client.get("/fees/").status_code == 200


def test_head_is_allowed(client, rules):
    assert client.head(CALC + "?rule=survey-fixed").status_code == 200
