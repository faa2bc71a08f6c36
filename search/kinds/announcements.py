"""The announcements' documents (采购公告检索, /procurement/ and the API).

In the index: announcements that were published (``published_at`` set) and are not drafts — a
draft, or a draft cancelled before it was ever published, is never indexed (documents() says
None, so a sync deletes it). Each document carries:

- the title; the announcement number (exact keyword, and as text so a part of it matches),
  the project's name, the service item's title, the project location's region names and the
  owner's name as text; the project's 投资项目统一代码 as an exact keyword;
- facets: status (public statuses only), service item (code), its industry, the project
  location's region path (province, prefecture, county: hierarchical like the agency kind's)
  and the selection method;
- two sorts besides relevance. The backends know one numeric sort and the "name" key (a
  string, ascending): the numeric one is the registration deadline of an announcement open for
  registration (minutes since 2020, exact in Elasticsearch's 32-bit float until 2051; closed
  ones have none and sort after the open ones), and the "name" key orders the newest
  publication first, so that it is also the order without a sort and the tie-break;
- the card's data: code, title, status, item, region, ceiling, the dates (ISO 8601), etc."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from search.documents import IndexDoc
from search.kinds import register
from search.kinds.base import BadFilter, Facet, SearchKind, Sort
from search.kinds.common import SHARED_FACETS, clean_shared, region_depth, shared_labels

# Minutes since this moment are the deadline sort value (small enough for a float32).
_EPOCH = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
# Microseconds since _EPOCH are subtracted from this to make the newest-first key (fixed
# width: 17 digits last until the year 5188).
_NEWEST_BASE = 10**17


def newest_first_key(published_at: datetime.datetime, code: str) -> str:
    """An ASCII key whose ascending order is the newest publication first (then the code)."""
    delta = published_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{_NEWEST_BASE - micros:017d} {code}"


def deadline_minutes(deadline: datetime.datetime | None) -> float | None:
    if deadline is None:
        return None
    return float(int((deadline - _EPOCH).total_seconds()) // 60)


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


class AnnouncementKind(SearchKind):
    def __init__(self):
        super().__init__(
            name="announcement",
            label=_("announcements"),
            facets=(
                Facet("status", "status", _("status")),
                Facet(
                    "region",
                    "region",
                    _("region"),
                    levels=("region_1", "region_2", "region_3"),
                    size=50,
                ),
                Facet("industry", "industry", _("industry")),
                Facet("item", "item", _("service item"), size=40),
                Facet("method", "method", _("selection method")),
            ),
            sorts=(
                Sort("relevance", _("relevance"), None),
                Sort("newest", _("newest published"), "name"),
                Sort("deadline", _("registration closing soonest"), "deadline"),
            ),
            numeric_sort="deadline",
        )

    # --- documents ------------------------------------------------------------------------

    def _queryset(self):
        from procurement.models import PUBLIC_STATUSES, Announcement

        return Announcement.objects.filter(
            status__in=PUBLIC_STATUSES, published_at__isnull=False
        ).select_related("project__region", "project__owner__organisation", "service_item")

    def documents(self, ids: Iterable[str]) -> dict[str, IndexDoc | None]:
        wanted = {str(i) for i in ids}
        int_ids = [int(i) for i in wanted if i.isdigit()]
        found = {d.id: d for d in self._build(list(self._queryset().filter(pk__in=int_ids)))}
        return {i: found.get(i) for i in wanted}

    def iter_documents(self, *, batch_size: int = 500) -> Iterator[list[IndexDoc]]:
        last = 0
        while True:
            rows = list(self._queryset().filter(pk__gt=last).order_by("pk")[:batch_size])
            if not rows:
                return
            last = rows[-1].pk
            yield self._build(rows)

    def count(self) -> int:
        return self._queryset().count()

    def _build(self, announcements: list) -> list[IndexDoc]:
        if not announcements:
            return []
        from agencies.selectors import industry_pages_by_path, item_industry
        from marketplace.models import Region
        from procurement.models import AnnouncementStatus

        pages_by_path = industry_pages_by_path()
        paths = {}
        for a in announcements:
            region = a.project.region
            paths[a.pk] = list(
                dict.fromkeys(
                    c for c in (region.province_code, region.prefecture_code, region.code) if c
                )
            )
        codes = {c for path in paths.values() for c in path}
        region_names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
        docs = []
        for a in announcements:
            project = a.project
            item = a.service_item
            owner_name = project.owner.organisation.name
            path = paths[a.pk]
            names = [region_names[c] for c in path if c in region_names]
            industry = item_industry(item, pages_by_path)
            open_now = a.status == AnnouncementStatus.PUBLISHED
            docs.append(
                IndexDoc(
                    id=str(a.pk),
                    title=a.title,
                    keywords=[k for k in (a.code, project.code) if k],
                    text=[a.code, project.name, item.title, *names, owner_name],
                    facets={
                        "status": [a.status],
                        "region": path,
                        **{f"region_{n + 1}": [code] for n, code in enumerate(path[:3])},
                        "industry": [industry.code] if industry else [],
                        "item": [item.code] if item.code else [],
                        "method": [a.method],
                    },
                    sort={
                        "name": newest_first_key(a.published_at, a.code),
                        "deadline": deadline_minutes(a.registration_deadline) if open_now else None,
                    },
                    data={
                        "code": a.code,
                        "title": a.title,
                        "url": reverse("procurement:detail", args=[a.code]),
                        "status": a.status,
                        "method": a.method,
                        "item": {"code": item.code, "title": item.title},
                        "industry": industry.name if industry else "",
                        "region": "".join(names),
                        "region_code": path[-1] if path else "",
                        "project": project.name,
                        "owner": owner_name,
                        "ceiling": str(a.budget_ceiling),
                        "published_at": _iso(a.published_at),
                        "registration_deadline": _iso(a.registration_deadline),
                        "publicity_ends_at": _iso(a.publicity_ends_at),
                    },
                )
            )
        return docs

    # --- filters and labels ---------------------------------------------------------------

    def clean_filter(self, facet: Facet, value: str, filters: dict[str, str]) -> str:
        from procurement.models import PUBLIC_STATUSES, SelectionMethod

        if facet.param == "status":
            if value not in PUBLIC_STATUSES:
                raise BadFilter(
                    _("Unknown status “%(value)s”. Allowed: %(allowed)s.")
                    % {"value": value[:20], "allowed": ", ".join(PUBLIC_STATUSES)}
                )
            return value
        if facet.param == "method":
            if value not in SelectionMethod.values:
                raise BadFilter(
                    _("Unknown selection method “%(value)s”. Allowed: %(allowed)s.")
                    % {"value": value[:20], "allowed": ", ".join(SelectionMethod.values)}
                )
            return value
        if facet.param in SHARED_FACETS:
            # Any item page, live or not: an announcement of a withdrawn item stays public.
            return clean_shared(facet.param, value, live_items_only=False)
        return value

    def hierarchy_depth(self, facet: Facet, value: str) -> int:
        return region_depth(value)

    def bucket_labels(self, facet: Facet, values: list[str], filters: dict[str, str]) -> dict:
        from procurement.models import AnnouncementStatus, SelectionMethod

        if facet.param == "status":
            return {
                v: str(AnnouncementStatus(v).label)
                for v in values
                if v in AnnouncementStatus.values
            }
        if facet.param == "method":
            return {v: str(SelectionMethod(v).label) for v in values if v in SelectionMethod.values}
        if facet.param in SHARED_FACETS:
            return shared_labels(facet.param, values)
        return {v: v for v in values}


ANNOUNCEMENTS = register(AnnouncementKind())

__all__ = ["ANNOUNCEMENTS", "AnnouncementKind", "deadline_minutes", "newest_first_key"]
