"""The backend-neutral index document and text normalisation.

Every kind of searchable thing (agencies, catalog service items, later announcements) is turned
into an ``IndexDoc`` by its kind (search/kinds/). Both backends consume the same documents, so the
database backend and Elasticsearch agree on what matches, how it is filtered and what it shows.

Text is normalised once, here, with the same function at index and at query time: NFKC (full-
width Ｈｅｌｌｏ and （集团） become Hello and (集团)), lower case, collapsed white space."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().lower()


def sort_key(name: str) -> str:
    """A name's sort key in pinyin order (重庆 sorts as chong qing), then the name itself so
    homophones keep a stable order. ASCII, so PostgreSQL, SQLite and Elasticsearch's keyword
    order agree byte for byte."""
    from pypinyin import Style, lazy_pinyin

    normal = normalize(name)
    syllables = lazy_pinyin(normal, style=Style.NORMAL, errors="default")
    # Syllables joined by "_", which sorts below every letter (huan_ before huang), and the
    # end of the pinyin marked by " ", which sorts below "_": so a name sorts before its own
    # extensions (环境公司 before 环境公司昆明分公司).
    key = "_".join(w for s in syllables for w in s.split() if w)
    # The name's code points in hex keep the key ASCII while making it unique per name.
    return (key[:200] + " " + normal.encode("utf-8").hex())[:290]


@dataclass
class IndexDoc:
    """One searchable object.

    ``title``       the display name; an exact or prefix match on it ranks first;
    ``names``       other names matched as text (e.g. an agency's former names);
    ``keywords``    identifiers matched exactly, whole (USCC, item code), upper-cased;
    ``text``        further text matched at a lower weight (declared items, scope of service);
    ``facets``      facet field -> values: what filters and aggregations see;
    ``sort``        sort field -> value (``None`` sorts last);
    ``data``        what a result card shows, returned as stored (JSON types only)."""

    id: str
    title: str
    names: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    facets: dict[str, list[str]] = field(default_factory=dict)
    sort: dict[str, object] = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    @property
    def title_norm(self) -> str:
        return normalize(self.title)

    @property
    def search_text(self) -> str:
        """Everything matched as text, normalised, one field per line (a line break never
        occurs inside a normalised value, so a match never spans two fields)."""
        return "\n".join(normalize(t) for t in (self.title, *self.names, *self.text) if t)

    def as_dict(self) -> dict:
        return asdict(self)

    def fingerprint(self) -> str:
        """A digest of everything the index holds for this document: equal fingerprints mean
        the index is up to date (used by the reconcile job). Computed once: documents are
        built, compared and written, never changed."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            payload = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, default=str)
            cached = hashlib.sha1(payload.encode("utf-8"), usedforsecurity=False).hexdigest()
            self.__dict__["_fingerprint"] = cached
        return cached
