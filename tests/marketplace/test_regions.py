import pytest
from django.core.management import call_command
from django.urls import reverse

from marketplace.models import Region, RegionLevel
from marketplace.selectors import region_subtree
from marketplace.services import region_rows, regions_load

pytestmark = pytest.mark.django_db


def test_yunnan_has_its_real_divisions(yunnan):
    regions = Region.objects.filter(province_code="530000")
    assert yunnan.name == "云南省"
    assert regions.filter(level=RegionLevel.PREFECTURE).count() == 16
    assert regions.filter(level=RegionLevel.COUNTY).count() == 129
    kunming = Region.objects.get(code="530100")
    assert kunming.name == "昆明市" and kunming.parent_id == "530000"
    wuhua = Region.objects.get(code="530102")
    assert (wuhua.name, wuhua.parent_id, wuhua.prefecture_code) == ("五华区", "530100", "530100")
    assert wuhua.full_name == "云南省昆明市五华区"


def test_codes_are_six_digits_and_parents_consistent(yunnan):
    for region in Region.objects.filter(province_code="530000").select_related("parent"):
        assert len(region.code) == 6 and region.code.isdigit()
        if region.level == RegionLevel.PROVINCE:
            assert region.parent is None
        elif region.level == RegionLevel.PREFECTURE:
            assert region.parent.level == RegionLevel.PROVINCE
            assert region.code.endswith("00") and region.code[:2] == region.parent.code[:2]
        else:
            assert region.parent.code == (region.prefecture_code or region.province_code)
            assert region.code[:4] == region.parent.code[:4] or region.parent.level == "province"


def test_rerun_does_not_duplicate(yunnan):
    before = Region.objects.count()
    counts = regions_load(province="53")
    assert Region.objects.count() == before
    assert counts["created"] == 0 and counts["updated"] == before


def test_whole_country_rows_are_consistent():
    # No database needed: the normalisation alone.
    rows = region_rows()
    codes = [r.code for r in rows]
    assert len(codes) == len(set(codes))
    by_code = {r.code: r for r in rows}
    assert sum(r.level == RegionLevel.PROVINCE for r in rows) == 34
    assert by_code["710000"].name == "台湾省"
    # Municipalities: districts directly under the province.
    assert by_code["110101"].parent_id == "110000" and by_code["110101"].prefecture_code == ""
    # 省直辖县级行政区 (Hainan): also directly under the province.
    assert by_code["469001"].parent_id == "460000"
    for r in rows:
        assert r.parent_id is None or r.parent_id in by_code


def test_subtree_selectors(yunnan):
    kunming = Region.objects.get(code="530100")
    subtree = set(region_subtree(kunming).values_list("code", flat=True))
    assert "530100" in subtree and "530102" in subtree and "530300" not in subtree
    assert "530100" not in set(
        region_subtree(kunming, include_self=False).values_list("code", flat=True)
    )
    assert region_subtree(yunnan).count() == 1 + 16 + 129
    wuhua = Region.objects.get(code="530102")
    assert yunnan.contains(wuhua) and kunming.contains(wuhua) and wuhua.contains(wuhua)
    assert not wuhua.contains(kunming)
    assert not Region.objects.get(code="530300").contains(wuhua)


def test_load_regions_command(capsys):
    call_command("load_regions", "--province", "53")
    out = capsys.readouterr().out
    assert "1 province-level, 16 prefecture-level, 129 county-level" in out
    call_command("load_regions", "--province", "53")
    assert "0 created" in capsys.readouterr().out


def test_load_regions_command_rejects_unknown_province():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("load_regions", "--province", "99")
    with pytest.raises(CommandError):
        call_command("load_regions", "--province", "yunnan")


def test_children_endpoint(client, yunnan, django_assert_num_queries):
    # Two queries whatever the number of children: the parent's existence and the children
    # (with has_children as an EXISTS subquery, not one query per child).
    with django_assert_num_queries(2):
        response = client.get(reverse("core:region-children", args=["530100"]))
    assert response.status_code == 200
    data = response.json()
    assert data["parent"] == "530100"
    assert {"code": "530102", "name": "五华区", "level": "county", "has_children": False} in (
        data["children"]
    )
    with django_assert_num_queries(2):
        response = client.get(reverse("core:region-children", args=["530000"]))
    assert len(response.json()["children"]) == 16
    assert all(child["has_children"] for child in response.json()["children"])


def test_children_endpoint_roots_and_unknown(client, yunnan, django_assert_num_queries):
    # One query: no parent to check at the top level.
    with django_assert_num_queries(1):
        response = client.get(reverse("core:region-roots"))
    assert [c["code"] for c in response.json()["children"]] == ["530000"]
    assert client.get(reverse("core:region-children", args=["999999"])).status_code == 404


@pytest.mark.parametrize("scope_code", ["530000", "530100", "530102"])
def test_code_prefix_q_matches_the_subtree_without_a_join(yunnan, scope_code):
    scope = Region.objects.get(code=scope_code)
    by_prefix = set(
        Region.objects.filter(scope.code_prefix_q("code")).values_list("code", flat=True)
    )
    by_ancestry = set(
        Region.objects.filter(scope.descendant_q()).values_list("code", flat=True)
    )
    assert by_prefix == by_ancestry
    assert scope_code in by_prefix
    # The organisation filter reads the foreign key column: no join to the region table.
    from marketplace.models import Organisation

    sql = str(Organisation.objects.filter(scope.code_prefix_q("region__code")).query)
    assert "marketplace_region" not in sql
