"""Public fee-standard pages: Chinese by default, English on request, the no-JS calculator."""

import re

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from cms.fees.demo import load_fee_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules():
    return load_fee_rules()


def en(client):
    client.cookies["django_language"] = "en"
    return client


def test_index_in_chinese(client, rules, django_assert_num_queries):
    # 1 query: SELECT all FeeRules (anonymous: no session or user query)
    with django_assert_num_queries(1):
        resp = client.get("/fees/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "<h1>收费标准</h1>" in html
    assert "招标代理服务收费" in html and "《招标代理服务收费管理暂行办法》" in html
    assert html.count("badge--illustrative") == 8  # every demo rule but zbdl-1980
    assert "示例" in html
    assert 'href="/fees/zbdl-1980/"' in html
    assert "private" in resp["Cache-Control"]
    assert "Cookie" in resp["Vary"]


def test_index_in_english(client, rules):
    html = en(client).get("/fees/").content.decode()
    assert "<h1>Fee standards</h1>" in html and "Illustrative</span>" in html


def test_detail_shows_the_full_table_and_calculator(client, rules, django_assert_num_queries):
    # 1 query: SELECT the FeeRule by code
    with django_assert_num_queries(1):
        resp = client.get("/fees/zbdl-1980/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "<h1>招标代理服务收费" in html
    for text in ("货物招标", "服务招标", "工程招标", "0.55%", "0.25%", "0.1%", "5,000 – 10,000",
                 "450", "350", "300", "20%", "仅编制招标文件（含标底）", "× 0.3",
                 "计价格〔2002〕1980号", "不作推算"):
        assert text in html, text
    # the calculator form: fieldset, legend, labels bound to fields, a live region, GET action
    assert 'action="/fees/zbdl-1980/calculate/"' in html and 'method="get"' in html
    assert "<fieldset>" in html and "<legend>" in html
    for field_id in ("fee-zbdl-1980-category", "fee-zbdl-1980-amount", "fee-zbdl-1980-coef-scope"):
        assert f'<label for="{field_id}"' in html and f'id="{field_id}"' in html
    assert 'aria-live="polite"' in html
    assert 'src="/static/fees/calculator.js"' in html and "<script>" not in html
    assert 'data-api="/api/fees/calculate/"' in html
    # heading hierarchy: one h1, sections are h2
    assert html.count("<h1") == 1 and "<h2" in html


@pytest.mark.parametrize("code", ["eia-interp", "cost-consult-pct", "survey-fixed",
                                  "safety-assess-interp", "water-sb-cumulative", "energy-fixed",
                                  "lightning-pct", "land-appraisal-cumulative"])
def test_every_illustrative_detail_page_renders(client, rules, code):
    resp = client.get(f"/fees/{code}/")
    assert resp.status_code == 200
    assert "badge--illustrative" in resp.content.decode()
    assert en(client).get(f"/fees/{code}/").status_code == 200


def test_detail_in_english(client, rules):
    html = en(client).get("/fees/zbdl-1980/").content.decode()
    assert "Fee calculator" in html and "Works tendering" in html and "Winning-bid amount" in html
    assert "Allowed float: down 20%, up 20%" in html


def test_unknown_rule_page_is_404(client, rules):
    assert client.get("/fees/nope/").status_code == 404
    assert client.get("/fees/nope/calculate/?amount=1").status_code == 404


def test_no_js_round_trip(client, rules, django_assert_num_queries):
    # 1 query: SELECT the FeeRule by code
    with django_assert_num_queries(1):
        resp = client.get("/fees/zbdl-1980/calculate/", {
            "rule": "zbdl-1980", "category": "works", "amount": "800", "unit": "wan",
            "coef_scope": "full"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "54,500.00" in html and "5.45" in html
    assert "43,600.00 – 65,400.00" in html
    assert "100万元 × 1%" in html  # the breakdown, in Chinese
    # inputs kept in the form
    assert 'value="800"' in html
    assert re.search(r'<option value="works" selected>', html)
    assert re.search(r'<option value="wan" selected>', html)


def test_no_js_docs_scope_in_english(client, rules):
    html = en(client).get("/fees/zbdl-1980/calculate/", {
        "category": "goods", "amount": "2000", "unit": "wan", "coef_scope": "docs"}
    ).content.decode()
    # goods 2,000万: 14.9万 × 0.3 = 4.47万
    assert "44,700.00" in html and "Scope of service coefficient" in html
    assert re.search(r'<option value="docs" selected>', html)


@pytest.mark.parametrize("params,message", [
    ({"amount": "-5"}, "金额不能为负数"),
    ({"amount": "abc"}, "不是有效的金额"),
    ({"amount": ""}, "请填写金额"),
    ({"amount": "20000", "unit": "wan"}, "超出本收费标准表的范围"),
    ({"amount": "800", "unit": "wan", "category": "xx"}, "收费类别“xx”不存在"),
    ({"amount": "800", "unit": "wan", "coef_scope": "xx"}, "没有选项“xx”"),
    ({"amount": "800", "unit": "wan", "coef_zzz": "1"}, "调整系数“zzz”不存在"),
])
def test_no_js_errors_are_shown_in_the_form(client, rules, params, message):
    query = {"category": "works", **params}
    resp = client.get("/fees/zbdl-1980/calculate/", query)
    assert resp.status_code == 400
    html = resp.content.decode()
    assert message in html
    assert 'role="alert"' in html
    if params.get("amount") not in (None, ""):
        assert f'value="{params["amount"]}"' in html  # the input is kept
    if "coef_scope" not in params and params.get("category") is None and \
            "coef_zzz" not in params:
        assert 'aria-invalid="true"' in html


def test_no_js_error_in_english(client, rules):
    html = en(client).get("/fees/zbdl-1980/calculate/",
                          {"category": "works", "amount": "-5"}).content.decode()
    assert "The amount must not be negative." in html


def test_calculator_partial_for_catalog_pages(rules):
    """The catalog's item page includes fees/_calculator.html with rule and category only."""
    request = RequestFactory().get("/catalog/item/")
    with translation.override("zh-hans"):
        html = render_to_string("fees/_calculator.html",
                                {"rule": rules["zbdl-1980"], "category": "services"},
                                request=request)
    assert '<option value="services" selected>' in html
    assert "服务范围" in html and "中标金额" in html
    with translation.override("zh-hans"):
        html = render_to_string("fees/_calculator.html", {"rule": rules["survey-fixed"]})
    assert 'name="amount"' not in html  # a fixed fee needs no amount
    assert "地区类别" in html
