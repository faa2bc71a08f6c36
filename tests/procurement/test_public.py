"""The public procurement pages through the test client: the announcement directory
(/procurement/, the "announcement" search kind), an announcement's page, its draw record and
the verifier. Drafts are never public. Labels are checked in English (the language cookie);
names, numbers and hashes in any language.

Celery is not eager in tests: index updates wait in the outbox until ``deliver()``."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from procurement import draw, services
from procurement.models import AnnouncementStatus, Draw
from tests.procurement import public_scene
from tests.procurement.factories import make_announcement, make_eligible_agency, register_all
from tests.procurement.public_scene import (
    CANCELLED_DRAFT_TITLE,
    DISMISSAL,
    DONE_TITLE,
    DRAFT_TITLE,
    EXCLUSION_REASON,
    OPEN_TITLE,
    PROJECT_CODE,
    SUSPENSION,
    deliver,
)

pytestmark = pytest.mark.django_db

# The module's scene (built once, see public_scene).
scene = public_scene.scene

LIST = "/procurement/"


@pytest.fixture
def en(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def detail_url(announcement) -> str:
    return f"/procurement/{announcement.code}/"


def text(response) -> str:
    """The page's visible text, tags removed, white space collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def titles(response) -> list[str]:
    return [hit["title"] for hit in response.context["hits"]]


# --- the directory -------------------------------------------------------------------------


def test_directory_lists_public_announcements_never_drafts(en, scene):
    response = en.get(LIST)
    assert response.status_code == 200
    assert response.context["result"].total == 2
    # Without a sort: the newest publication first.
    assert titles(response) == [OPEN_TITLE, DONE_TITLE]
    assert response.context["sort"] == "newest"
    page = text(response)
    assert DRAFT_TITLE not in page and CANCELLED_DRAFT_TITLE not in page
    assert scene.open.code in page and "Registration open" in page
    assert "¥10,000.00" in page  # the ceiling
    # The status facet counts public statuses only.
    status = next(p for p in response.context["panels"] if p.param == "status")
    assert {link.label: link.count for link in status.links} == {
        "registration open": 1,
        "publicity": 1,
    }


def test_directory_drafts_are_not_found_by_their_title_or_number(client, scene):
    for q in (DRAFT_TITLE, scene.draft.code, CANCELLED_DRAFT_TITLE, scene.cancelled_draft.code):
        response = client.get(LIST, {"q": q})
        assert response.status_code == 200
        assert response.context["result"].total == 0, q


def test_directory_text_matches_number_project_item_region_and_owner(client, scene):
    def found(q):
        response = client.get(LIST, {"q": q})
        assert response.status_code == 200
        return set(titles(response))

    assert found(scene.done.code) == {DONE_TITLE}
    assert found(scene.done.code.lower()) == {DONE_TITLE}
    assert found("污水处理厂") == {OPEN_TITLE}  # the project's name
    assert found(PROJECT_CODE) == {OPEN_TITLE}  # 投资项目统一代码, exactly
    assert found("麒麟") == {OPEN_TITLE}  # the project's location
    # The item's title ("…事项9" is also a substring of "…事项95": the factory numbers them).
    assert OPEN_TITLE in found(scene.world.items["free"].title)
    assert found("城市建设投资") == {OPEN_TITLE, DONE_TITLE}  # the owner's name


def test_directory_filters_make_chips_and_links_without_javascript(en, scene):
    response = en.get(LIST, {"status": "published", "region": "530300"})
    assert response.status_code == 200
    assert titles(response) == [OPEN_TITLE]
    chips = {chip.label: chip.url for chip in response.context["chips"]}
    assert set(chips) == {"Status: registration open", "Region: 曲靖市"}
    # Removing a chip keeps the other filter.
    assert chips["Region: 曲靖市"] == "?status=published"
    page = response.content.decode()
    assert '<form class="filters search-form" method="get"' in page
    assert '<input type="hidden" name="status" value="published">' in page
    region = next(p for p in response.context["panels"] if p.param == "region")
    assert [step.label for step in region.trail] == ["All regions", "云南省", "曲靖市"]


def test_directory_sorts_by_closing_deadline(client, scene):
    later = make_announcement(
        scene.world,
        title="更晚截止的环评公告",
        registration_deadline=scene.open.registration_deadline + datetime.timedelta(days=7),
    )
    deliver()
    response = client.get(LIST, {"sort": "deadline"})
    assert response.status_code == 200
    # Open ones by their deadline, then the closed one.
    assert titles(response) == [OPEN_TITLE, later.title, DONE_TITLE]
    assert titles(client.get(LIST, {"sort": "newest"})) == [later.title, OPEN_TITLE, DONE_TITLE]


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"status": "draft"}, "status", "Unknown status “draft”"),
        ({"method": "lottery"}, "method", "Unknown selection method “lottery”"),
        ({"region": "999999"}, "region", "Unknown region code “999999”"),
        ({"sort": "name"}, "sort", "Unknown sort “name”"),
        ({"colour": "red"}, "colour", "Unknown search parameter: colour"),
        ({"page": "0"}, "page", "The page must be a whole number"),
    ],
)
def test_directory_bad_parameters_are_a_400_with_the_message(en, scene, params, param, message):
    response = en.get(LIST, {"q": "环境", **params})
    assert response.status_code == 400
    assert message in text(response)
    assert response.context["error_param"] == param
    # The form keeps the text and drops the faulty parameter.
    assert response.context["q"] == "环境"
    assert param not in dict(response.context["hidden"])


def test_directory_paginates(client, scene):
    for n in range(11):
        make_announcement(scene.world, title=f"分页测试公告{n:02d}")
    deliver()
    response = client.get(LIST, {"page_size": "10", "page": "2"})
    assert response.status_code == 200
    assert response.context["result"].total == 13
    assert len(response.context["hits"]) == 3
    pagination = response.context["pagination"]
    assert (pagination.page, pagination.pages, pagination.first, pagination.last) == (2, 2, 11, 13)
    assert pagination.previous_url == "?page_size=10"


def test_directory_query_count_is_fixed(client, scene, django_assert_num_queries):
    """6 queries for 2 announcements or 14, 10 or 50 per page: the search's count (1) and
    page of documents (1), the counts of every facet in one GROUP BY (1; none has a value
    chosen), the labels of region, industry and service item buckets (3; status and method
    labels are constants). Each card comes from its document: nothing per announcement. (An
    anonymous visitor: no session or user query.)"""
    with django_assert_num_queries(6):
        response = client.get(LIST)
    assert len(response.context["hits"]) == 2
    for n in range(12):
        make_announcement(scene.world, title=f"查询计数公告{n:02d}")
    deliver()
    for size in ("10", "50"):
        with django_assert_num_queries(6):
            response = client.get(LIST, {"page_size": size})
        assert len(response.context["hits"]) == min(int(size), 14)


def test_directory_unavailable_search_is_a_503(client, scene, settings):
    conf = dict(settings.SEARCH)
    conf.update(BACKEND="elasticsearch", FALLBACK="none", ELASTICSEARCH_URL="http://127.0.0.1:9")
    settings.SEARCH = conf
    from django.core.cache import cache

    from search.api import BREAKER_KEY

    cache.delete(BREAKER_KEY)
    try:
        response = client.get(LIST)
    finally:
        cache.delete(BREAKER_KEY)
    assert response.status_code == 503
    assert response["Retry-After"]


# --- an announcement's page ----------------------------------------------------------------


def test_detail_shows_terms_fee_and_requirements(en, scene):
    response = en.get(detail_url(scene.open))
    assert response.status_code == 200
    page = text(response)
    assert OPEN_TITLE in page and scene.open.code in page
    assert "麒麟区污水处理厂建设项目" in page
    assert PROJECT_CODE in page
    assert "云南省曲靖市麒麟区" in page  # the location with its ancestors
    assert "¥12,000,000.00" in page  # the investment
    assert "Registration open" in page
    assert "market-regulated" in page  # the free item has no fee rule

    response = en.get(detail_url(scene.done))
    page = text(response)
    fee = scene.done.fee_computation
    assert fee["breakdown"], "the eia item has a fee rule"
    for step in fee["breakdown"]:
        assert step["description_en"] in page
    assert "Random draw" in page
    assert "环境影响评价单位" in page  # the requirement
    assert "Province-wide" in page  # eligible regions
    assert "编制环境影响报告表并取得批复" in page  # the scope


def test_detail_shows_the_draw_with_full_ranking(en, scene):
    record = Draw.objects.get(announcement=scene.done).record
    response = en.get(detail_url(scene.done))
    page = text(response)
    assert scene.done.commitment in page
    assert scene.done.pool_hash in page
    assert record["secret"] in page and record["seed"] in page
    ranking = response.context["ranking"]
    assert [r["id"] for r in ranking] == [entry["id"] for entry in record["ranking"]]
    for entry in record["ranking"]:
        assert entry["rank"] in page and entry["uscc"] in page
    selected = [r["name"] for r in ranking if r["role"] == "selected"]
    assert selected == [scene.selected.agency.organisation.name]
    assert response.context["alternate_names"][0] == scene.alternate.agency.organisation.name
    for href in (
        reverse("procurement:room", args=[scene.done.code]),
        reverse("procurement:draw_record", args=[scene.done.code]),
        reverse("procurement:verifier"),
    ):
        assert f'href="{href}"' in response.content.decode()


def test_detail_shows_registrants_exclusions_and_objections(en, scene):
    page = text(en.get(detail_url(scene.done)))
    assert "5 registered · 4 eligible · 1 ineligible" in page
    for agency in scene.world.agencies:
        assert agency.organisation.name in page
    assert SUSPENSION in page  # the reason of the ineligible registrant
    assert scene.excluded.organisation.name in page and EXCLUSION_REASON in page
    assert "Dismissed" in page and DISMISSAL in page
    assert scene.alternate.agency.organisation.name in page


def test_detail_timeline_is_on_the_page(en, scene):
    page = text(en.get(detail_url(scene.done)))
    for label in (
        "Published; the commitment to the draw is made",
        "Exclusion declared (回避)",
        "Registered",
        "Ineligible at closing",
        "Registration closed; the pool is frozen",
        "Selection made",
        "Confirmed",
        "Objection filed",
        "Objection dismissed",
    ):
        assert label in page, label


def test_detail_shows_no_private_data(client, scene):
    """Agency and owner names are public; people, contacts and the secret before the draw
    are not."""
    owner = scene.world.owner
    page = client.get(detail_url(scene.done)).content.decode()
    for private in (
        owner.contact_phone,
        owner.contact_name,
        owner.legal_representative,
        owner.admin_user.email,
        *(a.admin_user.email for a in scene.world.agencies),
        scene.regulator.email,
    ):
        assert private not in page, private
    # The open announcement's secret stays secret until its draw.
    scene.open.refresh_from_db()
    assert scene.open.secret
    response = client.get(detail_url(scene.open))
    assert scene.open.secret not in response.content.decode()
    assert scene.open.commitment in response.content.decode()


def test_drafts_and_unknown_numbers_are_404(client, scene):
    for code in (scene.draft.code, scene.cancelled_draft.code, "ZJCS-1999-999999"):
        assert client.get(f"/procurement/{code}/").status_code == 404
        assert client.get(f"/procurement/{code}/draw.json").status_code == 404


def test_detail_query_count_is_fixed(client, scene, django_assert_num_queries):
    """6 queries whatever the number of registrations and events: the announcement with its
    project, location, owner, item, republished-from and draw (1, joined); the location's
    province and prefecture names (1); the registrations with their agencies (1); the
    declared exclusions with their agencies (1); the objections with the objectors (1); the
    timeline of every audit event with its organisation (1, procurement.timeline). The
    ranking's names come from the registrations. (An anonymous visitor: no session or user
    query.)"""
    with django_assert_num_queries(6):
        response = client.get(detail_url(scene.open))
    assert response.context["registrations"] == []
    agencies = [make_eligible_agency(scene.world.items["free"]) for _ in range(6)]
    register_all(scene.open, agencies)
    with django_assert_num_queries(6):
        response = client.get(detail_url(scene.open))
    assert len(response.context["registrations"]) == 6
    with django_assert_num_queries(6):
        response = client.get(detail_url(scene.done))
    assert len(response.context["timeline"]) > 20


# --- the draw record and the verifier --------------------------------------------------------


def test_draw_record_is_the_draw_as_a_json_attachment(client, scene):
    response = client.get(f"/procurement/{scene.done.code}/draw.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == (
        f'attachment; filename="{scene.done.code}-draw.json"'
    )
    record = json.loads(response.content)
    assert record == Draw.objects.get(announcement=scene.done).record
    assert draw.verify(record) == []


def test_draw_record_is_404_before_the_draw(client, scene):
    assert scene.open.status == AnnouncementStatus.PUBLISHED
    assert client.get(f"/procurement/{scene.open.code}/draw.json").status_code == 404


def test_verifier_is_the_draw_module_source(client, db):
    response = client.get("/procurement/verifier.py")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/x-python; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="verifier.py"'
    assert response.content == Path(draw.__file__).read_bytes()


def test_a_cancelled_published_announcement_stays_public(en, scene):
    announcement = make_announcement(scene.world, title="发布后撤销的公告")
    services.announcement_cancel(
        actor=scene.world.owner.admin_user, announcement=announcement, reason="项目调整，撤销采购"
    )
    deliver()
    response = en.get(detail_url(announcement))
    assert response.status_code == 200
    assert "项目调整，撤销采购" in text(response)
    listed = en.get(LIST, {"status": "cancelled"})
    assert titles(listed) == ["发布后撤销的公告"]


def test_a_large_pool_gives_a_bounded_page(client, scene, django_assert_num_queries, monkeypatch):
    """Past the page's limit of registrants the page lists the first ones by draw position
    (the selected and alternates first), counts all of them in one more query (7), shows the
    top of the ranking with a pointer to draw.json, and follows only the listed registrants
    in the timeline."""
    from procurement.views import public

    monkeypatch.setattr(public, "SHOWN_REGISTRANTS", 2)
    with django_assert_num_queries(7):
        response = client.get(detail_url(scene.done))
    context = response.context
    assert context["truncated"]
    assert [r.position for r in context["registrations"]] == [1, 2]
    assert context["counts"]["registrants"] == 5 and context["counts"]["shown"] == 2
    assert len(context["ranking"]) == 2 and context["counts"]["pool"] == 4
    listed = {r.agency.organisation.name for r in context["registrations"]}
    followed = {e.organisation for e in context["timeline"] if e.model == "registration"}
    assert followed == listed
    assert "draw.json" in response.content.decode()
