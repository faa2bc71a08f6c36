"""入驻申请: sign-up, registration of the agency, the enrolment page with its sections, submit.

Every write goes through one service; a ``ValidationError`` from the service is shown beside the
fields with the user's input kept, and nothing is saved (the services are atomic)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agencies import selectors, services
from agencies.forms import (
    AgencyBasicForm,
    CertificateForm,
    PractitionerForm,
    ServiceItemsForm,
    ServiceRegionsForm,
)
from agencies.models import EnrolmentStatus, ReviewDecision
from agencies.services import EDITABLE_STATUSES
from agencies.views.catalog import service_item_rows
from agencies.views.common import member_agency, redirect_to, run_service, user_agency_pk
from marketplace.permissions import has_perm

COMMITMENT_PARAGRAPHS = (
    (
        "本机构承诺所提交的营业执照、资质证书、执业人员及社会保险证明等全部材料真实、准确、完整、有效，"
        "如有虚假，愿承担由此产生的一切法律责任。"
    ),
    (
        "本机构承诺在资质许可范围内依法依规执业，严格执行国家和本省规定的收费标准，不超出收费上限报价，"
        "不以低于成本的价格恶意竞争，不串通报价，不转包、违法分包。"
    ),
    "本机构承诺在规定的服务时限内完成服务，不擅自增加服务内容或另行收费，接受项目业主评价和行业主管部门监管。",
    "本机构承诺在资质、法定代表人、名称等关键信息发生变化时，及时通过平台申请变更。",
    "如违反上述承诺，本机构愿接受暂停入驻、清退出库、列入黑名单等处理，并承担相应法律责任。",
)

# Where each returned field or section is shown on the enrolment page.
BASIC_FIELDS_BY_REASON = {
    "contact": ("contact_name", "contact_phone", "contact_email"),
}


def _reasons(agency):
    """The latest return's reasons when the agency is (still) returned; else empty."""
    if agency.status != EnrolmentStatus.RETURNED:
        return None, {}
    review = agency.reviews.filter(decision=ReviewDecision.RETURN).order_by("-created_at").first()
    if review is None:
        return None, {}
    return review, dict(review.field_reasons or {})


def enrol_start(request):
    """The steps and the commitment letter; the next step depends on who is looking."""
    existing = user_agency_pk(request.user) if request.user.is_authenticated else None
    return render(
        request,
        "agencies/enrol_start.html",
        {"commitment": COMMITMENT_PARAGRAPHS, "existing_pk": existing},
    )


def signup(request):
    """A new agency user's account: name, e-mail, password. Logs in and continues."""
    from agencies.forms import SignUpForm

    if request.user.is_authenticated:
        return redirect("agencies:enrol_register")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = get_user_model().objects.create_user(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            display_name=form.cleaned_data["display_name"],
            phone=form.cleaned_data.get("phone", ""),
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Your account is ready. Now register your agency."))
        return redirect("agencies:enrol_register")
    return render(request, "agencies/signup.html", {"form": form})


@login_required
def enrol_register(request):
    """Step 1: basic information, the licence and the commitment (agency_register)."""
    existing = user_agency_pk(request.user)
    if existing is not None:
        return redirect("agencies:enrolment", existing)
    form = AgencyBasicForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        agency = run_service(
            request,
            form,
            services.agency_register,
            user=request.user,
            name=data["name"],
            uscc=data["uscc"],
            region=data["region"],
            legal_representative=data["legal_representative"],
            registered_address=data["registered_address"],
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            contact_email=data["contact_email"],
            business_scope=data["business_scope"],
            business_licence=data["business_licence"],
            accept_commitment=data["accept_commitment"],
            success=_("The agency is registered. Now declare its qualifications and staff."),
        )
        if agency:
            return redirect("agencies:enrolment", agency.pk)
    return render(
        request,
        "agencies/enrol_register.html",
        {"form": form, "commitment": COMMITMENT_PARAGRAPHS},
    )


def enrolment_context(request, agency, **forms):
    """Everything the enrolment page shows; ``forms`` replaces the blank forms (bound forms
    with errors keep the user's input)."""
    reviewed, reasons = _reasons(agency)
    certificates = list(
        agency.certificates.select_related("qualification_type__industry").order_by("pk")
    )
    for cert in certificates:
        cert.return_reason = reasons.get(f"certificates.{cert.pk}", "")
    practitioners = list(agency.practitioners.order_by("pk"))
    groups, item_ids = service_item_rows(agency)
    declared = {row["item"].pk for group in groups for row in group["rows"] if row["declared"]}
    editable = agency.status in EDITABLE_STATUSES
    regions_initial = {
        "scope": agency.service_scope,
        "regions": [r.code for r in agency.service_regions.all()],
    }
    context = {
        "agency": agency,
        "editable": editable,
        "certificates": certificates,
        "practitioners": practitioners,
        "item_groups": groups,
        "declared_ids": declared,
        "missing": selectors.enrolment_missing(agency),
        "review": reviewed,
        "reasons": reasons,
        "basic_form": forms.get("basic_form")
        or AgencyBasicForm(initial=AgencyBasicForm.initial_for(agency), agency=agency),
        "certificate_form": forms.get("certificate_form") or CertificateForm(),
        "practitioner_form": forms.get("practitioner_form") or PractitionerForm(),
        "items_form": forms.get("items_form")
        or ServiceItemsForm(item_ids=item_ids, initial={"items": [str(i) for i in declared]}),
        "regions_form": forms.get("regions_form") or ServiceRegionsForm(initial=regions_initial),
        "reviews": list(agency.reviews.order_by("-created_at")[:10]),
        "can_withdraw": has_perm(request.user, "withdraw", agency),
    }
    context["basic_reasons"] = {
        field: reasons.get(key)
        for key in reasons
        for field in BASIC_FIELDS_BY_REASON.get(key, (key,))
    }
    context["form_errors"] = [
        f for f in forms.values() if f is not None and f.is_bound and f.errors
    ]
    return context


@login_required
def enrolment(request, pk):
    agency = member_agency(request.user, pk)
    return render(request, "agencies/enrolment.html", enrolment_context(request, agency))


def _editable_agency(request, pk):
    agency = member_agency(request.user, pk)
    if agency.status not in EDITABLE_STATUSES:
        messages.error(
            request, _("The enrolment can be changed only as a draft or after a return.")
        )
        return agency, False
    return agency, True


def _rerender(request, agency, **forms):
    return render(request, "agencies/enrolment.html", enrolment_context(request, agency, **forms))


@login_required
@require_POST
def enrolment_basic(request, pk):
    agency, ok = _editable_agency(request, pk)
    if not ok:
        return redirect("agencies:enrolment", agency.pk)
    form = AgencyBasicForm(request.POST, request.FILES, agency=agency)
    if form.is_valid():
        data = dict(form.cleaned_data)
        if not data.get("business_licence"):
            data.pop("business_licence", None)
        if run_service(
            request,
            form,
            services.agency_update,
            actor=request.user,
            agency=agency,
            success=_("The basic information is saved."),
            **data,
        ):
            return redirect_to("agencies:enrolment", agency.pk, anchor="basic")
    return _rerender(request, agency, basic_form=form)


@login_required
@require_POST
def certificate_add(request, pk):
    agency, ok = _editable_agency(request, pk)
    if not ok:
        return redirect("agencies:enrolment", agency.pk)
    form = CertificateForm(request.POST, request.FILES)
    if form.is_valid() and run_service(
        request,
        form,
        services.certificate_add,
        actor=request.user,
        agency=agency,
        success=_("The certificate is added."),
        **form.cleaned_data,
    ):
        return redirect_to("agencies:enrolment", agency.pk, anchor="certificates")
    return _rerender(request, agency, certificate_form=form)


@login_required
@require_POST
def certificate_remove(request, pk, cert_pk):
    agency, ok = _editable_agency(request, pk)
    if ok:
        certificate = agency.certificates.filter(pk=cert_pk).first()
        if certificate is None:
            raise Http404
        run_service(
            request,
            None,
            services.certificate_remove,
            actor=request.user,
            certificate=certificate,
            success=_("The certificate is removed."),
        )
    return redirect_to("agencies:enrolment", agency.pk, anchor="certificates")


@login_required
@require_POST
def practitioner_add(request, pk):
    agency, ok = _editable_agency(request, pk)
    if not ok:
        return redirect("agencies:enrolment", agency.pk)
    form = PractitionerForm(request.POST, request.FILES)
    if form.is_valid() and run_service(
        request,
        form,
        services.practitioner_add,
        actor=request.user,
        agency=agency,
        name=form.cleaned_data["name"],
        id_number=form.cleaned_data["id_number"],
        professional_certificates=form.professional_certificates(),
        social_insurance_proof=form.cleaned_data["social_insurance_proof"],
        aliases={"professional_certificates": "certificate_names"},
        success=_("The practitioner is added."),
    ):
        return redirect_to("agencies:enrolment", agency.pk, anchor="practitioners")
    return _rerender(request, agency, practitioner_form=form)


@login_required
@require_POST
def practitioner_remove(request, pk, prac_pk):
    agency, ok = _editable_agency(request, pk)
    if ok:
        practitioner = agency.practitioners.filter(pk=prac_pk).first()
        if practitioner is None:
            raise Http404
        run_service(
            request,
            None,
            services.practitioner_remove,
            actor=request.user,
            practitioner=practitioner,
            success=_("The practitioner is removed."),
        )
    return redirect_to("agencies:enrolment", agency.pk, anchor="practitioners")


@login_required
@require_POST
def service_items(request, pk):
    agency, ok = _editable_agency(request, pk)
    if not ok:
        return redirect("agencies:enrolment", agency.pk)
    _groups, item_ids = service_item_rows(agency)
    form = ServiceItemsForm(request.POST, item_ids=item_ids)
    if form.is_valid():
        from cms.models import ServiceItemPage

        chosen = list(ServiceItemPage.objects.filter(pk__in=form.cleaned_data["items"]))
        if run_service(
            request,
            form,
            services.service_items_set,
            actor=request.user,
            agency=agency,
            items=chosen,
            aliases={"service_items": "items"},
            success=_("The service items are saved."),
        ):
            return redirect_to("agencies:enrolment", agency.pk, anchor="items")
    return _rerender(request, agency, items_form=form)


@login_required
@require_POST
def service_regions(request, pk):
    agency, ok = _editable_agency(request, pk)
    if not ok:
        return redirect("agencies:enrolment", agency.pk)
    form = ServiceRegionsForm(request.POST)
    if form.is_valid() and run_service(
        request,
        form,
        services.service_regions_set,
        actor=request.user,
        agency=agency,
        scope=form.cleaned_data["scope"],
        regions=form.regions_qs(),
        aliases={"service_regions": "regions", "service_scope": "scope"},
        success=_("The service regions are saved."),
    ):
        return redirect_to("agencies:enrolment", agency.pk, anchor="regions")
    return _rerender(request, agency, regions_form=form)


@login_required
@require_POST
def enrolment_submit(request, pk):
    agency, ok = _editable_agency(request, pk)
    if ok and run_service(
        request,
        None,
        services.enrolment_submit,
        actor=request.user,
        agency=agency,
        success=_("The enrolment is submitted for review. You will be notified of the decision."),
    ):
        return redirect("agencies:portal_agency", agency.pk)
    return redirect_to("agencies:enrolment", agency.pk, anchor="missing")


@login_required
@require_POST
def enrolment_withdraw(request, pk):
    agency = member_agency(request.user, pk)
    run_service(
        request,
        None,
        services.enrolment_withdraw,
        actor=request.user,
        agency=agency,
        reason=(request.POST.get("reason") or "").strip(),
        success=_("The enrolment is withdrawn."),
    )
    return redirect(reverse("agencies:portal_agency", args=[agency.pk]))
