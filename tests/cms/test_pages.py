"""The public pages of the catalog, notices and policies: tree, rendering, language, filters,
pagination and query counts."""

import re

import pytest
from wagtail.models import Page, Site

from cms.demo import ITEMS
from cms.models import (
    CatalogIndexPage,
    HomePage,
    IndustryPage,
    NoticePage,
    PolicyPage,
    ServiceItemPage,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_catalog(django_db_setup, django_db_blocker):
    """The demo catalog, loaded once for this module inside a transaction that is rolled back
    at the end (each test runs in a savepoint inside it). Loading takes several seconds."""
    from django.core.cache import cache
    from django.db import transaction

    from cms.demo import load_catalog

    with django_db_blocker.unblock():
        with transaction.atomic():
            data = load_catalog()
            yield data
            transaction.set_rollback(True)
        cache.clear()  # Wagtail's cached site root paths point at rolled-back pages


def test_demo_tree(demo_catalog):
    home = demo_catalog["home"]
    site = Site.objects.get(is_default_site=True)
    assert site.root_page_id == home.pk
    assert (site.hostname, site.port) == ("127.0.0.1", 8000)
    # Wagtail's starter welcome page is gone; the only depth-2 page is our home.
    assert list(Page.objects.filter(depth=2).values_list("pk", flat=True)) == [home.pk]
    catalog = CatalogIndexPage.objects.get()
    assert catalog.url == "/catalog/"
    assert catalog.get_parent().specific == home
    assert demo_catalog["items"] == len(ITEMS) >= 30
    industries_used = IndustryPage.objects.filter(numchild__gt=0).count()
    assert industries_used >= 6
    assert NoticePage.objects.live().count() >= 3
    assert PolicyPage.objects.live().count() >= 2
    # Several items have no fee rule (market-regulated), most have one.
    assert ServiceItemPage.objects.filter(fee_rule__isnull=True).count() >= 5
    assert ServiceItemPage.objects.filter(fee_rule__isnull=False).count() >= 15
    tendering = ServiceItemPage.objects.filter(fee_rule__code="zbdl-1980")
    assert sorted(tendering.values_list("fee_category", flat=True)) == [
        "goods",
        "services",
        "works",
    ]
    # Every published page went through a revision.
    assert all(p.latest_revision_id for p in ServiceItemPage.objects.all())


def test_parent_child_restrictions(site_tree):
    home, catalog = site_tree["home"], site_tree["catalog"]
    assert not ServiceItemPage.can_create_at(catalog)
    assert not ServiceItemPage.can_create_at(home)
    assert IndustryPage.can_create_at(catalog)
    assert not IndustryPage.can_create_at(home)
    assert not NoticePage.can_create_at(home)
    assert NoticePage.can_create_at(site_tree["notices"])
    assert not PolicyPage.can_create_at(site_tree["notices"])
    assert not HomePage.can_create_at(catalog)
    assert not CatalogIndexPage.can_create_at(catalog)


def _urls(demo):
    item = ServiceItemPage.objects.get(code="YN-ZJ-0001")
    return {
        "home": "/",
        "catalog": "/catalog/",
        "industry": item.get_parent().url,
        "item": item.url,
        "notices": "/notices/",
        "notice": NoticePage.objects.first().url,
        "policies": "/policies/",
        "policy": PolicyPage.objects.first().url,
    }


@pytest.mark.parametrize(
    "name,expected",
    [
        ("home", "最新通知公告"),
        ("catalog", "筛选事项清单"),
        ("industry", "服务时限"),
        ("item", "前置审批事项"),
        ("notices", "关于中介服务超市上线试运行的通知"),
        ("notice", "发布日期"),
        ("policies", "国办发〔2015〕31号"),
        ("policy", "发文机关"),
    ],
)
def test_pages_render_in_chinese(demo_catalog, zh, name, expected):
    response = zh.get(_urls(demo_catalog)[name])
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-Hans">' in html
    assert expected in html
    assert "跳到正文" in html  # the skip link, translated
    # CSP script-src 'self': no inline script on public pages.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    # One h1 per page.
    assert html.count("<h1") == 1


def test_english_switch_changes_ui_strings(demo_catalog, client):
    response = client.get("/catalog/")
    assert "筛选事项清单" in response.content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/catalog/"})
    assert response.status_code == 302 and response["Location"] == "/catalog/"
    html = client.get("/catalog/").content.decode()
    assert '<html lang="en">' in html
    assert "Search and filter the catalog" in html and "筛选事项清单" not in html
    assert "Skip to content" in html
    # Industry names follow the language too (marketplace.Industry.name_en).
    assert "Ecology and environment" in html
    # And back.
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "筛选事项清单" in client.get("/catalog/").content.decode()


def _item_codes(response):
    return set(re.findall(r'<td class="nowrap">(YN-ZJ-\d{4})</td>', response.content.decode()))


def test_filter_by_industry(demo_catalog, zh):
    response = zh.get("/catalog/", {"industry": "ecology"})
    assert response.status_code == 200
    expected = {
        f"YN-ZJ-{n:04d}" for n, spec in enumerate(ITEMS, start=1) if spec["industry"] == "ecology"
    }
    assert expected and _item_codes(response) == expected
    assert response.context["selected_industry"] == "ecology"


def test_filter_by_department_and_industry(demo_catalog, zh):
    response = zh.get("/catalog/", {"department": "气象主管机构"})
    expected = {
        f"YN-ZJ-{n:04d}"
        for n, spec in enumerate(ITEMS, start=1)
        if spec["department"] == "气象主管机构"
    }
    assert _item_codes(response) == expected
    # Combined filters that match nothing: an empty list, said so.
    response = zh.get("/catalog/", {"department": "气象主管机构", "industry": "ecology"})
    assert _item_codes(response) == set()
    assert "没有符合条件的服务事项" in response.content.decode()


@pytest.mark.parametrize(
    "params,message",
    [
        ({"industry": "no-such-industry"}, "未知的行业"),
        ({"industry": "<script>x</script>"}, "未知的行业"),
        ({"department": "不存在的部门"}, "未知的主管部门"),
    ],
)
def test_unknown_filter_value_is_ignored_with_a_message(demo_catalog, zh, params, message):
    """Documented behaviour: an unknown filter value is ignored (the full list is shown) and a
    visible status message says so; the page is still 200."""
    response = zh.get("/catalog/", params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "<script>x</script>" not in html  # echoed values are escaped
    assert response.context["page_obj"].paginator.count == len(ITEMS)


@pytest.mark.parametrize("page", ["2", "abc", "-1", "999", ""])
def test_pagination_tolerates_any_page_value(demo_catalog, zh, page):
    response = zh.get("/catalog/", {"page": page})
    assert response.status_code == 200


def test_pagination(demo_catalog, zh):
    first = zh.get("/catalog/")
    second = zh.get("/catalog/", {"page": 2})
    codes1, codes2 = _item_codes(first), _item_codes(second)
    assert len(codes1) == 20 and len(codes2) == len(ITEMS) - 20
    assert not codes1 & codes2
    assert 'rel="next"' in first.content.decode()
    # Filters survive paging.
    html = zh.get("/catalog/", {"department": "发展和改革部门"}).content.decode()
    assert 'rel="next"' not in html  # 6 items: one page
    assert first.context["filter_query"] == ""
    assert zh.get("/catalog/", {"industry": "water"}).context["filter_query"] == "industry=water"


def test_item_without_fee_rule_says_so(demo_catalog, zh):
    item = ServiceItemPage.objects.filter(fee_rule__isnull=True).first()
    html = zh.get(item.url).content.decode()
    assert "本事项无政府定价收费标准" in html
    assert "data-no-fee-rule" in html
    assert "fee-calculator" not in html
    # And in English.
    zh.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = zh.get(item.url).content.decode()
    assert "no fee rule" in html


def test_item_with_fee_rule_shows_the_calculator(demo_catalog, zh):
    item = ServiceItemPage.objects.get(fee_rule__code="zbdl-1980", fee_category="works")
    html = zh.get(item.url).content.decode()
    assert "fee-calculator" in html
    assert item.fee_rule.name in html
    assert "本事项无政府定价收费标准" not in html
    assert "《中华人民共和国招标投标法》" in html and "第十二条" in html


def test_illustrative_badge(demo_catalog, zh):
    illustrative = ServiceItemPage.objects.filter(illustrative=True).first()
    real = ServiceItemPage.objects.filter(illustrative=False).first()
    assert "示例" in zh.get(illustrative.url).content.decode()
    assert "演示事项" not in zh.get(real.url).content.decode()
