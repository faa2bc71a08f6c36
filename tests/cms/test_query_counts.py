"""Public pages run a fixed number of queries whatever the number of items (DESIGN §4)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.models import ApprovalMatter, LegalBasis, QualificationRequirement
from marketplace.models import QualificationType

from .factories import make_industry_page, make_item

pytestmark = pytest.mark.django_db

# --- Query counts ------------------------------------------------------------------------------


def _count_queries(client, url):
    client.get(url)  # warm the site root paths cache (Wagtail keeps it in the cache backend)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def small_and_large(site_tree, industries, fee_rules):
    catalog = site_tree["catalog"]
    ecology = make_industry_page(catalog, industries["ecology"])
    water = make_industry_page(catalog, industries["water"])
    make_item(ecology, fee_rule=fee_rules["eia-interp"], fee_category="report")
    make_item(water)
    return {"catalog": catalog, "ecology": ecology, "water": water, "rules": fee_rules}


def test_catalog_index_query_count_is_fixed(small_and_large, client, django_assert_num_queries):
    """The catalog index costs 10 queries whatever the number of items or filters:
    Wagtail serving: the site for the host (1), the site's root page (1), the child page by
    slug and its specific row (2), aliases and view restrictions of the ancestors (2);
    the page's context: live industry pages with their industries (1), the distinct departments
    for the filter (1), the paginator's count (1), the page of items with their fee rules (1).
    Each item's industry comes from its tree path, so nothing is queried per item."""
    first = _count_queries(client, "/catalog/")
    for _ in range(25):
        make_item(small_and_large["ecology"], fee_rule=small_and_large["rules"]["eia-interp"])
        make_item(small_and_large["water"], responsible_department="水行政主管部门")
    client.get("/catalog/")
    with django_assert_num_queries(first):
        response = client.get("/catalog/")
    assert len(response.context["items"]) == 20
    with django_assert_num_queries(first):
        client.get("/catalog/", {"industry": "water", "department": "水行政主管部门", "page": 2})
    assert first == 10


def test_item_page_query_count_is_fixed(small_and_large, client, django_assert_num_queries):
    """A service item page costs 16 queries, however many approval matters, legal bases and
    qualifications it lists: Wagtail serving: the site (1), the root page (1), then a page by
    slug and its specific row for catalog, industry and item (6), aliases and view restrictions
    (2); the context: the industry page with its industry (1), the ancestors for the breadcrumb
    (1), approval matters, legal bases and qualifications (3), the fee rule (1). The fee
    calculator include adds none."""
    ecology = small_and_large["ecology"]
    rule = small_and_large["rules"]["eia-interp"]
    small = make_item(ecology, fee_rule=rule, fee_category="report")
    first = _count_queries(client, small.url)
    big = make_item(ecology, fee_rule=rule, fee_category="report")
    qtypes = list(QualificationType.objects.all())
    for n in range(10):
        ApprovalMatter.objects.create(item=big, name=f"审批事项{n}")
        LegalBasis.objects.create(item=big, law_name=f"《条例{n}》", article="第一条")
        QualificationRequirement.objects.create(item=big, qualification=qtypes[n % len(qtypes)])
    client.get(big.url)
    with django_assert_num_queries(first):
        response = client.get(big.url)
    assert response.content.decode().count("《条例") == 10
    assert first == 16
