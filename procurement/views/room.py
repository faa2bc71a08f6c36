"""The live draw room (直播抽取): a public page that shows an announcement's draw as it
happens. The current state is rendered server-side (the page works without JavaScript);
procurement/static/procurement/room.js then follows the websocket of procurement.consumers."""

from __future__ import annotations

from urllib.parse import quote

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from procurement import room
from procurement.models import PUBLIC_STATUSES, Announcement, AnnouncementStatus


def _messages_for_js() -> dict:
    return {
        "live": _("Live: the draw appears here as it happens."),
        "connecting": _("Connecting…"),
        "reconnecting": _("Connection lost; reconnecting…"),
        "gone": _("This room is not available."),
        "checking": _("checking…"),
        "verified": _("✓ SHA-256(secret) equals the commitment"),
        "mismatch": _("✗ SHA-256(secret) does not equal the commitment"),
        "unsupported": _("this browser cannot compute SHA-256 here; run the verifier"),
        "replaces": _("%(promoted)s replaces %(declined)s"),
        "events": {
            "published": _("Published; the commitment is public."),
            "pool_frozen": _("Registration closed; the pool is frozen."),
            "secret_revealed": _("The secret is revealed."),
            "ranking": _("The ranking is computed."),
            "result": _("The result is in."),
            "promoted": _("An alternate is promoted."),
            "publicity": _("The result is in publicity."),
            "awarded": _("Awarded."),
            "failed": _("The announcement failed."),
            "suspended": _("Suspended: an objection is under review."),
            "cancelled": _("The announcement was cancelled."),
        },
    }


def room_page(request, code: str):
    announcement = (
        Announcement.objects.select_related("project__owner__organisation", "service_item")
        .filter(code=code, status__in=PUBLIC_STATUSES)
        .first()
    )
    if announcement is None:
        raise Http404
    state = room.snapshot(announcement)
    return render(
        request,
        "procurement/room.html",
        {
            "announcement": announcement,
            "state": state,
            "ws_path": f"/ws/procurement/{quote(announcement.code)}/room/",
            "statuses": {value: str(label) for value, label in AnnouncementStatus.choices},
            "detail_url": reverse("procurement:detail", args=[announcement.code]),
            "record_url": reverse("procurement:draw_record", args=[announcement.code]),
            "verifier_url": reverse("procurement:verifier"),
            "messages_js": _messages_for_js(),
        },
    )
