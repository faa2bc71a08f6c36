"""Object-level permissions: one helper for every view and service. Deny by default.

    @rule(Enrolment, "approve")
    def reviewer_in_scope(user, enrolment) -> bool:
        return any(regulator_covers(org, enrolment.region, enrolment.industry)
                   for org in user_organisations(user, kind=OrganisationKind.REGULATOR))

    require_perm(request.user, "approve", enrolment)   # PermissionDenied -> 403

Rules for a type also apply to its subclasses. Several rules for the same (type, action) are
alternatives: any one returning True allows. No rule, an inactive user, or an anonymous user
(unless the rule is registered with ``public=True``) means "denied". A rule that raises is
logged and counts as a refusal, so a bug becomes a 403, never a 500.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from marketplace.models import (
    MANAGING_ROLES,
    AuditEvent,
    Notification,
    Organisation,
    OrganisationKind,
    Region,
)
from marketplace.selectors import is_platform_admin, user_memberships

logger = logging.getLogger(__name__)

RuleFn = Callable[[object, object], bool]
_rules: dict[tuple[type, str], list[tuple[RuleFn, bool]]] = defaultdict(list)


def rule(model_or_type: type, action: str, *, public: bool = False) -> Callable[[RuleFn], RuleFn]:
    """Registers ``fn(user, obj) -> bool`` for ``action`` on instances of ``model_or_type``.
    ``public=True`` lets anonymous users reach the rule (e.g. viewing a published page)."""

    def register(fn: RuleFn) -> RuleFn:
        entries = _rules[(model_or_type, action)]
        key = f"{fn.__module__}.{fn.__qualname__}"
        # Re-registering the same function (module reloaded) replaces it instead of stacking.
        entries[:] = [e for e in entries if f"{e[0].__module__}.{e[0].__qualname__}" != key]
        entries.append((fn, public))
        return fn

    return register


def _rules_for(obj, action: str):
    cls = obj if isinstance(obj, type) else type(obj)
    for klass in cls.__mro__:
        yield from _rules.get((klass, action), ())


def has_perm(user, action: str, obj) -> bool:
    if obj is None:
        return False
    authenticated = bool(user is not None and getattr(user, "is_authenticated", False))
    if authenticated and not getattr(user, "is_active", False):
        return False
    for fn, public in _rules_for(obj, action):
        if not authenticated and not public:
            continue
        try:
            if fn(user, obj):
                return True
        except Exception:  # deny, loudly; a permission bug must not be a 500
            logger.exception("permission rule %s raised for %r on %r", fn.__qualname__, action, obj)
    return False


def require_perm(user, action: str, obj) -> None:
    if not has_perm(user, action, obj):
        raise PermissionDenied(f"not allowed to {action} this object")


# --- helpers ----------------------------------------------------------------------------------


def is_member(user, organisation, roles=None) -> bool:
    return any(
        m.organisation_id == organisation.pk and (roles is None or m.role in roles)
        for m in user_memberships(user)
    )


def regulator_covers(org: Organisation, region, industry) -> bool:
    """Whether regulator ``org`` supervises ``region`` (anything in its scope region's
    subtree) in ``industry``. ``region`` is a Region or a code, ``industry`` an Industry or a
    code. Anything missing means "no"."""
    from marketplace.models import Industry

    if org is None or org.kind != OrganisationKind.REGULATOR or not org.is_active:
        return False
    if org.scope_region_id is None or region is None or industry is None:
        return False
    if not isinstance(region, Region):
        region = Region.objects.filter(pk=str(region)).first()
        if region is None:
            return False
    if not org.scope_region.contains(region):
        return False
    if org.scope_all_industries:
        return True
    if isinstance(industry, Industry):
        industry_filter = {"pk": industry.pk}
    else:
        industry_filter = {"code": str(industry)}
    prefetched = getattr(org, "_prefetched_objects_cache", {}).get("scope_industries")
    if prefetched is not None:
        key, value = next(iter(industry_filter.items()))
        return any(getattr(i, key) == value for i in prefetched)
    return org.scope_industries.filter(**industry_filter).exists()


# --- built-in rules -------------------------------------------------------------------------


@rule(Organisation, "view")
def _organisation_view(user, org) -> bool:
    return is_member(user, org) or is_platform_admin(user)


@rule(Organisation, "manage")
def _organisation_manage(user, org) -> bool:
    return is_member(user, org, roles=MANAGING_ROLES) or is_platform_admin(user)


@rule(Region, "view", public=True)
def _region_view(user, region) -> bool:
    return True


@rule(Notification, "view")
@rule(Notification, "mark_read")
def _own_notification(user, notification) -> bool:
    return notification.recipient_id == user.pk


@rule(AuditEvent, "view")
def _audit_view(user, event) -> bool:
    if is_platform_admin(user):
        return True
    return event.organisation_id is not None and any(
        m.organisation_id == event.organisation_id and m.role in MANAGING_ROLES
        for m in user_memberships(user)
    )


# --- views ----------------------------------------------------------------------------------


class PermissionRequiredObjectMixin:
    """For single-object class-based views (DetailView, UpdateView …): ``get_object`` checks
    ``permission_action`` on the object. Missing object → 404; refused → 403 (or 404 with
    ``deny_as_404 = True``, for objects whose existence is itself confidential); anonymous and
    refused → redirect to the login page. Never a 500."""

    permission_action: str = "view"
    deny_as_404: bool = False

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        if not has_perm(self.request.user, self.permission_action, obj):
            self._object_denied = True
            if self.deny_as_404:
                raise Http404
            raise PermissionDenied
        return obj

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            raise


def object_permission_required(
    action: str,
    model,
    *,
    lookup_field: str = "pk",
    url_kwarg: str = "pk",
    deny_as_404: bool = False,
):
    """Decorator for function views: loads ``model`` by ``url_kwarg`` (404 if missing), checks
    ``action`` and calls ``view(request, obj, **other_kwargs)``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            value = kwargs.pop(url_kwarg)
            queryset = model._default_manager.all() if hasattr(model, "_default_manager") else model
            obj = get_object_or_404(queryset, **{lookup_field: value})
            if not has_perm(request.user, action, obj):
                if deny_as_404:
                    raise Http404
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                raise PermissionDenied
            return view(request, obj, *args, **kwargs)

        return wrapped

    return decorator
