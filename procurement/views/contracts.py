"""合同与履约: the contract list, the contract page with every action its parties may take
now, the PDF, files, and the payment page.

Only the parties' members, covering regulators and platform administrators see a contract;
anyone else gets a 404. Each action is one service call; a refusal from the service (the wrong
party) is a 404 too, bad input a message beside the form, and nothing changes."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from payments import PaymentError, PaymentStatus
from payments.core import provider_factory

from agencies.forms import apply_errors
from agencies.views.common import paginate, run_service
from marketplace import orders
from marketplace.models import Payment, PaymentPurpose
from marketplace.permissions import has_perm
from marketplace.selectors import is_platform_admin
from procurement import contracts, deposits, selectors, settlement, timeline
from procurement.forms import (
    ContractTermsForm,
    DeliverableForm,
    ExtensionAnswerForm,
    ExtensionForm,
    MilestoneFormSet,
    PaperCopyForm,
    PayForm,
    RefundForm,
    ReviewForm,
    SignForm,
    TerminateForm,
)
from procurement.models import (
    WORK_DUE_STATES,
    ContractStatus,
    Deliverable,
    Extension,
    ExtensionStatus,
    Milestone,
    MilestoneStatus,
    Registration,
    SigningParty,
)
from ratings.views.ratings import contract_panel as rating_panel


def _contract(request, code: str, action: str = "view"):
    contract = selectors.contract_for_page(code)
    if contract is None or not has_perm(request.user, action, contract):
        raise Http404
    return contract


def _back(contract, anchor: str = ""):
    url = contracts.contract_url(contract)
    return redirect(url + (f"#{anchor}" if anchor else ""))


def _flash_errors(request, form) -> None:
    """A form posted from the contract page comes back to it: its errors as messages."""
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, message)


def _client(request) -> tuple[str | None, str]:
    ip = request.META.get("REMOTE_ADDR") or None
    return ip, request.META.get("HTTP_USER_AGENT", "")


@login_required
def contract_list(request):
    """The contracts of the user's owner units and agencies. Fixed queries per page."""
    status = request.GET.get("status", "")
    if status and status not in ContractStatus.values:
        messages.error(request, _("Unknown status: %(status)s") % {"status": status})
        status = ""
    page = paginate(request, selectors.user_contracts(request.user, status=status))
    return render(
        request,
        "procurement/contracts/list.html",
        {
            "page_obj": page,
            "contracts": page.object_list,
            "status": status,
            "statuses": ContractStatus.choices,
        },
    )


@login_required
def contract_detail(request, code):
    contract = _contract(request, code)
    party = contracts.party_of(request.user, contract)
    milestones = list(contract.milestones.all())
    current = next(
        (m for m in milestones if m.status not in (MilestoneStatus.ACCEPTED, MilestoneStatus.PAID)),
        None,
    )
    signatures = {s.party: s for s in contract.signatures.all()}
    extensions = list(contract.extensions.all())
    pending_extension = next((e for e in extensions if e.status == ExtensionStatus.PROPOSED), None)
    is_owner = party == SigningParty.OWNER
    is_agency = party == SigningParty.AGENCY
    draft = contract.status == ContractStatus.DRAFT
    context = {
        "contract": contract,
        "party": party,
        "is_owner": is_owner,
        "is_agency": is_agency,
        "milestones": milestones,
        "current": current,
        "owner_signature": signatures.get(SigningParty.OWNER),
        "agency_signature": signatures.get(SigningParty.AGENCY),
        "can_edit_terms": is_owner and draft,
        "can_sign": party is not None and draft and party not in signatures,
        "can_start": is_agency and contract.status == ContractStatus.SIGNED,
        "can_deliver": is_agency
        and current is not None
        and contract.status
        in (ContractStatus.SIGNED, ContractStatus.IN_PROGRESS, ContractStatus.RETURNED),
        "can_review": is_owner and contract.status == ContractStatus.DELIVERED,
        "can_pay": is_owner,
        "can_extend": party is not None
        and contract.status in WORK_DUE_STATES
        and pending_extension is None,
        "pending_extension": pending_extension,
        "extensions": extensions,
        "can_answer_extension": pending_extension is not None
        and party is not None
        and party != pending_extension.proposed_by_party,
        "can_withdraw_extension": pending_extension is not None
        and party == pending_extension.proposed_by_party,
        "can_terminate": has_perm(request.user, "terminate", contract)
        and contract.status not in (ContractStatus.COMPLETED, ContractStatus.TERMINATED),
        "can_upload_paper": party is not None
        and contract.status not in (ContractStatus.DRAFT, ContractStatus.TERMINATED),
        "terms_hash": contracts.terms_hash(contract),
        "timeline": timeline.contract_timeline(contract),
        "order_status": orders.status_label(contract.order) if contract.order_id else "",
        "sign_form": SignForm(),
        "deliverable_form": DeliverableForm(),
        "review_form": ReviewForm(),
        "extension_form": ExtensionForm(),
        "answer_form": ExtensionAnswerForm(),
        "terminate_form": TerminateForm(),
        "paper_form": PaperCopyForm(),
        "rating_panel": rating_panel(request.user, contract, party),  # ratings (服务评价)
    }
    return render(request, "procurement/contracts/detail.html", context)


@login_required
def contract_terms(request, code):
    """The owner sets the price, scope and milestones of a draft."""
    contract = _contract(request, code, "act_owner")
    if contract.status != ContractStatus.DRAFT:
        messages.error(request, _("Only a draft contract's terms can change."))
        return _back(contract)
    if request.method == "POST":
        form = ContractTermsForm(request.POST)
        formset = MilestoneFormSet(request.POST, prefix="m")
        if form.is_valid() and formset.is_valid():
            rows = [
                {
                    "title": f.cleaned_data.get("title", ""),
                    "amount": f.cleaned_data.get("amount", ""),
                    "due_date": f.cleaned_data.get("due_date"),
                }
                for f in formset.forms
                if not f.is_blank()
            ]
            try:
                contracts.contract_update_terms(
                    actor=request.user,
                    contract=contract,
                    price=form.cleaned_data["price"],
                    scope=form.cleaned_data["scope"],
                    milestones=rows,
                )
            except ValidationError as exc:
                apply_errors(form, exc, {"milestones": "__all__"})
            else:
                messages.success(request, _("Terms saved. Both parties can now sign."))
                return _back(contract)
    else:
        form = ContractTermsForm(initial={"price": contract.price, "scope": contract.scope})
        formset = MilestoneFormSet(
            prefix="m",
            initial=[
                {"title": m.title, "amount": m.amount, "due_date": m.due_date}
                for m in contract.milestones.all()
            ],
        )
    return render(
        request,
        "procurement/contracts/terms.html",
        {"contract": contract, "form": form, "formset": formset},
    )


@login_required
@require_POST
def contract_sign(request, code):
    contract = _contract(request, code)
    form = SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm you have read the terms."))
        return _back(contract, "signatures")
    ip, agent = _client(request)
    run_service(
        request,
        None,
        contracts.contract_sign,
        actor=request.user,
        contract=contract,
        ip_address=ip,
        user_agent=agent,
        success=_("Signed."),
    )
    return _back(contract, "signatures")


@login_required
@require_POST
def contract_paper_copy(request, code):
    contract = _contract(request, code)
    form = PaperCopyForm(request.POST, request.FILES)
    if not form.is_valid():
        _flash_errors(request, form)
        return _back(contract, "signatures")
    run_service(
        request,
        None,
        contracts.contract_attach_paper_copy,
        actor=request.user,
        contract=contract,
        file=form.cleaned_data["paper_copy"],
        success=_("The signed paper copy is attached."),
    )
    return _back(contract, "signatures")


@login_required
@require_POST
def contract_start(request, code):
    contract = _contract(request, code)
    run_service(
        request,
        None,
        contracts.contract_start,
        actor=request.user,
        contract=contract,
        success=_("The service has started."),
    )
    return _back(contract)


def _milestone(contract, pk) -> Milestone:
    milestone = next((m for m in contract.milestones.all() if m.pk == int(pk)), None)
    if milestone is None:
        raise Http404
    return milestone


@login_required
@require_POST
def deliverable_submit(request, code, milestone_pk):
    contract = _contract(request, code)
    milestone = _milestone(contract, milestone_pk)
    form = DeliverableForm(request.POST, request.FILES)
    if not form.is_valid():
        _flash_errors(request, form)
        return _back(contract, "milestones")
    run_service(
        request,
        None,
        contracts.deliverable_submit,
        actor=request.user,
        milestone=milestone,
        file=form.cleaned_data["file"],
        note=form.cleaned_data["note"],
        success=_("Delivered. The owner reviews it."),
    )
    return _back(contract, "milestones")


@login_required
@require_POST
def deliverable_review(request, code, milestone_pk):
    contract = _contract(request, code)
    milestone = _milestone(contract, milestone_pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to accept or to return the result."))
        return _back(contract, "milestones")
    if form.cleaned_data["decision"] == "accept":
        run_service(
            request,
            None,
            contracts.deliverable_accept,
            actor=request.user,
            milestone=milestone,
            comment=form.cleaned_data["reasons"],
            success=_("Accepted. The milestone can now be paid."),
        )
    else:
        run_service(
            request,
            None,
            contracts.deliverable_return,
            actor=request.user,
            milestone=milestone,
            reasons=form.cleaned_data["reasons"],
            success=_("Returned for rework, with your comments."),
        )
    return _back(contract, "milestones")


@login_required
@require_POST
def milestone_pay(request, code, milestone_pk):
    """Starts (or resumes) the milestone's payment, then the payment page takes over."""
    contract = _contract(request, code)
    milestone = _milestone(contract, milestone_pk)
    form = PayForm(request.POST)
    amount = form.data.get("amount", "")
    payment = run_service(
        request,
        None,
        settlement.milestone_payment_start,
        actor=request.user,
        milestone=milestone,
        amount=amount,
    )
    if payment:
        return redirect("procurement:payment", payment.token)
    return _back(contract, "milestones")


@login_required
@require_POST
def extension_propose(request, code):
    contract = _contract(request, code)
    form = ExtensionForm(request.POST)
    if not form.is_valid():
        _flash_errors(request, form)
        return _back(contract, "extensions")
    run_service(
        request,
        None,
        contracts.extension_propose,
        actor=request.user,
        contract=contract,
        new_due_date=form.cleaned_data["new_due_date"],
        reason=form.cleaned_data["reason"],
        success=_("Proposed. The other party answers."),
    )
    return _back(contract, "extensions")


@login_required
@require_POST
def extension_answer(request, code, pk):
    contract = _contract(request, code)
    extension = get_object_or_404(Extension, pk=pk, contract=contract)
    form = ExtensionAnswerForm(request.POST)
    if not form.is_valid():
        raise Http404
    answer = form.cleaned_data["answer"]
    if answer == "withdraw":
        run_service(
            request,
            None,
            contracts.extension_withdraw,
            actor=request.user,
            extension=extension,
            success=_("Withdrawn."),
        )
    else:
        run_service(
            request,
            None,
            contracts.extension_answer,
            actor=request.user,
            extension=extension,
            agree=answer == "agree",
            reason=form.cleaned_data["reason"],
            success=_("Agreed: the due date moved.") if answer == "agree" else _("Rejected."),
        )
    return _back(contract, "extensions")


@login_required
@require_POST
def contract_terminate(request, code):
    contract = _contract(request, code)
    form = TerminateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for terminating the contract."))
        return _back(contract, "terminate")
    run_service(
        request,
        None,
        contracts.contract_terminate,
        actor=request.user,
        contract=contract,
        reason=form.cleaned_data["reason"],
        success=_("The contract is terminated."),
    )
    return _back(contract)


@login_required
def contract_pdf(request, code):
    """The contract document (PDF, Chinese), rendered from the current terms."""
    from procurement import pdf

    contract = _contract(request, code)
    # Rendering takes most of a second: cached per version of what the document shows (terms,
    # signatures, state, due date), so a changed contract never serves a stale document.
    version = hashlib.sha256(
        "|".join(
            [
                contracts.terms_hash(contract),
                contract.status,
                str(contract.due_date),
                *(f"{s.party}:{s.signed_at.isoformat()}" for s in contract.signatures.all()),
            ]
        ).encode()
    ).hexdigest()
    key = f"contract-pdf:{contract.pk}:{version}"
    document = cache.get(key)
    if document is None:
        document = pdf.contract_pdf(contract)
        cache.set(key, document, timeout=24 * 3600)
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{contract.code}.pdf"'
    return response


@login_required
def deliverable_file(request, code, pk):
    contract = _contract(request, code)
    deliverable = get_object_or_404(Deliverable, pk=pk, milestone__contract=contract)
    return FileResponse(
        deliverable.file.open("rb"), as_attachment=True, filename=deliverable.original_name
    )


@login_required
def paper_copy_file(request, code):
    contract = _contract(request, code)
    if not contract.paper_copy:
        raise Http404
    return FileResponse(
        contract.paper_copy.open("rb"),
        as_attachment=True,
        filename=f"{contract.code}-signed"
        + (contract.paper_copy.name[contract.paper_copy.name.rfind(".") :] or ""),
    )


# --- the payment page ---------------------------------------------------------------------------


def _payment_allowed(user, payment: Payment) -> bool:
    if is_platform_admin(user):
        return True
    if payment.purpose == PaymentPurpose.MILESTONE and payment.milestone_id:
        return has_perm(user, "act_owner", payment.milestone.contract)
    if payment.purpose == PaymentPurpose.DEPOSIT and payment.deposit_id:
        return has_perm(user, "pay", payment.deposit)
    return False


def _back_url(payment: Payment) -> str:
    if payment.purpose == PaymentPurpose.MILESTONE:
        return contracts.contract_url(payment.milestone.contract) + "#milestones"
    registration = Registration.objects.filter(
        announcement_id=payment.deposit.announcement_id, agency_id=payment.deposit.agency_id
    ).first()
    return reverse("procurement:registration", args=[registration.pk]) if registration else "/"


@login_required
def payment_page(request, token):
    """One payment: what it is for, its status as the provider reports it (asked here, on the
    way back from Stripe.js — never taken from the redirect), the reason of a decline, and the
    card form while it is still open."""
    payment = (
        Payment.objects.select_related(
            "milestone__contract__owner__organisation",
            "milestone__contract__agency__organisation",
            "milestone__contract__project__region",
            "milestone__contract__service_item",
            "deposit__announcement",
            "deposit__agency__organisation",
        )
        .filter(token=token)
        .first()
    )
    if payment is None or not _payment_allowed(request.user, payment):
        raise Http404
    provider = None
    error = ""
    try:
        provider = provider_factory(payment.variant, payment)
    except (ValueError, KeyError):
        error = _("Online payment is not configured on this site.")
    if (
        provider is not None
        and payment.transaction_id
        and payment.status in settlement.OPEN_STATUSES
    ):
        try:
            provider.sync_status(payment)  # polling the provider, not trusting the redirect
        except PaymentError as exc:
            error = _("The payment provider could not be reached (%(error)s); try again.") % {
                "error": exc
            }
    # Before the form: showing it again after a decline starts a new attempt (status back to
    # waiting), and the page must still say why the last one failed.
    declined = payment.status == PaymentStatus.ERROR
    form = None
    payer = payment.created_by_id == request.user.pk or not is_platform_admin(request.user)
    if payer and provider is not None and payment.status in settlement.OPEN_STATUSES and not error:
        try:
            form = provider.get_form(
                payment, test_card_url=reverse("procurement:payment_test_card", args=[token])
            )
        except PaymentError as exc:
            error = str(exc)
    response = render(
        request,
        "procurement/contracts/payment.html",
        {
            "payment": payment,
            "form": form,
            "error": error,
            "back_url": _back_url(payment),
            "declined": declined,
            "paid": payment.status == PaymentStatus.CONFIRMED,
        },
    )
    if form is not None and hasattr(provider, "csp_directives"):
        response._csp_update = provider.csp_directives()
    return response


@login_required
@require_POST
def payment_refund(request, token):
    """退款 by a platform administrator (all or part, with a reason)."""
    payment = Payment.objects.filter(token=token).first()
    if payment is None or not is_platform_admin(request.user):
        raise Http404
    form = RefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for the refund."))
    else:
        try:
            settlement.payment_refund(
                actor=request.user,
                payment=payment,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except PaymentError as exc:
            messages.error(
                request, _("The provider refused the refund: %(error)s") % {"error": exc}
            )
        else:
            messages.success(request, _("Refunded."))
    return redirect("procurement:payment", token)


@login_required
@require_POST
def payment_test_card(request, token):
    """Test mode only (a Stripe-protocol test server or a test key): confirms the payment's
    intent with a test card. Answers the intent's state for Stripe.js's next step; the
    payment's own status still comes only from the webhook or polling."""
    payment = Payment.objects.filter(token=token).first()
    if payment is None or not _payment_allowed(request.user, payment):
        raise Http404
    try:
        provider = provider_factory(payment.variant, payment)
    except (ValueError, KeyError):
        raise Http404 from None
    if not getattr(provider, "test_mode", False):
        raise Http404
    if payment.status not in settlement.OPEN_STATUSES:
        return JsonResponse({"error": _("This payment has already been processed.")}, status=409)
    try:
        intent = provider.confirm_test_card(payment, request.POST.get("card", ""))
    except PaymentError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"status": intent["status"], "client_secret": intent["client_secret"]})


@login_required
@require_POST
def deposit_pay(request, pk):
    registration = get_object_or_404(Registration, pk=pk)
    if not has_perm(request.user, "respond", registration):
        raise Http404
    payment = run_service(
        request,
        None,
        deposits.deposit_payment_start,
        actor=request.user,
        registration=registration,
    )
    if payment:
        return redirect("procurement:payment", payment.token)
    return redirect("procurement:registration", registration.pk)
