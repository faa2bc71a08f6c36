"""The agency directory's documents (名录检索).

In the index: approved agencies (the public directory's set, agencies.selectors.
agency_public_queryset). A suspended or withdrawn agency leaves the index when its status
changes (search/signals.py). Each document carries:

- name, former names (from approved name changes) and USCC (exact keyword);
- the registered region's path: province, prefecture, county (a hierarchical facet);
- declared service items (codes and titles) and their industries;
- usable qualification certificates: type, and ``type:level`` for the level held *and every
  lower level*, so ``level=乙级`` finds 甲级 holders too (a 甲级 certificate meets a 乙级
  requirement, QualificationType.meets);
- eligibility now (approved, qualified for at least one declared item and not barred by a
  sanction in effect; the barring sanction is in the data as ``sanction``);
- offering price range, credit grade and score, contract count (credit is maintained by the
  ratings app, contracts by procurement; until then unrated and 0);
- the ratings' overall average and count (ratings.selectors.rating_summaries)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from search.documents import IndexDoc, sort_key
from search.kinds import register
from search.kinds.base import BadFilter, Facet, SearchKind, Sort
from search.kinds.common import SHARED_FACETS, clean_shared, region_depth, shared_labels

CREDIT_GRADES = ("A", "B", "C", "D")
UNRATED = "none"


class AgencyKind(SearchKind):
    def __init__(self):
        super().__init__(
            name="agency",
            label=_("agencies"),
            facets=(
                Facet(
                    "region",
                    "region",
                    _("region"),
                    levels=("region_1", "region_2", "region_3"),
                    size=50,
                ),
                Facet("industry", "industry", _("industry")),
                Facet("item", "item", _("service item"), size=40),
                Facet("qualification", "qualification", _("qualification")),
                Facet(
                    "level",
                    "qualification_level",
                    _("qualification level"),
                    requires="qualification",
                    # Counted over every type's levels, then narrowed to the chosen type's.
                    size=500,
                ),
                Facet("credit", "credit", _("credit grade")),
                Facet("eligible", "eligible", _("eligibility")),
            ),
            sorts=(
                Sort("relevance", _("relevance"), None),
                Sort("credit", _("credit"), "credit", descending=True),
                Sort("name", _("name"), "name"),
            ),
            numeric_sort="credit",
        )

    # --- documents ------------------------------------------------------------------------

    def _queryset(self):
        from agencies.models import Offering
        from agencies.selectors import agency_public_queryset
        from procurement.models import Contract

        signed = (
            Contract.objects.filter(agency=OuterRef("pk"), signed_at__isnull=False)
            .order_by()
            .values("agency")
            .annotate(n=Count("pk"))
            .values("n")
        )
        # The public set, with usable certificates and declared items prefetched, and the
        # number of contracts signed (合同数) in the same query.
        return (
            agency_public_queryset(light_items=True)
            .annotate(contract_count=Coalesce(Subquery(signed), 0))
            .prefetch_related(
                Prefetch(
                    "offerings",
                    # What the public can buy: a barred agency's hidden products do not
                    # count in its price range.
                    queryset=Offering.objects.filter(is_active=True, product__is_public=True).only(
                        "pk", "agency_id", "price", "pricing_mode", "discount_rate"
                    ),
                    to_attr="active_offerings",
                ),
            )
        )

    def documents(self, ids: Iterable[str]) -> dict[str, IndexDoc | None]:
        wanted = {str(i) for i in ids}
        int_ids = [int(i) for i in wanted if str(i).isdigit()]
        agencies = list(self._queryset().filter(pk__in=int_ids))
        found = {str(d.id): d for d in self._build(agencies)}
        return {i: found.get(i) for i in wanted}

    def iter_documents(self, *, batch_size: int = 500) -> Iterator[list[IndexDoc]]:
        from agencies.models import Agency, EnrolmentStatus

        last = 0
        while True:
            ids = list(
                Agency.objects.filter(status=EnrolmentStatus.APPROVED, pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return
            last = ids[-1]
            yield self._build(list(self._queryset().filter(pk__in=ids).order_by("pk")))

    def count(self) -> int:
        from agencies.models import Agency, EnrolmentStatus

        return Agency.objects.filter(status=EnrolmentStatus.APPROVED).count()

    def _build(self, agencies: list) -> list[IndexDoc]:
        if not agencies:
            return []
        from agencies.eligibility import item_requirements, meets_requirements
        from agencies.selectors import industry_pages_by_path, item_industry
        from marketplace.models import Region

        pages_by_path = industry_pages_by_path()
        region_codes = set()
        for agency in agencies:
            region = agency.organisation.region
            if region is not None:
                region_codes.update(
                    c for c in (region.province_code, region.prefecture_code, region.code) if c
                )
        region_names = dict(
            Region.objects.filter(code__in=region_codes).values_list("code", "name")
        )
        # The certificates prefetched are the usable ones (agency_public_queryset), so the
        # eligibility check needs only the items' requirements: one query per batch.
        requirements = item_requirements(
            {d.service_item_id for a in agencies for d in a.service_items.all()}
        )
        former = self._former_names(agencies)
        # 服务评价: average and count of each agency's ratings, one query per batch.
        from ratings.selectors import EMPTY, rating_summaries

        ratings = rating_summaries(a.pk for a in agencies)
        sanctioned = _sanctions_in_effect(agencies)
        docs = []
        for agency in agencies:
            org = agency.organisation
            region = org.region
            path = []
            if region is not None:
                path = list(
                    dict.fromkeys(
                        c for c in (region.province_code, region.prefecture_code, region.code) if c
                    )
                )
            items = [d.service_item for d in agency.service_items.all()]
            industries = {}
            for item in items:
                industry = item_industry(item, pages_by_path)
                if industry is not None:
                    industries[industry.code] = industry.name
            qual_types: dict[str, str] = {}
            qual_levels: set[str] = set()
            qual_labels = []
            for cert in agency.valid_certificates:
                qtype = cert.qualification_type
                qual_types[qtype.code] = qtype.name
                qual_labels.append(f"{qtype.name} {cert.level}".strip())
                if qtype.levels and cert.level in qtype.levels:
                    for lower in qtype.levels[qtype.levels.index(cert.level) :]:
                        qual_levels.add(f"{qtype.code}:{lower}")
            # Eligible now: qualified for at least one of its own declared items.
            eligible = any(
                meets_requirements(agency.valid_certificates, requirements.get(i.pk, []))
                for i in items
            )
            sanction = sanctioned.get(agency.pk)
            if sanction is not None:
                eligible = False  # barred by a sanction in effect (黑名单, 暂停选取资格)
            prices = [o.price for o in agency.active_offerings if o.price is not None]
            grade = getattr(agency, "credit_grade", "") or ""
            score = getattr(agency, "credit_score", None)
            rated = ratings.get(agency.pk, EMPTY)
            docs.append(
                IndexDoc(
                    id=str(agency.pk),
                    title=org.name,
                    names=[n for n in former.get(agency.pk, []) if n != org.name],
                    keywords=[org.uscc] if org.uscc else [],
                    text=[i.title for i in items],
                    facets={
                        "region": path,
                        **{f"region_{n + 1}": [code] for n, code in enumerate(path[:3])},
                        "industry": sorted(industries),
                        "item": sorted({i.code for i in items if i.code}),
                        "qualification": sorted(qual_types),
                        "qualification_level": sorted(qual_levels),
                        "credit": [grade if grade in CREDIT_GRADES else UNRATED],
                        "eligible": ["yes" if eligible else "no"],
                    },
                    sort={
                        "name": sort_key(org.name),
                        "credit": float(score) if score is not None else None,
                    },
                    data={
                        "name": org.name,
                        "uscc": org.uscc,
                        "url": reverse("agencies:profile", args=[agency.pk]),
                        "region": " ".join(region_names.get(c, "") for c in path).strip(),
                        "region_code": path[-1] if path else "",
                        "industries": list(industries.values()),
                        "items": [{"code": i.code, "title": i.title} for i in items],
                        "qualifications": qual_labels,
                        "eligible": eligible,
                        "status": agency.status,
                        "sanction": sanction,
                        "price_min": str(min(prices)) if prices else None,
                        "price_max": str(max(prices)) if prices else None,
                        "offerings": len(agency.active_offerings),
                        "credit_grade": grade if grade in CREDIT_GRADES else "",
                        "credit_score": float(score) if score is not None else None,
                        "contract_count": int(getattr(agency, "contract_count", 0) or 0),
                        "rating_average": (
                            float(rated.overall) if rated.overall is not None else None
                        ),
                        "rating_count": rated.count,
                        "approved_at": (
                            agency.approved_at.isoformat() if agency.approved_at else None
                        ),
                    },
                )
            )
        return docs

    def _former_names(self, agencies: list) -> dict[int, list[str]]:
        """Names before each approved name change (the audit record of the approval keeps
        the name it replaced)."""
        from agencies.models import ChangeRequest, ChangeRequestKind
        from marketplace.models import AuditEvent

        by_org = {a.organisation_id: a.pk for a in agencies}
        names: dict[int, list[str]] = defaultdict(list)
        rows = AuditEvent.objects.filter(
            organisation_id__in=list(by_org),
            content_type=ContentType.objects.get_for_model(ChangeRequest),
            to_state="approved",
            data__kind=ChangeRequestKind.NAME,
        ).values_list("organisation_id", "data")
        for org_id, data in rows:
            before = ((data or {}).get("before") or {}).get("name")
            if before and before not in names[by_org[org_id]]:
                names[by_org[org_id]].append(before)
        return names

    # --- filters and labels ---------------------------------------------------------------

    def clean_filter(self, facet: Facet, value: str, filters: dict[str, str]) -> str:
        from marketplace.models import QualificationType

        if facet.param in SHARED_FACETS:
            return clean_shared(facet.param, value, live_items_only=True)
        if facet.param == "qualification":
            if not QualificationType.objects.filter(code=value).exists():
                raise BadFilter(_("Unknown qualification “%(value)s”.") % {"value": value[:40]})
            return value
        if facet.param == "level":
            qtype = QualificationType.objects.filter(code=filters.get("qualification")).first()
            if qtype is None or value not in (qtype.levels or []):
                raise BadFilter(
                    _("Unknown level “%(value)s” for this qualification.") % {"value": value[:20]}
                )
            return f"{qtype.code}:{value}"
        if facet.param == "credit":
            if value not in (*CREDIT_GRADES, UNRATED):
                raise BadFilter(
                    _("Unknown credit grade “%(value)s”: use A, B, C, D or none.")
                    % {"value": value[:10]}
                )
            return value
        if facet.param == "eligible":
            if value not in ("yes", "no"):
                raise BadFilter(_("Eligibility is “yes” or “no”."))
            return value
        return value

    def hierarchy_depth(self, facet: Facet, value: str) -> int:
        return region_depth(value)

    def bucket_keep(self, facet: Facet, stored: str, filters: dict[str, str]) -> bool:
        if facet.param == "level":
            return stored.startswith(f"{filters.get('qualification')}:")
        return True

    def bucket_value(self, facet: Facet, stored: str, filters: dict[str, str]) -> str:
        if facet.param == "level":
            return stored.split(":", 1)[-1]
        return stored

    def bucket_labels(self, facet: Facet, values: list[str], filters: dict[str, str]) -> dict:
        if not values:
            return {}
        from marketplace.models import QualificationType

        if facet.param in SHARED_FACETS:
            return shared_labels(facet.param, values)
        if facet.param == "qualification":
            return dict(
                QualificationType.objects.filter(code__in=values).values_list("code", "name")
            )
        if facet.param == "level":
            return {v: _("%(level)s or higher") % {"level": v.split(":", 1)[-1]} for v in values}
        if facet.param == "credit":
            return {
                v: (_("unrated") if v == UNRATED else _("grade %(g)s") % {"g": v}) for v in values
            }
        if facet.param == "eligible":
            return {"yes": _("may be selected now"), "no": _("not selectable now")}
        return {v: v for v in values}


def _sanctions_in_effect(agencies: list) -> dict[int, dict]:
    """{agency id: the sanction barring it today, as document data} — one query per batch
    (ratings.enforcement). A barred agency stays in the directory, shows its sanction and is
    not "eligible". The ratings app re-indexes it when a bar starts or ends."""
    from ratings.enforcement import barring_sanctions

    return {
        pk: {
            "code": s.code,
            "severity": s.severity,
            "status": s.status,
            "reason_code": s.reason_code,
            "starts_on": s.starts_on.isoformat(),
            "ends_on": s.ends_on.isoformat(),
        }
        for pk, s in barring_sanctions([a.pk for a in agencies]).items()
    }


AGENCIES = register(AgencyKind())

__all__ = ["AGENCIES", "AgencyKind"]
