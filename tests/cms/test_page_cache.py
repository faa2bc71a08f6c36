"""The public page cache (cms/cache.py): hits cost no query, every publish invalidates, and
nothing per-visitor is ever stored or served to someone else."""

import pytest
from django.core.cache import cache
from wagtail.models import PageViewRestriction

from tests.cms.factories import make_industry_page, make_item


@pytest.fixture
def page_cache(settings):
    settings.MARKETPLACE = {**settings.MARKETPLACE, "PAGE_CACHE_SECONDS": 300}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def item(site_tree, industries):
    industry_page = make_industry_page(site_tree["catalog"], industries["ecology"])
    return make_item(industry_page, title="环评报告书编制（缓存测试）")


def test_second_anonymous_view_is_a_hit_without_queries(
    page_cache, item, client, django_assert_num_queries
):
    first = client.get(item.url)
    assert first["X-Page-Cache"] == "miss"
    # 0 queries: a hit reads the generation and the page from the cache, nothing else.
    with django_assert_num_queries(0):
        second = client.get(item.url)
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert "环评报告书编制（缓存测试）" in second.content.decode()
    # Security headers come from the outer middleware on hits as well.
    assert "default-src 'self'" in second["Content-Security-Policy"]
    assert second["Content-Language"] == "zh-hans"
    assert second["X-Request-ID"] != first["X-Request-ID"]


def test_languages_are_cached_apart(page_cache, item, client):
    chinese = client.get(item.url).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(item.url)
    assert english["X-Page-Cache"] == "miss"
    assert english.content.decode() != chinese
    assert '<html lang="en">' in english.content.decode()


def test_publishing_a_change_invalidates(page_cache, item, client):
    client.get(item.url)
    assert client.get(item.url)["X-Page-Cache"] == "hit"
    item.title = "环评报告书编制（已修改）"
    item.save_revision().publish()
    response = client.get(item.url)
    assert response["X-Page-Cache"] == "miss"
    assert "环评报告书编制（已修改）" in response.content.decode()


def test_saving_a_fee_rule_invalidates(page_cache, item, client, fee_rules):
    client.get(item.url)
    rule = fee_rules["zbdl-1980"]
    rule.name = rule.name + "（修订）"
    rule.save()
    assert client.get(item.url)["X-Page-Cache"] == "miss"


def test_a_visitor_with_a_session_always_gets_a_fresh_page(page_cache, item, client):
    from marketplace.models import User

    user = User.objects.create_user(email="editor@example.org", password="x" * 12)
    client.get(item.url)  # cached for anonymous visitors
    client.force_login(user)
    response = client.get(item.url)
    assert "X-Page-Cache" not in response


def test_a_password_protected_page_is_never_cached(page_cache, item, client):
    PageViewRestriction.objects.create(
        page=item, restriction_type=PageViewRestriction.PASSWORD, password="secret"
    )
    for _ in range(2):
        response = client.get(item.url)
        assert "X-Page-Cache" not in response
        assert "环评报告书编制（缓存测试）" not in response.content.decode()


def test_not_found_and_non_page_responses_are_not_cached(page_cache, site_tree, client):
    assert "X-Page-Cache" not in client.get("/catalog/no-such-industry/")
    assert "X-Page-Cache" not in client.get("/floor/")


def test_cache_outage_serves_uncached(page_cache, item, client, monkeypatch):
    class BrokenCache:
        def __getattr__(self, name):
            def broken(*args, **kwargs):
                raise ConnectionError("cache down")

            return broken

    # Only the page cache's client is broken: Wagtail's own caching is not under test here.
    monkeypatch.setattr("cms.cache.cache", BrokenCache())
    response = client.get(item.url)
    assert response.status_code == 200
    assert "X-Page-Cache" not in response


# --- the language switch that keeps pages free of per-visitor tokens -------------------------


def test_switch_language_sets_the_cookie_and_returns(client):
    response = client.get("/language/", {"language": "en", "next": "/catalog/?industry=ecology"})
    assert response.status_code == 302
    assert response["Location"] == "/catalog/?industry=ecology"
    assert response.cookies["django_language"].value == "en"


def test_switch_language_refuses_an_unknown_language(client):
    response = client.get("/language/", {"language": "xx", "next": "/"})
    assert response.status_code == 400
    assert "django_language" not in response.cookies


def test_switch_language_never_redirects_off_site(client):
    response = client.get("/language/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_public_pages_carry_no_csrf_token(site_tree, client):
    response = client.get("/")
    assert "csrfmiddlewaretoken" not in response.content.decode()
    assert not response.cookies
