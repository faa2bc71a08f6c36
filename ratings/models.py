"""How the market disciplines itself and how regulators discipline it (DESIGN §5):
service ratings (服务评价), credit scores (信用评价) with their history, complaints and reports
(投诉举报) with evidence, sanctions up to a market ban (黑名单、市场禁入) and appeals (申诉).

State changes happen only in the services of this app (``ratings/services/…``), inside
transactions, through the FSM methods below: one audit event per transition.

    Complaint: submitted → accepted | rejected → investigating → upheld | dismissed
    Sanction:  proposed → in effect → appealed → upheld | revoked;
               in effect | upheld → expired (the scheduler) | lifted (a regulator, with a reason)
               proposed → withdrawn (before approval)
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from marketplace.models.stored import StoredUpload
from marketplace.uploads import FileContentValidator, private_storage, private_upload_to

SCORE = [MinValueValidator(1), MaxValueValidator(5)]
validate_evidence = FileContentValidator(("pdf", "ofd", "png", "jpeg"), 10 * 1024 * 1024)


def evidence_upload_to(instance, filename: str) -> str:
    return private_upload_to("evidence")(instance, filename)


# --- 服务评价 ------------------------------------------------------------------------------------


class Rating(models.Model):
    """The owner's rating of a contract's service, once, after acceptance, within a time
    limit; the agency may reply once, publicly."""

    contract = models.OneToOneField(
        "procurement.Contract",
        verbose_name=_("contract"),
        on_delete=models.PROTECT,
        related_name="rating",
    )
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="ratings",
    )
    owner = models.ForeignKey(
        "procurement.Owner", verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    quality = models.PositiveSmallIntegerField(_("quality"), validators=SCORE)  # 服务质量
    timeliness = models.PositiveSmallIntegerField(_("timeliness"), validators=SCORE)  # 服务时效
    attitude = models.PositiveSmallIntegerField(_("service attitude"), validators=SCORE)  # 服务态度
    fees = models.PositiveSmallIntegerField(_("fees"), validators=SCORE)  # 收费合理性
    compliance = models.PositiveSmallIntegerField(_("compliance"), validators=SCORE)  # 依法依规
    comment = models.TextField(pgettext_lazy("rating", "comment"), blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rated by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("rated at"), auto_now_add=True)
    reply = models.TextField(_("agency's reply"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("replied by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        indexes = (models.Index(fields=["agency", "created_at"], name="rating_agency_idx"),)
        constraints = tuple(
            models.CheckConstraint(
                condition=Q(**{f"{name}__gte": 1, f"{name}__lte": 5}), name=f"rating_{name}_1_5"
            )
            for name in ("quality", "timeliness", "attitude", "fees", "compliance")
        )

    def __str__(self) -> str:
        return f"{self.contract} · {self.average}"

    @property
    def average(self) -> Decimal:
        total = self.quality + self.timeliness + self.attitude + self.fees + self.compliance
        return (Decimal(total) / 5).quantize(Decimal("0.01"))

    def get_audit_organisation(self):
        return self.agency.organisation


# --- 信用评价 ------------------------------------------------------------------------------------


class CreditScore(models.Model):
    """One computation of an agency's credit score: the history. ``Agency.credit_score`` and
    ``credit_grade`` hold the latest, for display, search and eligibility."""

    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("agency"),
        on_delete=models.CASCADE,
        related_name="credit_history",
    )
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    grade = models.CharField(_("grade"), max_length=1)
    # Each term of the formula with its inputs, so the page can explain the score.
    components = models.JSONField(_("components"), default=dict, encoder=DjangoJSONEncoder)
    formula_version = models.PositiveSmallIntegerField(_("formula version"))
    trigger = models.CharField(_("trigger"), max_length=64, blank=True)
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)

    class Meta:
        ordering = ("-computed_at", "-id")
        verbose_name = _("credit score")
        verbose_name_plural = _("credit scores")
        indexes = (models.Index(fields=["agency", "-computed_at"], name="credit_agency_idx"),)

    def __str__(self) -> str:
        return f"{self.agency} · {self.grade} {self.score}"


# --- 投诉举报 ------------------------------------------------------------------------------------


class ComplainantKind(models.TextChoices):
    OWNER = "owner", _("project owner")
    AGENCY = "agency", _("agency")
    PUBLIC = "public", _("member of the public")


class ComplaintStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")  # 已提交
    ACCEPTED = "accepted", _("accepted for review")  # 已受理
    REJECTED = "rejected", _("not accepted")  # 不予受理
    INVESTIGATING = "investigating", _("under investigation")  # 调查中
    UPHELD = "upheld", pgettext_lazy("complaint", "upheld")  # 投诉成立
    DISMISSED = "dismissed", pgettext_lazy("complaint", "dismissed")  # 投诉不成立


class Complaint(ConcurrentTransitionMixin, models.Model):
    """投诉举报 against an agency or an announcement. The regulator in scope must accept or
    reject it by ``accept_by``; once accepted the accused may submit a statement until
    ``statement_by``; the outcome is published with the complainant anonymised."""

    code = models.CharField(_("complaint number"), max_length=24, unique=True)
    complainant_kind = models.CharField(
        _("complainant"), max_length=8, choices=ComplainantKind.choices
    )
    complainant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("complainant (account)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    complainant_organisation = models.ForeignKey(
        "marketplace.Organisation",
        verbose_name=_("complainant organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A member of the public: a name and a contact verified by a one-time code.
    public_name = models.CharField(pgettext_lazy("person", "name"), max_length=64, blank=True)
    public_contact = models.CharField(_("verified contact"), max_length=254, blank=True)
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("agency complained about"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaints",
    )
    announcement = models.ForeignKey(
        "procurement.Announcement",
        verbose_name=_("announcement complained about"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaints",
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("facts and grounds"))
    status = FSMField(
        _("status"),
        max_length=14,
        choices=ComplaintStatus.choices,
        default=ComplaintStatus.SUBMITTED,
        protected=True,
    )
    regulator = models.ForeignKey(
        "marketplace.Organisation",
        verbose_name=_("regulator in charge"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    accept_by = models.DateTimeField(_("accept or reject by"))
    statement_by = models.DateTimeField(_("statement due by"), null=True, blank=True)
    statement = models.TextField(_("statement of the accused"), blank=True)
    statement_at = models.DateTimeField(_("statement submitted at"), null=True, blank=True)
    decision = models.TextField(pgettext_lazy("ruling", "decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    published_at = models.DateTimeField(_("outcome published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("filed at"), auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = (
            models.CheckConstraint(
                condition=Q(agency__isnull=False) | Q(announcement__isnull=False),
                name="complaint_has_a_target",
            ),
        )
        indexes = (models.Index(fields=["status", "accept_by"], name="complaint_due_idx"),)

    def __str__(self) -> str:
        return self.code

    def get_audit_organisation(self):
        return self.regulator

    @transition(field=status, source=ComplaintStatus.SUBMITTED, target=ComplaintStatus.ACCEPTED)
    def accept(self, *, by=None, reason: str = "", data=None) -> None:
        """受理."""

    @transition(field=status, source=ComplaintStatus.SUBMITTED, target=ComplaintStatus.REJECTED)
    def reject(self, *, by=None, reason: str = "", data=None) -> None:
        """不予受理, with a reason."""
        self.decision = reason

    @transition(field=status, source=ComplaintStatus.ACCEPTED, target=ComplaintStatus.INVESTIGATING)
    def investigate(self, *, by=None, reason: str = "", data=None) -> None:
        """调查: after the accused's statement, or its deadline."""

    @transition(field=status, source=ComplaintStatus.INVESTIGATING, target=ComplaintStatus.UPHELD)
    def uphold(self, *, by=None, reason: str = "", data=None) -> None:
        self.decision = reason

    @transition(
        field=status, source=ComplaintStatus.INVESTIGATING, target=ComplaintStatus.DISMISSED
    )
    def dismiss(self, *, by=None, reason: str = "", data=None) -> None:
        self.decision = reason


class Evidence(StoredUpload):
    """证据材料 attached to a complaint (by the complainant) or to a statement (the accused)."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE, related_name="evidence"
    )
    by_accused = models.BooleanField(_("submitted by the accused"), default=False)
    file = models.FileField(
        _("file"),
        upload_to=evidence_upload_to,
        storage=private_storage,
        validators=[validate_evidence],
        max_length=200,
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ("uploaded_at", "id")
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    def __str__(self) -> str:
        return self.original_name


class ContactVerification(models.Model):
    """A one-time code sent to a member of the public's e-mail address or phone before a
    complaint is accepted from them. Only the code's hash is kept."""

    contact = models.CharField(_("contact"), max_length=254, db_index=True)
    code_hash = models.CharField(_("code hash"), max_length=64)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    expires_at = models.DateTimeField(_("expires at"))
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("contact verification")
        verbose_name_plural = _("contact verifications")


# --- 失信惩戒: sanctions, the blacklist and appeals --------------------------------------------------


class SanctionSeverity(models.TextChoices):
    WARNING = "warning", _("warning")  # 警示
    SUSPENSION = "suspension", _("suspension from selection")  # 暂停选取资格
    BAN = "ban", _("market ban")  # 市场禁入（黑名单）


class SanctionStatus(models.TextChoices):
    PROPOSED = "proposed", _("proposed, not yet in effect")  # 拟处理
    IN_EFFECT = "in_effect", _("in effect")  # 生效中
    APPEALED = "appealed", _("under appeal")  # 申诉中
    UPHELD = "upheld", _("upheld on appeal")  # 申诉维持
    REVOKED = "revoked", _("revoked on appeal")  # 申诉撤销
    EXPIRED = "expired", pgettext_lazy("sanction", "expired")  # 期满解除
    LIFTED = "lifted", _("lifted early")  # 提前解除
    WITHDRAWN = "withdrawn", _("withdrawn")  # 撤回


# The states in which a sanction bars the agency (an appeal does not suspend it).
BARRING_STATES = (SanctionStatus.IN_EFFECT, SanctionStatus.APPEALED, SanctionStatus.UPHELD)


class Sanction(ConcurrentTransitionMixin, models.Model):
    """失信惩戒 of an agency by a regulator in scope: a codified reason with its legal basis
    (``ratings.reasons``), a severity and a period. A market ban takes effect only once a
    second regulator approves it (four eyes); a warning or a suspension takes effect at once.
    While in effect (and during an appeal) it bars the agency from registrations, pools,
    draws, the shelf and new direct purchases; running contracts continue."""

    code = models.CharField(_("decision number"), max_length=24, unique=True)
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="sanctions",
    )
    reason_code = models.CharField(_("reason"), max_length=16)
    legal_basis = models.CharField(pgettext_lazy("sanction", "legal basis"), max_length=300)
    facts = models.TextField(_("facts"))
    severity = models.CharField(_("severity"), max_length=12, choices=SanctionSeverity.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    status = FSMField(
        _("status"),
        max_length=10,
        choices=SanctionStatus.choices,
        default=SanctionStatus.PROPOSED,
        protected=True,
    )
    regulator = models.ForeignKey(
        "marketplace.Organisation",
        verbose_name=_("regulator"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sanctions",
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    effective_at = models.DateTimeField(_("in effect since"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.TextField(_("reason for ending"), blank=True)
    appeal_by = models.DateTimeField(_("appeal deadline"), null=True, blank=True)
    created_at = models.DateTimeField(_("proposed at"), auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("sanction")
        verbose_name_plural = _("sanctions")
        constraints = (
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="sanction_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("proposed_by")),
                name="sanction_four_eyes",
            ),
        )
        indexes = (
            models.Index(fields=["agency", "status"], name="sanction_agency_idx"),
            models.Index(fields=["status", "ends_on"], name="sanction_due_idx"),
        )

    def __str__(self) -> str:
        return self.code

    def get_audit_organisation(self):
        return self.regulator

    @transition(field=status, source=SanctionStatus.PROPOSED, target=SanctionStatus.IN_EFFECT)
    def take_effect(self, *, by=None, reason: str = "", data=None) -> None:
        """生效: approved by a second regulator (a ban), or at once (otherwise)."""

    @transition(field=status, source=SanctionStatus.PROPOSED, target=SanctionStatus.WITHDRAWN)
    def withdraw(self, *, by=None, reason: str = "", data=None) -> None:
        self.end_reason = reason

    @transition(field=status, source=SanctionStatus.IN_EFFECT, target=SanctionStatus.APPEALED)
    def appeal(self, *, by=None, reason: str = "", data=None) -> None:
        """申诉: the sanction stays in effect while the appeal is decided."""

    @transition(field=status, source=SanctionStatus.APPEALED, target=SanctionStatus.UPHELD)
    def uphold(self, *, by=None, reason: str = "", data=None) -> None:
        pass

    # From "expired" too: an appeal still pending when the period ends is decided all the
    # same, and a revoked sanction must read as revoked on the blacklist, not as served.
    @transition(
        field=status,
        source=[SanctionStatus.APPEALED, SanctionStatus.EXPIRED],
        target=SanctionStatus.REVOKED,
    )
    def revoke(self, *, by=None, reason: str = "", data=None) -> None:
        self.end_reason = reason

    @transition(
        field=status,
        source=[SanctionStatus.IN_EFFECT, SanctionStatus.APPEALED, SanctionStatus.UPHELD],
        target=SanctionStatus.EXPIRED,
    )
    def expire(self, *, by=None, reason: str = "", data=None) -> None:
        pass

    @transition(
        field=status,
        source=[SanctionStatus.IN_EFFECT, SanctionStatus.APPEALED, SanctionStatus.UPHELD],
        target=SanctionStatus.LIFTED,
    )
    def lift(self, *, by=None, reason: str = "", data=None) -> None:
        self.end_reason = reason


class AppealStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    UPHELD = "upheld", _("sanction upheld")  # 维持
    REVOKED = "revoked", _("sanction revoked")  # 撤销


class Appeal(models.Model):
    """申诉 by the sanctioned agency within N working days; decided by a regulator other than
    the proposer; the decision is published."""

    sanction = models.OneToOneField(
        Sanction, verbose_name=_("sanction"), on_delete=models.PROTECT, related_name="appeal_record"
    )
    grounds = models.TextField(pgettext_lazy("appeal", "grounds"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.SUBMITTED
    )
    decision = models.TextField(pgettext_lazy("ruling", "decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")

    def __str__(self) -> str:
        return f"{self.sanction.code} · {self.get_status_display()}"
