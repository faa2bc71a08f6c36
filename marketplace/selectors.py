"""Reads of the core. Services and views call these instead of building querysets inline."""

from __future__ import annotations

from django.db.models import QuerySet

from marketplace.models import Membership, Organisation, OrganisationKind, Region, Role

_MEMBERSHIP_CACHE = "_mp_memberships"


def user_memberships(user) -> list[Membership]:
    """The user's active memberships in active organisations, with their organisation. Cached
    on the user object, so a request pays one query however many checks it makes."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, _MEMBERSHIP_CACHE, None)
    if cached is None:
        cached = list(
            Membership.objects.filter(
                user_id=user.pk, is_active=True, organisation__is_active=True
            ).select_related("organisation")
        )
        setattr(user, _MEMBERSHIP_CACHE, cached)
    return cached


def forget_memberships(user) -> None:
    if user is not None and hasattr(user, _MEMBERSHIP_CACHE):
        delattr(user, _MEMBERSHIP_CACHE)


def user_organisations(user, *, kind: str | None = None, roles=None) -> list[Organisation]:
    return [
        m.organisation
        for m in user_memberships(user)
        if (kind is None or m.organisation.kind == kind) and (roles is None or m.role in roles)
    ]


def is_platform_admin(user) -> bool:
    return any(
        m.role == Role.PLATFORM_ADMIN and m.organisation.kind == OrganisationKind.PLATFORM
        for m in user_memberships(user)
    )


def region_children(code: str | None) -> QuerySet[Region]:
    """Direct children of a region (provinces when ``code`` is None), by code."""
    if code is None:
        return Region.objects.filter(parent__isnull=True).order_by("code")
    return Region.objects.filter(parent_id=code).order_by("code")


def region_subtree(region: Region, *, include_self: bool = True) -> QuerySet[Region]:
    return Region.objects.filter(region.descendant_q(include_self=include_self))
