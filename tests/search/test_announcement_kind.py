"""The "announcement" search kind (search/kinds/announcements.py), held to the same contract
by both backends (conftest.backend: the database index and Elasticsearch, i.e. the noida-db
emulator over real HTTP): what is indexed (never a draft), what the text matches, the facets
and their counts, the sorts, and the index following the announcements' transitions through
the outbox (Celery is not eager in tests: ``deliver()`` sweeps it).

The announcements (module scope, tests.procurement.factories through the services):

=========  =======================  ========  ================  =========================
key        title                    item      location          state
=========  =======================  ========  ================  =========================
wuhua      五华区道路改造环境影响评价  eia       530102 五华区     open, deadline D
qilin      麒麟区学校扩建咨询服务      free      530302 麒麟区     open, deadline D + 7 days
chengdu    锦江区管网改造环境影响评价  eia       510104 锦江区     published, then cancelled
drawn      五华区公园提升环境影响评价  eia       530102 五华区     drawn: selected
draft      五华区草稿公告              eia       530102            draft (never indexed)
withdrawn  五华区撤销草稿公告          eia       530102            draft cancelled unpublished
=========  =======================  ========  ================  ========================="""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest

from procurement import services
from procurement.models import Announcement
from search.kinds import get_kind
from search.query import BadSearch, parse
from tests.agencies.factories import region
from tests.procurement.factories import (
    close_and_draw,
    deadline,
    draft,
    make_announcement,
    make_eligible_agency,
    make_owner,
    make_project,
    register_all,
)
from tests.procurement.public_scene import deliver
from tests.search.builders import build_index, facet, find, ids

pytestmark = pytest.mark.django_db

KIND = "announcement"


@pytest.fixture(scope="module")
def scene(items):
    owner = make_owner(name="昆明市城市更新投资有限公司")
    wuhua_project = make_project(owner)
    world = SimpleNamespace(owner=owner, project=wuhua_project, item=items["eia"], items=items)
    qilin_project = services.project_create(
        actor=owner.admin_user,
        owner=owner,
        name="麒麟区第一中学扩建项目",
        code="2026-530302-48-01-000777",
        region=region("530302"),
        total_investment="30000000",
    )
    chengdu_project = make_project(owner, where="510104")
    first_deadline = deadline()
    wuhua = make_announcement(
        world, title="五华区道路改造环境影响评价", registration_deadline=first_deadline
    )
    qilin = make_announcement(
        world,
        title="麒麟区学校扩建咨询服务",
        project=qilin_project,
        service_item=items["free"],
        registration_deadline=first_deadline + datetime.timedelta(days=7),
    )
    chengdu = make_announcement(world, title="锦江区管网改造环境影响评价", project=chengdu_project)
    services.announcement_cancel(actor=owner.admin_user, announcement=chengdu, reason="项目取消")
    drawn = make_announcement(world, title="五华区公园提升环境影响评价")
    register_all(drawn, [make_eligible_agency(items["eia"]) for _ in range(3)])
    assert close_and_draw(drawn) == "selected"
    draft_ = draft(world, title="五华区草稿公告")
    withdrawn = draft(world, title="五华区撤销草稿公告")
    services.announcement_cancel(actor=owner.admin_user, announcement=withdrawn, reason="录入错误")
    return SimpleNamespace(
        world=world,
        wuhua=wuhua,
        qilin=qilin,
        chengdu=Announcement.objects.get(pk=chengdu.pk),
        drawn=Announcement.objects.get(pk=drawn.pk),
        draft=draft_,
        withdrawn=withdrawn,
    )


@pytest.fixture
def indexed(scene, backend):
    build_index(backend, KIND)
    return scene


def search(backend, **params):
    return find(backend, params, KIND)


def pk(announcement) -> str:
    return str(announcement.pk)


def found(backend, q: str) -> set[str]:
    return set(ids(search(backend, q=q, page_size="50")))


def test_only_published_announcements_are_indexed(backend, indexed):
    result = search(backend)
    assert result.total == 4
    assert set(ids(result)) == {pk(indexed.wuhua), pk(indexed.qilin), pk(indexed.chengdu),
                                pk(indexed.drawn)}  # fmt: skip
    assert get_kind(KIND).count() == 4
    docs = get_kind(KIND).documents([pk(indexed.draft), pk(indexed.withdrawn)])
    assert docs == {pk(indexed.draft): None, pk(indexed.withdrawn): None}
    assert found(backend, "草稿") == set()
    assert found(backend, indexed.draft.code) == set()


def test_text_matches_code_title_project_item_region_and_owner(backend, indexed):
    assert found(backend, indexed.qilin.code) == {pk(indexed.qilin)}  # whole number
    assert found(backend, indexed.qilin.code.lower()) == {pk(indexed.qilin)}
    assert found(backend, "道路改造") == {pk(indexed.wuhua)}  # title
    assert found(backend, "第一中学") == {pk(indexed.qilin)}  # project name
    assert found(backend, "2026-530302-48-01-000777") == {pk(indexed.qilin)}  # project code
    # The item's title. (The factory's titles differ only by a number, "测试中介服务事项5":
    # its term "5" is in other documents too, so only inclusion is asserted; the item facet
    # is exact.)
    hits = search(backend, q=indexed.world.items["free"].title, page_size="50").hits
    assert pk(indexed.qilin) in {h.id for h in hits}
    assert found(backend, "锦江") == {pk(indexed.chengdu)}  # region names
    assert found(backend, "成都") == {pk(indexed.chengdu)}
    assert found(backend, "城市更新投资") == {  # owner name
        pk(indexed.wuhua), pk(indexed.qilin), pk(indexed.chengdu), pk(indexed.drawn)
    }  # fmt: skip
    assert found(backend, "五华 公园") == {pk(indexed.drawn)}  # every word, anywhere


def test_facets_count_public_statuses_items_industries_methods(backend, indexed):
    result = search(backend)
    assert facet(result, "status") == {"published": 2, "cancelled": 1, "selected": 1}
    items = indexed.world.items
    assert facet(result, "item") == {items["eia"].code: 3, items["free"].code: 1}
    assert facet(result, "method") == {"random_draw": 4}
    assert facet(result, "industry") == {"ecology": 4}
    labels = {b.value: b.label for f in result.facets if f.param == "status" for b in f.buckets}
    assert "draft" not in labels


def test_region_facet_is_hierarchical(backend, indexed):
    result = search(backend)
    assert facet(result, "region") == {"530000": 3, "510000": 1}
    result = search(backend, region="530000")
    assert facet(result, "region") == {"530100": 2, "530300": 1}
    result = search(backend, region="530100")
    assert facet(result, "region") == {"530102": 2}
    assert set(ids(result)) == {pk(indexed.wuhua), pk(indexed.drawn)}


def test_filters_combine_and_facets_count_disjunctively(backend, indexed):
    result = search(backend, status="published", region="530000")
    assert set(ids(result)) == {pk(indexed.wuhua), pk(indexed.qilin)}
    # The status facet is counted without its own filter.
    assert facet(result, "status") == {"published": 2, "selected": 1}


def test_bad_filters_are_refused(indexed):
    kind = get_kind(KIND)
    for params, param in (
        ({"status": "draft"}, "status"),
        ({"status": "nonsense"}, "status"),
        ({"method": "quote"}, "method"),
        ({"region": "12"}, "region"),
        ({"item": "NO-SUCH-ITEM"}, "item"),
        ({"industry": "no-such"}, "industry"),
        ({"sort": "credit"}, "sort"),
    ):
        with pytest.raises(BadSearch) as caught:
            parse(kind, params)
        assert caught.value.param == param


def test_sorts_newest_and_deadline(backend, indexed):
    newest = [pk(indexed.drawn), pk(indexed.chengdu), pk(indexed.qilin), pk(indexed.wuhua)]
    assert ids(search(backend, sort="newest")) == newest
    assert ids(search(backend)) == newest  # the default without a text
    # Open ones by their deadline, soonest first; the others after them, newest first.
    assert ids(search(backend, sort="deadline")) == [
        pk(indexed.wuhua), pk(indexed.qilin), pk(indexed.drawn), pk(indexed.chengdu)
    ]  # fmt: skip


def test_cards_carry_what_the_list_shows(backend, indexed):
    hit = next(h for h in search(backend, q=indexed.qilin.code).hits)
    data = hit.data
    assert data["code"] == indexed.qilin.code
    assert data["title"] == "麒麟区学校扩建咨询服务"
    assert data["status"] == "published"
    assert data["item"] == {
        "code": indexed.world.items["free"].code,
        "title": indexed.world.items["free"].title,
    }
    assert data["region"] == "云南省曲靖市麒麟区"
    assert data["ceiling"] == "10000.00"
    assert data["url"] == f"/procurement/{indexed.qilin.code}/"
    assert data["published_at"] == indexed.qilin.published_at.isoformat()
    assert data["registration_deadline"] == indexed.qilin.registration_deadline.isoformat()
    assert data["publicity_ends_at"] is None


def test_the_index_follows_publication_and_transitions(backend, indexed):
    """Through the signals and the outbox (after commit), not a rebuild."""
    owner = indexed.world.owner
    services.announcement_update(actor=owner.admin_user, announcement=indexed.draft,
                                 title="五华区草稿公告（修改）")  # fmt: skip
    deliver()
    assert found(backend, "草稿") == set()  # an edited draft stays out
    services.announcement_publish(actor=owner.admin_user, announcement=indexed.draft)
    deliver()
    assert found(backend, "草稿公告") == {pk(indexed.draft)}
    assert facet(search(backend), "status")["published"] == 3
    services.announcement_cancel(actor=owner.admin_user, announcement=indexed.wuhua,
                                 reason="规划调整")  # fmt: skip
    deliver()
    # Newest publication first: 锦江区 was published after 五华区.
    assert ids(search(backend, status="cancelled")) == [pk(indexed.chengdu), pk(indexed.wuhua)]


def test_the_index_follows_a_renamed_project(backend, indexed):
    project = indexed.qilin.project
    services.project_update(actor=indexed.world.owner.admin_user, project=project,
                            name="麒麟区实验中学扩建项目")  # fmt: skip
    deliver()
    assert found(backend, "实验中学") == {pk(indexed.qilin)}
    assert found(backend, "第一中学") == set()
