"""What the HTML search pages show, built from a ``SearchResult``: facet panels whose values
are links, the selected values as removable chips, and pagination bounded by
``result.pages``. Every link keeps the other parameters and goes back to the first page; a
link that changes a parameter also drops the parameters that depend on it (``level`` needs
``qualification``). Plain links and GET forms: the pages work without JavaScript.

Queries: none, except a selected region's trail back up (one) and the label of a selected
value that no bucket carries (one per such value, through the kind's ``bucket_labels``) — a
fixed number whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from search.kinds.base import Facet, SearchKind
from search.query import SearchResult

# Buckets listed at once per facet; the rest sit behind a "more" disclosure (<details>).
VISIBLE_BUCKETS = 8


def submitted(query) -> QueryDict:
    """The query string without blank values: an empty search box or an "any" choice submits
    ``q=`` or ``industry=``, which mean "not given" on a page, not an error."""
    cleaned = QueryDict(mutable=True)
    for key, values in query.lists():
        kept = [v for v in values if v.strip()]
        if kept:
            cleaned.setlist(key, kept)
    return cleaned


def link_params(query) -> dict[str, str]:
    """One value per parameter (the search accepted the query, so there is only one)."""
    return {key: query[key] for key in query}


def href(params: dict[str, str], *, drop=(), **changes) -> str:
    """``?…`` for ``params`` with ``changes`` set and ``drop`` (and the page) removed."""
    merged = {k: v for k, v in params.items() if k not in drop and k != "page"}
    merged.update({k: v for k, v in changes.items() if v not in (None, "")})
    return "?" + urlencode(merged) if merged else "?"


def dependents(kind: SearchKind) -> dict[str, tuple[str, ...]]:
    """param -> the parameters that only make sense with it."""
    found: dict[str, list[str]] = {}
    for facet in kind.facets:
        if facet.requires:
            found.setdefault(facet.requires, []).append(facet.param)
    return {k: tuple(v) for k, v in found.items()}


@dataclass
class FacetLink:
    label: str
    count: int
    url: str
    selected: bool = False


@dataclass
class TrailStep:
    label: str
    url: str | None  # None: the current value


@dataclass
class FacetPanel:
    param: str
    label: str
    links: list[FacetLink]
    more: list[FacetLink] = field(default_factory=list)
    # A hierarchical facet's way back up: "all regions › 云南省 › 昆明市".
    trail: list[TrailStep] = field(default_factory=list)
    clear_url: str | None = None  # set when a value is selected


@dataclass
class Chip:
    label: str
    url: str  # removes it


@dataclass
class PageLink:
    number: int | None  # None: a gap (…)
    url: str = ""
    current: bool = False


@dataclass
class Pagination:
    page: int
    pages: int
    previous_url: str | None
    next_url: str | None
    links: list[PageLink]
    first: int  # 1-based position of the first result shown
    last: int


@dataclass
class Presentation:
    panels: list[FacetPanel]
    chips: list[Chip]
    pagination: Pagination | None
    sorts: list[tuple[str, str]]  # (param, label) offered for the current query
    past_last_page_url: str | None  # the page asked for is beyond the results

    def context(self, result: SearchResult) -> dict:
        """What the result templates (directory, catalog) read."""
        return {
            "hits": [hit.data for hit in result.hits],
            "panels": self.panels,
            "chips": self.chips,
            "pagination": self.pagination,
            "past_last_page_url": self.past_last_page_url,
        }


def present(kind: SearchKind, result: SearchResult, params: dict[str, str]) -> Presentation:
    deps = dependents(kind)
    by_param = {f.param: f for f in result.facets}
    raw = result.request.raw_filters
    trails = {
        facet.param: _trail(facet, raw[facet.param], params)
        for facet in kind.facets
        if facet.levels and raw.get(facet.param)
    }
    panels = []
    for facet in kind.facets:
        found = by_param.get(facet.param)
        trail = trails.get(facet.param, [])
        if found is None and not trail:
            continue  # hidden (a level before a qualification is chosen)
        drop = (facet.param, *deps.get(facet.param, ()))
        links = []
        for bucket in found.buckets if found else []:
            if bucket.selected:
                url = href(params, drop=drop)
            else:
                url = href(params, drop=deps.get(facet.param, ()), **{facet.param: bucket.value})
            links.append(FacetLink(bucket.label, bucket.count, url, bucket.selected))
        if not links and not trail and facet.param not in raw:
            continue
        panels.append(
            FacetPanel(
                param=facet.param,
                label=str(found.label if found else facet.label),
                links=links[:VISIBLE_BUCKETS],
                more=links[VISIBLE_BUCKETS:],
                trail=trail,
                clear_url=href(params, drop=drop) if facet.param in raw else None,
            )
        )
    return Presentation(
        panels=panels,
        chips=_chips(kind, result, params, trails, deps),
        pagination=_pagination(result, params),
        sorts=[
            (s.param, str(s.label))
            for s in kind.sorts
            if s.field is not None or result.request.text
        ],
        past_last_page_url=(
            _page_href(params, result.pages) if result.request.page > result.pages else None
        ),
    )


def _trail(facet: Facet, value: str, params: dict[str, str]) -> list[TrailStep]:
    """The selected region and the regions above it, each a link but the last; first a link
    to every region. One query. (GB/T 2260 codes: 53 province, 5301 prefecture, 530102.)"""
    from marketplace.models import Region

    candidates = {value[:2] + "0000", value[:4] + "00", value}
    rows = {r.code: r for r in Region.objects.filter(code__in=candidates)}
    selected = rows.get(value)
    if selected is None:
        return []
    path = [c for c in (selected.province_code, selected.prefecture_code) if c and c != value]
    steps = [TrailStep(_("All regions"), href(params, drop=(facet.param,)))]
    steps += [
        TrailStep(rows[code].name, href(params, **{facet.param: code}))
        for code in path
        if code in rows
    ]
    steps.append(TrailStep(selected.name, None))
    return steps


def _chips(kind, result, params, trails, deps) -> list[Chip]:
    request = result.request
    chips = []
    if request.text:
        text = params.get("q", request.text)
        chips.append(Chip(_("Text: “%(text)s”") % {"text": text}, href(params, drop=("q",))))
    selected_labels = {f.param: b.label for f in result.facets for b in f.buckets if b.selected}
    for facet in kind.facets:
        value = request.raw_filters.get(facet.param)
        if not value:
            continue
        if trails.get(facet.param):
            label = trails[facet.param][-1].label
        elif facet.param in selected_labels:
            label = selected_labels[facet.param]
        else:
            stored = request.filters[facet.param][1]
            label = str(kind.bucket_labels(facet, [stored], request.raw_filters).get(stored, value))
        chips.append(
            Chip(
                _("%(facet)s: %(value)s") % {"facet": capfirst(str(facet.label)), "value": label},
                href(params, drop=(facet.param, *deps.get(facet.param, ()))),
            )
        )
    return chips


def _page_href(params: dict[str, str], number: int) -> str:
    return href(params, page=str(number) if number > 1 else None)


def _pagination(result: SearchResult, params: dict[str, str]) -> Pagination | None:
    page, pages = result.request.page, result.pages
    if pages <= 1 and page <= 1:
        return None
    numbers = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[PageLink] = []
    for number in numbers:
        if links and links[-1].number is not None and number - links[-1].number > 1:
            links.append(PageLink(None))
        links.append(PageLink(number, _page_href(params, number), current=number == page))
    size = result.request.page_size
    first = result.request.offset + 1
    return Pagination(
        page=page,
        pages=pages,
        previous_url=_page_href(params, min(page - 1, pages)) if page > 1 else None,
        next_url=_page_href(params, page + 1) if page < pages else None,
        links=links,
        first=first,
        last=min(result.total, result.request.offset + size),
    )


__all__ = ["Presentation", "href", "link_params", "present", "submitted"]
