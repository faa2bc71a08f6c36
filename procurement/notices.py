"""Who is told what about an announcement (in-site notification, pushed over websockets, and
e-mail), queued in the caller's transaction through ``marketplace.notifications.notify``."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import outbox
from marketplace.models import Membership, Organisation, OrganisationKind, Role
from marketplace.notifications import notify

ANNOUNCE_TOPIC = "procurement.announce"
BROADCAST_TOPIC = "procurement.broadcast"


def announcement_url(announcement) -> str:
    return reverse("procurement:detail", args=[announcement.code])


def registration_url(registration) -> str:
    return reverse("procurement:registration", args=[registration.pk])


def owner_url(announcement) -> str:
    return reverse("procurement:owner_announcement", args=[announcement.pk])


def notify_members(organisation_id: int, *, verb, title, body, url, roles=None, dedupe=None):
    members = Membership.objects.filter(
        organisation_id=organisation_id, is_active=True, user__is_active=True
    ).select_related("user", "organisation")
    if roles:
        members = members.filter(role__in=roles)
    for membership in members:
        notify(
            recipient=membership.user,
            title=title,
            body=body,
            verb=verb,
            url=url,
            organisation=membership.organisation,
            email=True,
            dedupe_key=f"{dedupe}:{membership.user_id}" if dedupe else None,
        )


def notify_agencies(messages: list[tuple]) -> None:
    """``[(agency, {"verb", "title", "body", "url"}), …]``: each agency's members notified,
    their memberships read in one query."""
    if not messages:
        return
    members_of: dict[int, list] = {}
    for membership in Membership.objects.filter(
        organisation_id__in={agency.organisation_id for agency, _message in messages},
        is_active=True,
        user__is_active=True,
    ).select_related("user", "organisation"):
        members_of.setdefault(membership.organisation_id, []).append(membership)
    for agency, message in messages:
        for membership in members_of.get(agency.organisation_id, []):
            notify(
                recipient=membership.user,
                title=str(message["title"]),
                body=str(message.get("body", "")),
                verb=message["verb"],
                url=message.get("url", ""),
                organisation=membership.organisation,
                email=True,
            )


def broadcast(announcement, *, verb: str, title: str, body: str = "", statuses=()) -> None:
    """Tells every registrant (or those in ``statuses``) of ``announcement``: one outbox
    message in the caller's transaction, fanned out after commit by its handler, however
    many registrants there are."""
    outbox.enqueue(
        BROADCAST_TOPIC,
        {
            "announcement": announcement.pk,
            "verb": verb,
            "title": str(title),
            "body": str(body),
            "statuses": list(statuses),
        },
    )


@outbox.handler(BROADCAST_TOPIC)
def deliver_broadcast(payload: dict, *, message) -> None:
    from procurement.models import Announcement, Registration

    announcement = Announcement.objects.filter(pk=payload["announcement"]).first()
    if announcement is None:
        return
    registrations = Registration.objects.filter(announcement=announcement)
    if payload.get("statuses"):
        registrations = registrations.filter(status__in=payload["statuses"])
    members = (
        Membership.objects.filter(
            organisation__agency__registrations__in=registrations,
            is_active=True,
            user__is_active=True,
        )
        .select_related("user", "organisation")
        .distinct()
    )
    url = announcement_url(announcement)
    for membership in members.iterator(chunk_size=1000):
        notify(
            recipient=membership.user,
            title=payload["title"],
            body=payload.get("body", ""),
            verb=payload["verb"],
            url=url,
            organisation=membership.organisation,
            email=True,
            # A redelivered broadcast finds what it queued the first time.
            dedupe_key=f"broadcast:{message.pk}:{membership.user_id}",
        )


def notify_agency(agency, *, verb: str, title: str, body: str = "", url: str = "", dedupe=None):
    notify_members(
        agency.organisation_id, verb=verb, title=str(title), body=str(body), url=url, dedupe=dedupe
    )


def notify_owner(announcement, *, verb: str, title: str, body: str = ""):
    notify_members(
        announcement.project.owner.organisation_id,
        verb=verb,
        title=str(title),
        body=str(body),
        url=owner_url(announcement),
    )


def notify_regulators(announcement, *, verb: str, title: str, body: str = ""):
    from procurement.rules import regulator_covers_announcement

    notify_covering_regulators(
        lambda org: regulator_covers_announcement(org, announcement),
        verb=verb,
        title=title,
        body=body,
        url=reverse("procurement:objection_queue"),
    )


def notify_covering_regulators(covers, *, verb: str, title, body="", url: str) -> None:
    """Tells the reviewers and supervisors of every active regulator for which
    ``covers(org)`` holds (the regions and industries it supervises)."""
    regulators = (
        Organisation.objects.filter(kind=OrganisationKind.REGULATOR, is_active=True)
        .select_related("scope_region")
        .prefetch_related("scope_industries")
    )
    for org in regulators:
        if covers(org):
            notify_members(
                org.pk,
                verb=verb,
                title=str(title),
                body=str(body),
                url=url,
                roles=(Role.REVIEWER, Role.SUPERVISOR),
            )


def announce_to_matching_agencies(announcement) -> None:
    """Queued in the publishing transaction; the handler finds the matching agencies after
    commit (there may be thousands) and notifies each member once."""
    outbox.enqueue(
        ANNOUNCE_TOPIC, {"announcement": announcement.pk}, dedupe_key=f"announce:{announcement.pk}"
    )


def matching_agency_ids(announcement) -> list[int]:
    """Approved agencies that declared the item and whose service area covers the project's
    location (eligibility is explained in full when they open the announcement)."""
    from agencies.models import Agency, EnrolmentStatus, ServiceScope

    region = announcement.project.region
    covering = Q(
        service_scope=ServiceScope.PROVINCE,
        organisation__region__province_code=(region.province_code),
    ) | Q(
        service_scope=ServiceScope.REGIONS,
        service_regions__code__in=[
            c for c in (region.code, region.prefecture_code, region.province_code) if c
        ],
    )
    return list(
        Agency.objects.filter(
            covering,
            status=EnrolmentStatus.APPROVED,
            service_items__service_item_id=announcement.service_item_id,
        )
        .values_list("pk", flat=True)
        .distinct()
    )


@outbox.handler(ANNOUNCE_TOPIC)
def deliver_announcement(payload: dict, *, message) -> None:
    from agencies.models import Agency
    from procurement.models import Announcement, AnnouncementStatus

    announcement = (
        Announcement.objects.select_related("project__region", "service_item")
        .filter(pk=payload["announcement"])
        .first()
    )
    if announcement is None or announcement.status != AnnouncementStatus.PUBLISHED:
        return
    deadline = timezone.localtime(announcement.registration_deadline).strftime("%Y-%m-%d %H:%M")
    title = _("New announcement for %(item)s: %(title)s") % {
        "item": announcement.service_item.title,
        "title": announcement.title,
    }
    body = _("%(code)s, %(region)s. Registration closes at %(deadline)s.") % {
        "code": announcement.code,
        "region": announcement.project.region.name,
        "deadline": deadline,
    }
    for agency in Agency.objects.filter(pk__in=matching_agency_ids(announcement)):
        notify_agency(
            agency,
            verb="announcement.new",
            title=title,
            body=body,
            url=announcement_url(announcement),
            dedupe=f"announce:{announcement.pk}:{agency.pk}",
        )
