"""The public procurement pages (公开): the announcement directory (/procurement/), an
announcement's page with its draw, registrants, objections and timeline, the draw record as
JSON and the standalone verifier (DESIGN §6: anyone can recompute a draw).

Drafts are never public: their pages are 404s and they are not in the search index. Nor is a
draft cancelled before publication (it was never public). What is shown of registrants is
public information: agency names, USCCs, eligibility outcomes with their reasons; never a
person's name or contact.

Fixed number of queries whatever the number of registrations and events
(tests/procurement/test_public.py)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from procurement import draw as draw_module
from procurement.models import (
    Announcement,
    AnnouncementStatus,
    Draw,
    RegionScope,
    RegistrationStatus,
    SelectionMethod,
)
from procurement.timeline import announcement_timeline
from search.views import directory_page

KIND = "announcement"
DEFAULT_SORT = "newest"  # without a sort (and a text) the kind orders by its "name" key: newest


def _public(queryset):
    """Announcements the public may see: published once, and not a draft."""
    return queryset.filter(published_at__isnull=False).exclude(status=AnnouncementStatus.DRAFT)


def _parse_time(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def _card(data: dict) -> dict:
    """A result card: the document's data with labels and datetimes (no query)."""
    card = dict(data)
    status = data.get("status", "")
    method = data.get("method", "")
    card["status_label"] = (
        AnnouncementStatus(status).label if status in AnnouncementStatus.values else status
    )
    card["method_label"] = (
        SelectionMethod(method).label if method in SelectionMethod.values else method
    )
    for name in ("published_at", "registration_deadline", "publicity_ends_at"):
        card[name] = _parse_time(data.get(name))
    card["open"] = status == AnnouncementStatus.PUBLISHED
    return card


@require_safe
def announcement_list(request: HttpRequest) -> HttpResponse:
    """采购公告: published announcements found by number, title, project, item, region or
    owner, narrowed by facets with counts (the "announcement" search kind). Same contract as
    the agency directory (search.views.agency_directory): 400 with the message for bad
    parameters, 503 when no backend can answer."""
    return directory_page(
        request,
        KIND,
        "procurement/public/announcement_list.html",
        default_sort=DEFAULT_SORT,
        card=_card,
    )


def _region_path(region) -> list:
    from marketplace.models import Region

    codes = [c for c in (region.province_code, region.prefecture_code) if c and c != region.code]
    above = {r.code: r for r in Region.objects.filter(code__in=codes)}
    return [above[c] for c in codes if c in above] + [region]


SHOWN_REGISTRANTS = 200


@require_safe
def announcement_detail(request: HttpRequest, code: str) -> HttpResponse:
    """An announcement's public page: its terms, the draw's inputs as they became public
    (commitment, pool hash, then secret and ranking), the registrants' outcomes, objections
    and every event of its audit trail."""
    announcement = (
        _public(Announcement.objects.filter(code=code))
        .select_related(
            "project__region",
            "project__owner__organisation",
            "service_item",
            "republished_from",
            "draw",
        )
        .first()
    )
    if announcement is None:
        raise Http404("no such public announcement")
    project = announcement.project
    try:
        draw_row = announcement.draw
    except Draw.DoesNotExist:
        draw_row = None
    # A page of bounded size whatever the pool: the first registrants by draw position (the
    # selected and alternates first), the top of the ranking; the rest is in draw.json.
    registrations = list(
        announcement.registrations.select_related("agency__organisation").order_by(
            F("position").asc(nulls_last=True), "created_at", "id"
        )[: SHOWN_REGISTRANTS + 1]
    )
    truncated = len(registrations) > SHOWN_REGISTRANTS
    registrations = registrations[:SHOWN_REGISTRANTS]
    exclusions = list(announcement.exclusions.select_related("agency__organisation"))
    objections = list(
        announcement.objections.select_related("registration__agency__organisation").order_by(
            "created_at", "id"
        )
    )
    by_agency = {r.agency_id: r for r in registrations}
    ranking = []
    record = draw_row.record if draw_row else None
    if record:
        selected = set(record.get("selected") or [])
        alternates = set(record.get("alternates") or [])
        for position, entry in enumerate(
            (record.get("ranking") or [])[:SHOWN_REGISTRANTS], start=1
        ):
            registration = by_agency.get(entry["id"])
            ranking.append(
                {
                    "position": position,
                    "id": entry["id"],
                    "uscc": entry["uscc"],
                    "rank": entry["rank"],
                    "name": registration.agency.organisation.name if registration else "",
                    "registration": registration,
                    "role": "selected"
                    if entry["id"] in selected
                    else ("alternate" if entry["id"] in alternates else ""),
                }
            )
    if truncated:  # one more query, only for pools larger than the page shows
        counts = announcement.registrations.aggregate(
            registrants=Count("id"),
            eligible=Count(
                "id",
                filter=~Q(status__in=(RegistrationStatus.SUBMITTED, RegistrationStatus.INELIGIBLE)),
            ),
            ineligible=Count("id", filter=Q(status=RegistrationStatus.INELIGIBLE)),
        )
    else:
        counts = {
            "registrants": len(registrations),
            "eligible": sum(
                r.status not in (RegistrationStatus.SUBMITTED, RegistrationStatus.INELIGIBLE)
                for r in registrations
            ),
            "ineligible": sum(r.status == RegistrationStatus.INELIGIBLE for r in registrations),
        }
    counts["shown"] = len(registrations)
    counts["pool"] = len(record.get("ranking") or []) if record else 0
    context = {
        "announcement": announcement,
        "project": project,
        "owner": project.owner,
        "item": announcement.service_item,
        "region_path": _region_path(project.region),
        "region_scope": RegionScope(announcement.region_scope).label
        if announcement.region_scope in RegionScope.values
        else announcement.region_scope,
        "fee": announcement.fee_computation or None,
        "registrations": registrations,
        "exclusions": exclusions,
        "objections": objections,
        "draw": draw_row,
        "record": record,
        "ranking": ranking,
        "selected_names": [r["name"] for r in ranking if r["role"] == "selected"],
        "alternate_names": [r["name"] for r in ranking if r["role"] == "alternate"],
        "counts": counts,
        "timeline": announcement_timeline(
            announcement, registrations=registrations if truncated else None
        ),
        "truncated": truncated,
        "open": announcement.status == AnnouncementStatus.PUBLISHED,
    }
    return render(request, "procurement/public/announcement_detail.html", context)


@require_safe
def draw_record(request: HttpRequest, code: str) -> HttpResponse:
    """The published draw record (draw.Draw.as_record() and the draw time), to check with the
    verifier: ``python3 verifier.py verify draw.json``. 404 until the draw."""
    record = (
        Draw.objects.filter(announcement__code=code, announcement__published_at__isnull=False)
        .exclude(announcement__status=AnnouncementStatus.DRAFT)
        .values_list("record", flat=True)
        .first()
    )
    if record is None:
        raise Http404("no draw for this announcement")
    body = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    response = HttpResponse(body.encode("utf-8"), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_safe_name(code)}-draw.json"'
    return response


def _safe_name(code: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in code)


@require_safe
def verifier(request: HttpRequest) -> HttpResponse:
    """The verifier: procurement/draw.py itself, the very code that computes the draws
    (standard library only): ``python3 verifier.py verify draw.json``."""
    source = Path(draw_module.__file__).read_bytes()
    response = HttpResponse(source, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="verifier.py"'
    return response


__all__ = ["announcement_detail", "announcement_list", "draw_record", "verifier"]
