"""The registry of searchable kinds. A kind module registers itself when imported; the app's
ready() imports the built-in ones: agencies, service items and announcements (procurement)."""

from __future__ import annotations

from search.kinds.base import SearchKind

_kinds: dict[str, SearchKind] = {}


def register(kind: SearchKind) -> SearchKind:
    _kinds[kind.name] = kind
    return kind


def get_kind(name: str) -> SearchKind:
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"unknown search kind {name!r}; known: {sorted(_kinds)}") from None


def all_kinds() -> list[SearchKind]:
    return list(_kinds.values())
