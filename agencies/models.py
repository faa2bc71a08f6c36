"""Agencies (中介机构): enrolment (入驻), qualifications, practitioners, the service items they
offer, review, change requests and their priced offerings on the shelf.

An agency is an Organisation of kind "agency" (name, USCC and region live there, once) with the
enrolment record below. States change only through the services in agencies/services.py,
inside a transaction, each transition audited (marketplace.audit)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from marketplace.uploads import private_storage, validate_scan
from marketplace.uploads import private_upload_to as _private_upload_to


def _allowed(action: str):
    """A django-fsm ``permission`` callable delegating to the one permission helper
    (agencies/rules.py); ``user=None`` is the system (scheduler, commands) and is allowed."""

    def check(instance, user) -> bool:
        if user is None:
            return True
        from marketplace.permissions import has_perm

        return has_perm(user, action, instance)

    check.__name__ = f"may_{action}"
    return check


def licence_upload_to(instance, filename):
    return _private_upload_to("licences")(instance, filename)


def certificate_upload_to(instance, filename):
    return _private_upload_to("certificates")(instance, filename)


def practitioner_upload_to(instance, filename):
    return _private_upload_to("practitioners")(instance, filename)


class EnrolmentStatus(models.TextChoices):
    DRAFT = "draft", _("draft")  # 草稿
    SUBMITTED = "submitted", _("submitted, awaiting review")  # 待审核
    RETURNED = "returned", _("returned for correction")  # 退回修改
    APPROVED = "approved", _("approved")  # 已入驻
    SUSPENDED = "suspended", _("suspended")  # 暂停
    WITHDRAWN = "withdrawn", _("withdrawn")  # 已撤回


class CreditGrade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class ServiceScope(models.TextChoices):
    PROVINCE = "province", _("province-wide")  # 全省执业
    REGIONS = "regions", _("selected regions")


class Agency(ConcurrentTransitionMixin, models.Model):
    """The enrolment record of an agency organisation (one per organisation)."""

    organisation = models.OneToOneField(
        "marketplace.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="agency",
    )
    legal_representative = models.CharField(_("legal representative"), max_length=64)
    registered_address = models.CharField(_("registered address"), max_length=300)
    contact_name = models.CharField(_("contact person"), max_length=64)
    contact_phone = models.CharField(_("contact phone"), max_length=32)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    business_scope = models.TextField(_("business scope"))
    business_licence = models.FileField(
        _("business licence scan"),
        upload_to=licence_upload_to,
        storage=private_storage,
        validators=[validate_scan],
        blank=True,
    )
    commitment_accepted_at = models.DateTimeField(
        _("commitment letter accepted at"), null=True, blank=True
    )
    service_scope = models.CharField(
        _("service regions"),
        max_length=12,
        choices=ServiceScope.choices,
        default=ServiceScope.PROVINCE,
    )
    service_regions = models.ManyToManyField(
        "marketplace.Region",
        verbose_name=_("service regions"),
        blank=True,
        related_name="+",
        help_text=_("Only when the scope is 'selected regions'; each region covers its subtree."),
    )
    status = FSMField(
        _("status"),
        max_length=12,
        choices=EnrolmentStatus.choices,
        default=EnrolmentStatus.DRAFT,
        protected=True,
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    status_reason = models.TextField(_("reason of the current status"), blank=True)
    # 信用评价: the current grade and score, for display, search and eligibility. Computed
    # from ratings, complaints and sanctions by the ratings app, which keeps the history; until
    # it does, every agency is unrated (blank grade, no score).
    credit_grade = models.CharField(
        _("credit grade"), max_length=1, choices=CreditGrade.choices, blank=True
    )
    credit_score = models.DecimalField(
        _("credit score"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    # Oscar's seller record, created or updated on approval.
    partner = models.OneToOneField(
        "partner.Partner",
        verbose_name=_("shop partner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agency",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        indexes = [
            # The review queue: submitted agencies, oldest first (bench/agencies.py at 100k).
            models.Index(
                fields=["submitted_at", "id"],
                condition=Q(status="submitted"),
                name="agencies_review_queue_idx",
            ),
            # The public directory and its page count: approved agencies only (index-only
            # COUNT at 100k: 34 ms -> 11 ms).
            models.Index(
                fields=["organisation"],
                condition=Q(status="approved"),
                name="agencies_directory_idx",
            ),
        ]

    # Written only by ratings.credit (under a row lock, with update_fields). Services that
    # load an agency, transition it and save() it must not write back the grade they read,
    # which a recompute may have replaced in the meantime.
    CREDIT_FIELDS = frozenset({"credit_grade", "credit_score"})

    def save(self, *args, **kwargs):
        if kwargs.get("update_fields") is None and not self._state.adding and not args:
            skip = self.CREDIT_FIELDS | self.get_deferred_fields()
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in skip and f.attname not in skip
            ]
        return super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.organisation.name

    @property
    def name(self) -> str:
        return self.organisation.name

    @property
    def uscc(self) -> str:
        return self.organisation.uscc

    def get_audit_organisation(self):
        return self.organisation

    # --- enrolment state machine (DESIGN §5). Called only from agencies.services, inside
    # transaction.atomic(); the post_transition receiver writes one audit event per call from
    # the by=/reason=/data= keyword arguments.

    @transition(
        field=status,
        source=[EnrolmentStatus.DRAFT, EnrolmentStatus.RETURNED, EnrolmentStatus.SUSPENDED],
        target=EnrolmentStatus.SUBMITTED,
        permission=_allowed("submit"),
    )
    def submit(self, *, by=None, reason: str = "", data=None) -> None:
        """提交审核 (also the way back from suspension: resubmit, then be re-approved)."""
        self.submitted_at = timezone.now()
        self.status_reason = ""

    @transition(
        field=status,
        source=EnrolmentStatus.SUBMITTED,
        target=EnrolmentStatus.APPROVED,
        permission=_allowed("review"),
    )
    def approve(self, *, by=None, reason: str = "", data=None) -> None:
        """审核通过."""
        self.approved_at = timezone.now()
        self.status_reason = reason or ""

    @transition(
        field=status,
        source=EnrolmentStatus.SUBMITTED,
        target=EnrolmentStatus.RETURNED,
        permission=_allowed("review"),
    )
    def return_for_correction(self, *, by=None, reason: str = "", data=None) -> None:
        """退回修改, with reasons per field (kept in EnrolmentReview.field_reasons)."""
        self.status_reason = reason or ""

    @transition(
        field=status,
        source=EnrolmentStatus.APPROVED,
        target=EnrolmentStatus.SUSPENDED,
        permission=_allowed("suspend"),
    )
    def suspend(self, *, by=None, reason: str = "", data=None) -> None:
        """暂停: an expired mandatory qualification (the scheduler, by=None) or a sanction."""
        self.status_reason = reason or ""

    @transition(
        field=status,
        source=[
            EnrolmentStatus.DRAFT,
            EnrolmentStatus.RETURNED,
            EnrolmentStatus.SUBMITTED,
            EnrolmentStatus.APPROVED,
            EnrolmentStatus.SUSPENDED,
        ],
        target=EnrolmentStatus.WITHDRAWN,
        permission=_allowed("withdraw"),
    )
    def withdraw(self, *, by=None, reason: str = "", data=None) -> None:
        """撤回 / 退出: the agency leaves the marketplace (final)."""
        self.status_reason = reason or ""


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("valid")  # 有效
    EXPIRING = "expiring", _("expiring within 30 days")  # 即将到期
    EXPIRED = "expired", _("expired")  # 已过期
    REVOKED = "revoked", _("revoked")  # 已撤销


class QualificationCertificate(ConcurrentTransitionMixin, models.Model):
    """资质证书. Expiry is driven by the chronograph, not by a click."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="certificates"
    )
    qualification_type = models.ForeignKey(
        "marketplace.QualificationType",
        verbose_name=_("qualification type"),
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    level = models.CharField(_("level"), max_length=40, blank=True)
    certificate_number = models.CharField(_("certificate number"), max_length=64)
    issuing_authority = models.CharField(_("issuing authority"), max_length=120)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    scan = models.FileField(
        _("certificate scan"),
        upload_to=certificate_upload_to,
        storage=private_storage,
        validators=[validate_scan],
        blank=True,
    )
    status = FSMField(
        _("status"),
        max_length=10,
        choices=CertificateStatus.choices,
        default=CertificateStatus.VALID,
        protected=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("qualification certificate")
        verbose_name_plural = _("qualification certificates")
        constraints = [
            models.UniqueConstraint(
                fields=["qualification_type", "certificate_number"],
                name="agencies_certificate_number_unique_per_type",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="agencies_certificate_valid_range",
            ),
        ]
        indexes = [models.Index(fields=["status", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.qualification_type} {self.level} {self.certificate_number}".strip()

    def get_audit_organisation(self):
        return self.agency.organisation

    # --- certificate state machine. Time-driven: the expiry scheduler decides which
    # certificates are due and calls these inside its transaction (by=None: the system).

    @transition(
        field=status,
        source=CertificateStatus.VALID,
        target=CertificateStatus.EXPIRING,
        permission=_allowed("manage_certificate"),
    )
    def mark_expiring(self, *, by=None, reason: str = "", data=None) -> None:
        """即将到期 (valid_until within 30 days)."""

    @transition(
        field=status,
        source=[CertificateStatus.VALID, CertificateStatus.EXPIRING],
        target=CertificateStatus.EXPIRED,
        permission=_allowed("manage_certificate"),
    )
    def expire(self, *, by=None, reason: str = "", data=None) -> None:
        """已过期 (valid_until has passed)."""

    @transition(
        field=status,
        source=[CertificateStatus.VALID, CertificateStatus.EXPIRING, CertificateStatus.EXPIRED],
        target=CertificateStatus.REVOKED,
        permission=_allowed("manage_certificate"),
    )
    def revoke(self, *, by=None, reason: str = "", data=None) -> None:
        """已撤销 (by the issuing authority or a regulator; final)."""

    def usable_on(self, day) -> bool:
        """Whether this certificate counts for eligibility on ``day``: valid or expiring, and
        ``valid_from <= day <= valid_until``."""
        return (
            self.status in (CertificateStatus.VALID, CertificateStatus.EXPIRING)
            and self.valid_from <= day <= self.valid_until
        )


class Practitioner(models.Model):
    """执业人员. The ID number is personal data: stored for verification, shown masked."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="practitioners"
    )
    name = models.CharField(_("name"), max_length=64)
    id_number = models.CharField(_("ID number"), max_length=18)
    professional_certificates = models.JSONField(
        _("professional certificates"),
        default=list,
        blank=True,
        help_text=_('A list of {"name": …, "number": …}, e.g. 一级造价工程师.'),
    )
    social_insurance_proof = models.FileField(
        _("proof of social insurance"),
        upload_to=practitioner_upload_to,
        storage=private_storage,
        validators=[validate_scan],
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "id_number"], name="agencies_practitioner_once_per_agency"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        """First 4 and last 2 characters only, e.g. 5301************1X."""
        value = self.id_number or ""
        if len(value) <= 6:
            return "*" * len(value)
        return value[:4] + "*" * (len(value) - 6) + value[-2:]

    @property
    def masked_name(self) -> str:
        """张** style: the surname only, for public pages."""
        return (self.name[:1] + "*" * max(len(self.name) - 1, 1)) if self.name else ""


class AgencyServiceItem(models.Model):
    """A catalog service item the agency declares it offers (its 服务事项)."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="service_items"
    )
    service_item = models.ForeignKey(
        "cms.ServiceItemPage",
        verbose_name=_("service item"),
        on_delete=models.PROTECT,
        related_name="agency_declarations",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("declared service item")
        verbose_name_plural = _("declared service items")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "service_item"], name="agencies_service_item_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency} · {self.service_item}"


class ReviewDecision(models.TextChoices):
    APPROVE = "approve", _("approved")
    RETURN = "return", _("returned for correction")


class EnrolmentReview(models.Model):
    """One regulator decision on a submitted enrolment. ``field_reasons`` maps a field name
    (e.g. "legal_representative", "certificates.3.valid_until") to the reason it is returned,
    so the agency sees each reason beside the field concerned."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    regulator = models.ForeignKey(
        "marketplace.Organisation",
        verbose_name=_("regulator"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision = models.CharField(_("decision"), max_length=10, choices=ReviewDecision.choices)
    comment = models.TextField(_("comment"), blank=True)
    field_reasons = models.JSONField(_("reasons per field"), default=dict, blank=True)
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("enrolment review")
        verbose_name_plural = _("enrolment reviews")


class ChangeRequestKind(models.TextChoices):
    NAME = "name", _("name")  # 名称变更
    LEGAL_REPRESENTATIVE = "legal_representative", _("legal representative")  # 法定代表人
    QUALIFICATION = "qualification", _("qualification certificate")  # 资质变更


class ChangeRequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")


class ChangeRequest(ConcurrentTransitionMixin, models.Model):
    """A change of an approved agency's key data, reviewed while the agency stays on the
    market with its current data. ``payload`` holds the proposed values; they are applied only
    when a regulator approves."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="change_requests"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=ChangeRequestKind.choices)
    payload = models.JSONField(_("proposed values"), default=dict)
    attachment = models.FileField(
        _("supporting document"),
        upload_to=certificate_upload_to,
        storage=private_storage,
        validators=[validate_scan],
        blank=True,
    )
    status = FSMField(
        _("status"),
        max_length=10,
        choices=ChangeRequestStatus.choices,
        default=ChangeRequestStatus.SUBMITTED,
        protected=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision_reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")

    def get_audit_organisation(self):
        return self.agency.organisation

    # --- change request state machine (services in agencies/changes.py).

    @transition(
        field=status,
        source=ChangeRequestStatus.SUBMITTED,
        target=ChangeRequestStatus.APPROVED,
        permission=_allowed("review"),
    )
    def approve(self, *, by=None, reason: str = "", data=None) -> None:
        """Approved: the caller applies ``payload`` to the agency in the same transaction."""
        self._record_decision(by, reason)

    @transition(
        field=status,
        source=ChangeRequestStatus.SUBMITTED,
        target=ChangeRequestStatus.REJECTED,
        permission=_allowed("review"),
    )
    def reject(self, *, by=None, reason: str = "", data=None) -> None:
        self._record_decision(by, reason)

    def _record_decision(self, by, reason: str) -> None:
        self.decided_by = by if getattr(by, "pk", None) else None
        self.decided_at = timezone.now()
        self.decision_reason = reason or ""

    @transition(
        field=status,
        source=ChangeRequestStatus.SUBMITTED,
        target=ChangeRequestStatus.WITHDRAWN,
        permission=_allowed("withdraw"),
    )
    def withdraw(self, *, by=None, reason: str = "", data=None) -> None:
        self.decided_at = timezone.now()
        self.decision_reason = reason or ""


class PricingMode(models.TextChoices):
    PRICE = "price", _("fixed price")  # 报价
    DISCOUNT = "discount", _("discount on the standard fee")  # 下浮率


class Offering(models.Model):
    """An agency's priced offering of one service item on the shelf. Its commercial record is
    an Oscar Product + StockRecord (kept in step by agencies/shelf.py). Public only while the
    agency is approved and qualified for the item (see agencies.selectors)."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), on_delete=models.CASCADE, related_name="offerings"
    )
    service_item = models.ForeignKey(
        "cms.ServiceItemPage",
        verbose_name=_("service item"),
        on_delete=models.PROTECT,
        related_name="offerings",
    )
    pricing_mode = models.CharField(
        _("pricing"), max_length=10, choices=PricingMode.choices, default=PricingMode.PRICE
    )
    price = models.DecimalField(
        _("price (yuan)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    discount_rate = models.DecimalField(
        _("discount rate (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text=_("下浮率: the percentage below the standard fee, e.g. 15 for 15 %."),
    )
    reference_amount = models.DecimalField(
        _("reference amount (yuan)"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "基准金额: the base amount (e.g. the investment) a price is quoted for, where the "
            "item's fee rule prices an amount; the ceiling is checked at it."
        ),
    )
    turnaround_days = models.PositiveSmallIntegerField(
        _("turnaround (working days)"), validators=[MinValueValidator(1)]
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("listed"), default=True)
    product = models.OneToOneField(
        "catalogue.Product",
        verbose_name=_("shop product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="offering",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("offering")
        verbose_name_plural = _("offerings")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "service_item"], name="agencies_offering_once_per_item"
            ),
            models.CheckConstraint(
                condition=(
                    Q(pricing_mode="price", price__isnull=False, discount_rate__isnull=True)
                    | Q(pricing_mode="discount", discount_rate__isnull=False, price__isnull=True)
                ),
                name="agencies_offering_price_or_discount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agency} · {self.service_item}"
