"""Search requests and results, independent of the backend.

``parse`` turns a query string into a ``SearchRequest`` or raises ``BadSearch`` with a message
for people: parameters are whitelisted against the kind's facets (an unknown one is an error,
never silently ignored), facet values must exist, the page is bounded. The text is never
spliced into a query string by either backend: it is passed as a value of structured queries,
so quotes, brackets, ``*`` and ``\\`` are just characters."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from search.documents import normalize
from search.kinds.base import BadFilter, SearchKind

MAX_QUERY_LENGTH = 100
MAX_TERMS = 8
RESERVED = ("q", "page", "sort", "page_size")

# A query's terms: runs of CJK ideographs, or runs of other letters and digits. Punctuation
# (the underscore included: it is a "word" character to regular expressions only) separates
# terms and is otherwise ignored, by both backends alike; splitting where the script changes
# keeps Elasticsearch's phrase positions aligned with the indexed bigrams.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
TERM = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")


class BadSearch(ValueError):
    """Invalid search input. ``param`` names the parameter at fault."""

    def __init__(self, message: str, *, param: str = ""):
        super().__init__(message)
        self.message = message
        self.param = param


def max_result_window() -> int:
    return int(settings.SEARCH.get("MAX_RESULT_WINDOW", 1000))


@dataclass
class SearchRequest:
    kind: SearchKind
    text: str = ""  # normalised
    terms: tuple[str, ...] = ()
    # param -> (document field, value): what the backends filter on.
    filters: dict[str, tuple[str, str]] = field(default_factory=dict)
    raw_filters: dict[str, str] = field(default_factory=dict)  # param -> value as given
    sort: str = "name"
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass
class Bucket:
    value: str  # the parameter value that selects it
    label: str
    count: int
    selected: bool = False


@dataclass
class FacetResult:
    param: str
    label: str
    buckets: list[Bucket]


@dataclass
class Hit:
    id: str
    data: dict


@dataclass
class SearchResult:
    request: SearchRequest
    total: int
    hits: list[Hit]
    facets: list[FacetResult]
    backend: str
    # Set when the answer comes from the fallback backend (shown to the user).
    notice: str = ""

    @property
    def pages(self) -> int:
        size = self.request.page_size
        reachable = min(self.total, max_result_window())
        return max(1, -(-reachable // size))

    def as_dict(self) -> dict:
        req = self.request
        return {
            "kind": req.kind.name,
            "query": req.text,
            "filters": req.raw_filters,
            "sort": req.sort,
            "page": req.page,
            "page_size": req.page_size,
            "pages": self.pages,
            "total": self.total,
            "backend": self.backend,
            "notice": self.notice,
            "results": [{"id": h.id, **h.data} for h in self.hits],
            "facets": [
                {
                    "param": f.param,
                    "label": str(f.label),
                    "buckets": [
                        {
                            "value": b.value,
                            "label": str(b.label),
                            "count": b.count,
                            "selected": b.selected,
                        }
                        for b in f.buckets
                    ],
                }
                for f in self.facets
            ],
        }


def _bad_characters(text: str) -> bool:
    for ch in text:
        category = unicodedata.category(ch)
        # Cc/Cf: control and format characters (zero-width joiners, direction marks);
        # Cs/Co/Cn: surrogates, private use, unassigned; So: emoji and other pictographs.
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "So"):
            return True
    return False


def clean_text(raw: str) -> str:
    text = normalize(raw)
    if not text:
        raise BadSearch(_("Enter something to search for."), param="q")
    if len(text) > MAX_QUERY_LENGTH:
        raise BadSearch(
            _("The search text is too long: at most %(max)d characters.")
            % {"max": MAX_QUERY_LENGTH},
            param="q",
        )
    if _bad_characters(text):
        raise BadSearch(
            _(
                "The search text contains emoji or control characters; use words, letters or "
                "digits."
            ),
            param="q",
        )
    if not any(ch.isalnum() for ch in text):
        raise BadSearch(
            _("The search text has only punctuation or symbols; enter words, letters or digits."),
            param="q",
        )
    return text


def _positive_int(raw: str, param: str, message: str) -> int:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        raise BadSearch(message, param=param)
    return int(raw)


def parse(kind: SearchKind, params) -> SearchRequest:
    """``params`` is a QueryDict (or a dict of lists / strings)."""
    getlist = (
        params.getlist
        if hasattr(params, "getlist")
        else (lambda k: v if isinstance((v := params.get(k)), list) else [v])
    )
    keys = list(params.keys())
    known = set(RESERVED) | {f.param for f in kind.facets}
    unknown = sorted(k for k in keys if k not in known)
    if unknown:
        raise BadSearch(
            _("Unknown search parameter: %(names)s. Allowed: %(allowed)s.")
            % {"names": ", ".join(unknown)[:200], "allowed": ", ".join(sorted(known))},
            param=unknown[0],
        )
    single: dict[str, str] = {}
    for key in keys:
        values = [v for v in getlist(key) if v is not None]
        if len(values) > 1:
            raise BadSearch(
                _("The parameter “%(name)s” was given more than once.") % {"name": key},
                param=key,
            )
        single[key] = (values[0] if values else "") or ""

    request = SearchRequest(kind=kind, page_size=kind.default_page_size)
    if "q" in single:
        request.text = clean_text(single["q"])
        terms = tuple(dict.fromkeys(TERM.findall(request.text)))
        if len(terms) > MAX_TERMS:
            raise BadSearch(_("Too many words: at most %(max)d.") % {"max": MAX_TERMS}, param="q")
        request.terms = terms

    raw_filters = {k: v.strip() for k, v in single.items() if k not in RESERVED and v.strip() != ""}
    for param, value in raw_filters.items():
        facet = kind.facet(param)
        if len(value) > 100:
            raise BadSearch(
                _("The value of “%(name)s” is too long.") % {"name": param}, param=param
            )
        if facet.requires and facet.requires not in raw_filters:
            raise BadSearch(
                _("“%(name)s” can only be used together with “%(other)s”.")
                % {"name": param, "other": facet.requires},
                param=param,
            )
        try:
            stored = kind.clean_filter(facet, value, raw_filters)
        except BadFilter as exc:
            raise BadSearch(str(exc), param=param) from exc
        request.filters[param] = (facet.field, stored)
    request.raw_filters = raw_filters

    sort = single.get("sort", "").strip()
    if sort:
        if kind.sort(sort) is None:
            raise BadSearch(
                _("Unknown sort “%(value)s”. Allowed: %(allowed)s.")
                % {"value": sort[:40], "allowed": ", ".join(s.param for s in kind.sorts)},
                param="sort",
            )
        request.sort = sort
    else:
        request.sort = "relevance" if request.text else "name"
    if request.sort == "relevance" and not request.text:
        request.sort = "name"  # nothing to be relevant to

    if single.get("page_size", "").strip():
        size = _positive_int(
            single["page_size"], "page_size", _("The page size must be a whole number.")
        )
        if size not in kind.page_sizes:
            raise BadSearch(
                _("The page size must be one of %(sizes)s.")
                % {"sizes": ", ".join(str(s) for s in kind.page_sizes)},
                param="page_size",
            )
        request.page_size = size
    if single.get("page", "").strip():
        request.page = _positive_int(
            single["page"], "page", _("The page must be a whole number, 1 or more.")
        )
    window = max_result_window()
    if request.page * request.page_size > window:
        raise BadSearch(
            _(
                "Only the first %(max)d results can be paged through; add a filter or more "
                "words to narrow the search."
            )
            % {"max": window},
            param="page",
        )
    return request
