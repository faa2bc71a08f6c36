"""Reads of complaints (投诉举报) for the pages. Each list is one query per page, whatever its
size (tests/ratings/test_complaints.py asserts the counts)."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from marketplace.models import OrganisationKind
from marketplace.selectors import is_platform_admin, user_organisations
from ratings.complaint_rules import HANDLING_ROLES
from ratings.models import Complaint, ComplaintStatus, Evidence

OPEN_STATUSES = (
    ComplaintStatus.SUBMITTED,
    ComplaintStatus.ACCEPTED,
    ComplaintStatus.INVESTIGATING,
)
_TARGET = (
    "agency__organisation",
    "announcement__project",
)


def handling_scope(user) -> Q | None:
    """The complaints ``user`` handles: those of the regulators they review or supervise for,
    and, for platform administrators, those no regulator covered. None: no queue at all."""
    regulator_ids = [
        org.pk
        for org in user_organisations(user, kind=OrganisationKind.REGULATOR, roles=HANDLING_ROLES)
    ]
    scope = Q(regulator_id__in=regulator_ids) if regulator_ids else None
    if is_platform_admin(user):
        orphan = Q(regulator__isnull=True)
        scope = orphan if scope is None else scope | orphan
    return scope


def complaint_queue(user, *, status: str = "") -> QuerySet[Complaint]:
    """The regulator's queue: open complaints first (by the next deadline), then the closed
    ones, newest first. One query per page."""
    scope = handling_scope(user)
    if scope is None:
        return Complaint.objects.none()
    qs = Complaint.objects.filter(scope)
    if status:
        qs = qs.filter(status=status)
    open_first = Case(
        When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return (
        qs.annotate(open_first=open_first)
        .select_related(*_TARGET, "regulator")
        .order_by("open_first", "accept_by", "pk")
    )


def complaints_filed_by(user) -> QuerySet[Complaint]:
    """The complaints the user filed, or that an organisation of theirs filed."""
    org_ids = [org.pk for org in user_organisations(user)]
    return (
        Complaint.objects.filter(
            Q(complainant_id=user.pk) | Q(complainant_organisation_id__in=org_ids)
        )
        .select_related(*_TARGET)
        .order_by("-created_at", "-pk")
    )


def complaints_against(user) -> QuerySet[Complaint]:
    """Accepted complaints about the user's agency or about their organisation's
    announcements (only the latter when no agency is named)."""
    org_ids = [org.pk for org in user_organisations(user)]
    return (
        Complaint.objects.filter(
            Q(agency__organisation_id__in=org_ids)
            | Q(agency__isnull=True, announcement__project__owner__organisation_id__in=org_ids)
        )
        .exclude(status__in=(ComplaintStatus.SUBMITTED, ComplaintStatus.REJECTED))
        .select_related(*_TARGET)
        .order_by("-created_at", "-pk")
    )


def published_outcomes(*, q: str = "") -> QuerySet[Complaint]:
    """The public list: decided complaints, newest decision first (the template shows no
    complainant identity, subject or facts). One query per page."""
    qs = Complaint.objects.filter(
        published_at__isnull=False,
        status__in=(ComplaintStatus.UPHELD, ComplaintStatus.DISMISSED),
    )
    q = (q or "").strip()
    if q:
        qs = qs.filter(
            Q(code__icontains=q)
            | Q(agency__organisation__name__icontains=q)
            | Q(announcement__code__icontains=q)
            | Q(announcement__title__icontains=q)
        )
    return qs.select_related("agency__organisation", "announcement").order_by(
        "-published_at", "-pk"
    )


def complaint_for_page(code: str) -> Complaint | None:
    return (
        Complaint.objects.select_related(
            "agency__organisation__region",
            "announcement__project__owner__organisation",
            "announcement__project__region",
            "announcement__service_item",
            "regulator",
            "complainant",
            "complainant_organisation",
            "decided_by",
        )
        .filter(code=code)
        .first()
    )


def evidence_of(complaint: Complaint) -> list[Evidence]:
    return list(complaint.evidence.order_by("uploaded_at", "pk"))


def tracking_steps(complaint: Complaint) -> list[dict]:
    """The complaint's path for its complainant: each step done (with its time), current or
    still ahead. Read from the complaint's own fields, so the page costs no extra query."""
    S = ComplaintStatus
    rejected = complaint.status == S.REJECTED
    accepted = complaint.statement_by is not None  # set by the acceptance
    investigating = complaint.status in (S.INVESTIGATING, S.UPHELD, S.DISMISSED)
    decided = complaint.status in (S.UPHELD, S.DISMISSED)
    steps = [
        {"label": _("Filed"), "done": True, "at": complaint.created_at},
        {
            "label": _("Not accepted") if rejected else _("Accepted by the regulator"),
            "done": rejected or accepted,
            "at": complaint.decided_at if rejected else None,
            "due": None if (rejected or accepted) else complaint.accept_by,
        },
    ]
    if not rejected:
        steps += [
            {
                "label": _("Statement of the accused"),
                "done": investigating,
                "at": complaint.statement_at,
                "due": complaint.statement_by if not investigating else None,
            },
            {
                "label": _("Investigation"),
                "done": decided,
                "current": complaint.status == S.INVESTIGATING,
            },
            {
                "label": complaint.get_status_display() if decided else _("Outcome published"),
                "done": decided,
                "at": complaint.published_at,
            },
        ]
    for step in steps:
        step.setdefault("at", None)
        step.setdefault("due", None)
        step.setdefault("current", False)
    return steps
