"""The catalog's documents (中介服务事项): live service item pages, searched on /catalog/ and
through the API. Text: title, summary, department, approval matters and laws; the item code is
an exact keyword. Facets: industry, responsible department, and whether the fee is set by a
fee rule (政府指导价) or by the market."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.utils.translation import gettext_lazy as _

from search.documents import IndexDoc, sort_key
from search.kinds import register
from search.kinds.base import BadFilter, Facet, SearchKind, Sort


class ServiceItemKind(SearchKind):
    def __init__(self):
        super().__init__(
            name="service_item",
            label=_("service items"),
            facets=(
                Facet("industry", "industry", _("industry")),
                Facet("department", "department", _("responsible department"), size=50),
                Facet("fee", "fee", _("fee")),
            ),
            sorts=(
                Sort("relevance", _("relevance"), None),
                Sort("name", _("name"), "name"),
            ),
        )

    def _queryset(self):
        from cms.models import ServiceItemPage

        return (
            ServiceItemPage.objects.live()
            .select_related("fee_rule")
            .prefetch_related("approval_matters", "legal_bases")
        )

    def documents(self, ids: Iterable[str]) -> dict[str, IndexDoc | None]:
        wanted = {str(i) for i in ids}
        pages = list(self._queryset().filter(pk__in=[int(i) for i in wanted if i.isdigit()]))
        found = {d.id: d for d in self._build(pages)}
        return {i: found.get(i) for i in wanted}

    def iter_documents(self, *, batch_size: int = 500) -> Iterator[list[IndexDoc]]:
        last = 0
        while True:
            pages = list(self._queryset().filter(pk__gt=last).order_by("pk")[:batch_size])
            if not pages:
                return
            last = pages[-1].pk
            yield self._build(pages)

    def count(self) -> int:
        from cms.models import ServiceItemPage

        return ServiceItemPage.objects.live().count()

    def _build(self, pages: list) -> list[IndexDoc]:
        from agencies.selectors import industry_pages_by_path, item_industry

        if not pages:
            return []
        by_path = industry_pages_by_path()
        docs = []
        for page in pages:
            industry = item_industry(page, by_path)
            matters = [m.name for m in page.approval_matters.all()]
            laws = [b.law_name for b in page.legal_bases.all()]
            regulated = page.fee_rule_id is not None
            docs.append(
                IndexDoc(
                    id=str(page.pk),
                    title=page.title,
                    keywords=[page.code] if page.code else [],
                    text=[page.summary, page.responsible_department, *matters, *laws],
                    facets={
                        "industry": [industry.code] if industry else [],
                        "department": [page.responsible_department]
                        if page.responsible_department
                        else [],
                        "fee": ["rule" if regulated else "market"],
                    },
                    sort={"name": sort_key(page.title)},
                    data={
                        "title": page.title,
                        "code": page.code,
                        "url": page.url or "",
                        "industry": industry.name if industry else "",
                        "industry_code": industry.code if industry else "",
                        "department": page.responsible_department,
                        "time_limit_days": page.time_limit_days,
                        "summary": (page.summary or "")[:200],
                        "approval_matters": matters,
                        "fee_rule": page.fee_rule.name if regulated else "",
                    },
                )
            )
        return docs

    def clean_filter(self, facet: Facet, value: str, filters: dict[str, str]) -> str:
        from cms.models import ServiceItemPage
        from marketplace.models import Industry

        if facet.param == "industry" and not Industry.objects.filter(code=value).exists():
            raise BadFilter(_("Unknown industry “%(value)s”.") % {"value": value[:40]})
        if facet.param == "department" and not (
            ServiceItemPage.objects.live().filter(responsible_department=value).exists()
        ):
            raise BadFilter(_("Unknown department “%(value)s”.") % {"value": value[:40]})
        if facet.param == "fee" and value not in ("rule", "market"):
            raise BadFilter(_("The fee filter is “rule” or “market”."))
        return value

    def bucket_labels(self, facet: Facet, values: list[str], filters: dict[str, str]) -> dict:
        from marketplace.models import Industry

        if facet.param == "industry" and values:
            return {i.code: i.display_name for i in Industry.objects.filter(code__in=values)}
        if facet.param == "fee":
            return {"rule": _("set by a fee standard"), "market": _("market-regulated")}
        return {v: v for v in values}


SERVICE_ITEMS = register(ServiceItemKind())

__all__ = ["SERVICE_ITEMS", "ServiceItemKind"]
