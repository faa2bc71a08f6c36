"""机构工作台: an agency member's view of its enrolment, certificates, offerings, change
requests and notifications. Another agency's portal is a 404."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from agencies import selectors
from agencies.forms import CertificateForm, ChangeRequestForm, OfferingForm
from agencies.models import (
    CertificateStatus,
    ChangeRequestKind,
    EnrolmentStatus,
    Offering,
)
from agencies.views.common import member_agency, redirect_to, run_service, user_agency_pk
from marketplace.models import Notification
from marketplace.permissions import has_perm

STATUS_HELP = {
    EnrolmentStatus.DRAFT: (
        gettext_lazy("Your enrolment is a draft: the regulator has not seen it yet."),
        gettext_lazy("Complete what is missing and submit it for review."),
    ),
    EnrolmentStatus.SUBMITTED: (
        gettext_lazy("Your enrolment is waiting for the regulator's review."),
        gettext_lazy("Nothing to do: you will be notified of the decision."),
    ),
    EnrolmentStatus.RETURNED: (
        gettext_lazy("The regulator returned your enrolment for correction."),
        gettext_lazy("Read the reasons beside each field, correct them and submit again."),
    ),
    EnrolmentStatus.APPROVED: (
        gettext_lazy("Your agency is enrolled and can practise province-wide."),
        gettext_lazy("List your offerings on the shelf and keep your certificates valid."),
    ),
    EnrolmentStatus.SUSPENDED: (
        gettext_lazy("Your agency is suspended: it is off the market."),
        gettext_lazy(
            "Declare a valid certificate in the enrolment and submit it again for re-approval."
        ),
    ),
    EnrolmentStatus.WITHDRAWN: (
        gettext_lazy("Your enrolment was withdrawn."),
        gettext_lazy("Contact the platform if you want to enrol again."),
    ),
}
EXPIRY_WINDOW_DAYS = 30


@login_required
def portal(request):
    """/agencies/portal/: the user's own agency, or the way to enrol."""
    pk = user_agency_pk(request.user)
    if pk is None:
        return redirect("agencies:enrol_start")
    return redirect("agencies:portal_agency", pk)


def _offerable_items(agency):
    """Declared items the agency may list (its eligibility decides; shelf refuses the rest)."""
    return [
        d.service_item
        for d in agency.service_items.select_related("service_item").order_by("service_item__path")
    ]


def portal_context(request, agency, **forms):
    from agencies import shelf

    today = timezone.localdate()
    soon = today + datetime.timedelta(days=EXPIRY_WINDOW_DAYS)
    status, next_step = STATUS_HELP.get(agency.status, ("", ""))
    items = _offerable_items(agency)
    return {
        "agency": agency,
        "status_meaning": status,
        "next_step": next_step,
        "missing": selectors.enrolment_missing(agency)
        if agency.status in (EnrolmentStatus.DRAFT, EnrolmentStatus.RETURNED)
        else [],
        "expiring": list(
            agency.certificates.filter(
                status__in=(
                    CertificateStatus.VALID,
                    CertificateStatus.EXPIRING,
                    CertificateStatus.EXPIRED,
                ),
                valid_until__lte=soon,
            )
            .select_related("qualification_type")
            .order_by("valid_until")
        ),
        "offerings": list(shelf.offerings_of(agency)),
        "public_offering_ids": {o.pk for o in shelf.public_offerings(agency=agency)},
        "offering_form": forms.get("offering_form") or OfferingForm(items=items),
        "change_requests": list(agency.change_requests.order_by("-created_at")[:20]),
        "change_form": forms.get("change_form") or ChangeRequestForm(),
        "change_certificate_form": forms.get("change_certificate_form")
        or CertificateForm(prefix="newcert"),
        "notifications": list(request.user.mp_notifications.order_by("-created_at")[:20]),
        "approved": agency.status == EnrolmentStatus.APPROVED,
        "can_manage_members": has_perm(request.user, "manage", agency.organisation),
        "can_request_changes": agency.status
        in (EnrolmentStatus.APPROVED, EnrolmentStatus.SUSPENDED),
        "today": today,
    }


@login_required
def portal_agency(request, pk):
    agency = member_agency(request.user, pk)
    return render(request, "agencies/portal.html", portal_context(request, agency))


@login_required
def offering_edit(request, pk, offering_pk=None):
    """Add (no ``offering_pk``) or edit an offering through shelf.offering_save. A price above
    the item's ceiling is refused beside the price, with the computation."""
    from agencies import shelf

    agency = member_agency(request.user, pk)
    offering = None
    if offering_pk is not None:
        offering = get_object_or_404(Offering, pk=offering_pk, agency=agency)
    items = _offerable_items(agency)
    initial = {}
    if offering is not None:
        initial = {
            "service_item": offering.service_item_id,
            "pricing_mode": offering.pricing_mode,
            "price": offering.price,
            "discount_rate": offering.discount_rate,
            "turnaround_days": offering.turnaround_days,
            "description": offering.description,
            "reference_amount": shelf.offering_reference_amount(offering),
        }
    form = OfferingForm(request.POST or None, items=items, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        item_pk = data.pop("service_item")
        item = next((i for i in items if i.pk == item_pk), None)
        if item is None:
            raise Http404
        if run_service(
            request,
            form,
            shelf.offering_save,
            actor=request.user,
            agency=agency,
            service_item=item,
            aliases={"item": "service_item"},
            success=_("The offering is saved."),
            **data,
        ):
            return redirect_to("agencies:portal_agency", agency.pk, anchor="offerings")
    return render(
        request,
        "agencies/offering_form.html",
        {"agency": agency, "form": form, "offering": offering},
    )


@login_required
@require_POST
def offering_withdraw(request, pk, offering_pk):
    from agencies import shelf

    agency = member_agency(request.user, pk)
    offering = get_object_or_404(Offering, pk=offering_pk, agency=agency)
    run_service(
        request,
        None,
        shelf.offering_withdraw,
        actor=request.user,
        offering=offering,
        success=_("The offering is taken off the shelf."),
    )
    return redirect_to("agencies:portal_agency", agency.pk, anchor="offerings")


@login_required
@require_POST
def change_request_new(request, pk):
    from agencies import changes

    agency = member_agency(request.user, pk)
    form = ChangeRequestForm(request.POST, request.FILES)
    cert_form = CertificateForm(request.POST, request.FILES, prefix="newcert")
    ok = form.is_valid()
    kind = form.cleaned_data.get("kind") if ok else None
    if ok and kind == ChangeRequestKind.QUALIFICATION:
        ok = cert_form.is_valid()
    if ok:
        if kind == ChangeRequestKind.QUALIFICATION:
            data = dict(cert_form.cleaned_data)
            attachment = data.pop("scan")
            payload = {
                "qualification_type": data["qualification_type"].code,
                "level": data["level"],
                "certificate_number": data["certificate_number"],
                "issuing_authority": data["issuing_authority"],
                "valid_from": data["valid_from"].isoformat(),
                "valid_until": data["valid_until"].isoformat(),
            }
            target, aliases = cert_form, {"attachment": "scan"}
        else:
            field = "name" if kind == ChangeRequestKind.NAME else "legal_representative"
            payload = {field: form.cleaned_data["new_value"].strip()}
            attachment = form.cleaned_data.get("attachment")
            target, aliases = form, {"name": "new_value", "legal_representative": "new_value"}
        if run_service(
            request,
            target,
            changes.change_request_submit,
            actor=request.user,
            agency=agency,
            kind=kind,
            payload=payload,
            attachment=attachment,
            aliases=aliases,
            success=_(
                "The change request is submitted; your current data stays on the market meanwhile."
            ),
        ):
            return redirect_to("agencies:portal_agency", agency.pk, anchor="changes")
    if kind != ChangeRequestKind.QUALIFICATION:
        cert_form = None  # not used for this kind: show it blank, without errors
    return render(
        request,
        "agencies/portal.html",
        portal_context(request, agency, change_form=form, change_certificate_form=cert_form),
    )


@login_required
@require_POST
def notification_read(request, pk):
    from marketplace.notifications import notification_mark_read

    notification = Notification.objects.filter(pk=pk, recipient=request.user).first()
    if notification is None:
        raise Http404
    notification_mark_read(notification=notification, user=request.user)
    messages.success(request, _("Marked as read."))
    back = user_agency_pk(request.user)
    if back:
        return redirect_to("agencies:portal_agency", back, anchor="notifications")
    return redirect("agencies:portal")
