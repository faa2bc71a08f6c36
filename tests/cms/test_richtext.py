"""Rich text is sanitised with Wagtail's whitelister, whatever path it came in by."""

import pytest

from cms.models import NoticePage, ServiceItemPage
from cms.richtext import sanitise_rich_text

from .factories import make_industry_page, make_item, make_notice

pytestmark = pytest.mark.django_db

EVIL = (
    '<p onclick="steal()">正文<b>加粗</b></p>'
    "<script>alert('xss')</script>"
    '<img src="x" onerror="alert(1)">'
    '<a href="javascript:alert(2)">链接</a>'
    '<a href="https://www.gov.cn/">政府网</a>'
    '<iframe src="https://evil.example/"></iframe>'
    "<style>body{display:none}</style>"
)


def _assert_clean(html: str):
    lowered = html.lower()
    assert "alert(" not in lowered
    assert "onerror" not in lowered and "onclick" not in lowered
    assert "javascript:" not in lowered
    assert "<iframe" not in lowered and "evil.example" not in lowered
    assert "display:none" not in lowered


def test_sanitiser_keeps_allowed_markup():
    clean = sanitise_rich_text(EVIL)
    _assert_clean(clean)
    assert "<b>加粗</b>" in clean
    assert '<a href="https://www.gov.cn/">政府网</a>' in clean
    assert "<p>正文" in clean


def test_notice_body_is_sanitised_in_the_rendered_page(site_tree, client):
    notice = make_notice(site_tree["notices"], body=EVIL, slug="evil")
    stored = NoticePage.objects.get(pk=notice.pk)
    _assert_clean(stored.body)
    _assert_clean(stored.get_latest_revision().content["body"])
    html = client.get(notice.url).content.decode()
    _assert_clean(html)
    assert "<b>加粗</b>" in html
    assert "<script" not in html.lower()


def test_item_legal_text_is_sanitised_through_a_revision(site_tree, industries, client):
    industry_page = make_industry_page(site_tree["catalog"], industries["fire"])
    item = make_item(industry_page)
    page = ServiceItemPage.objects.get(pk=item.pk)
    page.legal_basis_text = EVIL
    page.save_revision().publish()
    html = client.get(item.url).content.decode()
    _assert_clean(html)
    assert "政府网" in html
