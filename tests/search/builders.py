"""Small builders for the search tests: agencies with names, regions, certificates, items and
credit; the index built from them; searches through a backend.

The directory (``make_directory``), approved unless said otherwise:

==========  ============================  ======  ==========================  ======  =========
key         name                          region  certificates                items   credit
==========  ============================  ======  ==========================  ======  =========
env         云南某某环境科技有限公司      530102  环境影响评价单位            eia     A 95
                                                                              free
alading     阿拉丁测绘有限公司            530302  测绘资质 甲级               survey_a B 80
                                                                              survey_b
beifang     北方工程咨询有限公司          510104  工程咨询单位 乙级,          two     unrated
                                                  安全评价机构资质 乙级
kmsurvey    昆明测绘院有限公司            530100  测绘资质 乙级               survey_b C 60
lapsed      昆明过期环境监测有限公司      530103  —  (not eligible)           eia     D 40
draft       云南草稿环境有限公司          530102  环境影响评价单位 (draft)    eia     —
==========  ============================  ======  ==========================  ======  =========

530102 五华区 and 530103 盘龙区 are in 昆明市 (530100); 530302 麒麟区 in 曲靖市 (530300); all
in 云南省 (530000). 510104 锦江区 is in 成都市 (510100), 四川省 (510000)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from agencies.models import EnrolmentStatus
from marketplace.models import Region
from search.indexing import reindex
from search.kinds import all_kinds, get_kind
from search.query import SearchResult, parse
from tests.agencies.factories import (
    AgencyFactory,
    AgencyOrganisationFactory,
    CertificateFactory,
    declare_items,
    qtype,
    region,
)


def sichuan_regions() -> None:
    if not Region.objects.filter(code="510104").exists():
        from marketplace.services import regions_load

        regions_load(province="51")


def make_agency(
    name: str,
    *,
    region_code: str = "530102",
    items=(),
    certs=(),
    credit: tuple[str, str] | None = None,
    status: str = EnrolmentStatus.APPROVED,
    **org_fields,
):
    """An agency named ``name`` (status approved unless told) registered in ``region_code``,
    with certificates ``certs`` ((type code, level) pairs), declared ``items`` and
    ``credit`` (grade, score)."""
    org = AgencyOrganisationFactory(name=name, region=region(region_code), **org_fields)
    extra = {}
    if credit:
        extra = {"credit_grade": credit[0], "credit_score": Decimal(credit[1])}
    agency = AgencyFactory(organisation=org, status=status, **extra)
    for code, level in certs:
        CertificateFactory(agency=agency, qualification_type=qtype(code), level=level)
    declare_items(agency, *items)
    return agency


def make_directory(items) -> SimpleNamespace:
    """The agencies of the module docstring's table."""
    sichuan_regions()
    return SimpleNamespace(
        env=make_agency(
            "云南某某环境科技有限公司",
            region_code="530102",
            items=[items["eia"], items["free"]],
            certs=[("eia-unit", "")],
            credit=("A", "95"),
        ),
        alading=make_agency(
            "阿拉丁测绘有限公司",
            region_code="530302",
            items=[items["survey_a"], items["survey_b"]],
            certs=[("surveying", "甲级")],
            credit=("B", "80"),
        ),
        beifang=make_agency(
            "北方工程咨询有限公司",
            region_code="510104",
            items=[items["two"]],
            certs=[("engineering-consulting", "乙级"), ("safety-assessment", "乙级")],
        ),
        kmsurvey=make_agency(
            "昆明测绘院有限公司",
            region_code="530100",
            items=[items["survey_b"]],
            certs=[("surveying", "乙级")],
            credit=("C", "60"),
        ),
        lapsed=make_agency(
            "昆明过期环境监测有限公司",
            region_code="530103",
            items=[items["eia"]],
            credit=("D", "40"),
        ),
        draft=make_agency(
            "云南草稿环境有限公司",
            region_code="530102",
            items=[items["eia"]],
            certs=[("eia-unit", "")],
            status=EnrolmentStatus.DRAFT,
        ),
    )


def build_index(backend, *kind_names: str) -> None:
    """A full rebuild of ``kind_names`` (default: every kind) in ``backend``."""
    kinds = [get_kind(n) for n in kind_names] if kind_names else all_kinds()
    for kind in kinds:
        reindex(kind, backend)


def find(backend, params: dict | None = None, kind: str = "agency") -> SearchResult:
    """Parses ``params`` for ``kind`` and searches ``backend`` directly (no fallback)."""
    result = backend.search(parse(get_kind(kind), params or {}))
    assert result.backend == backend.name
    return result


def ids(result: SearchResult) -> list[str]:
    return [h.id for h in result.hits]


def names(result: SearchResult) -> list[str]:
    return [h.data.get("name") or h.data.get("title") for h in result.hits]


def found(backend, q: str, kind: str = "agency", **params) -> set[str]:
    """The names (titles) found for the text ``q``."""
    return set(names(find(backend, {"q": q, "page_size": "50", **params}, kind)))


def facet(result: SearchResult, param: str) -> dict[str, int] | None:
    """{bucket value: count} of a facet, or None when the facet is not shown."""
    for f in result.facets:
        if f.param == param:
            return {b.value: b.count for b in f.buckets}
    return None


def pk(agency) -> str:
    return str(agency.pk)
