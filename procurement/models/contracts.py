"""Contracts (合同), fulfilment (履约) and deposits (保证金).

A contract comes from an award (one per selected agency) or from a direct purchase of a listed
offering through Oscar's checkout; either way it has an Oscar ``Order`` as its commercial
record and milestone payments attach to that order. State changes happen only in
``procurement.contracts`` and ``procurement.deposits`` (DESIGN §4–5).

    draft ──sign (both)──▶ signed ──start──▶ in progress ──deliver──▶ delivered
                                                 ▲    ▲                 │  │
                                                 │    └──accept (more)──┘  │ return
                                                 │                         ▼
                                                 └──────deliver────── returned
    delivered ──accept (last milestone)──▶ accepted ──every milestone paid──▶ completed
    any state before completed ──terminate (reason)──▶ terminated

Overdue is a derived flag (``overdue_since``) with its own audited event, not a state.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from marketplace.models.stored import StoredUpload
from marketplace.uploads import (
    FileContentValidator,
    private_storage,
    private_upload_to,
    validate_scan,
)
from procurement.models.announcements import Announcement, Owner

# Deliverables (服务成果) are documents: the formats regulators archive, up to 50 MB each.
DELIVERABLE_MAX_BYTES = 50 * 1024 * 1024
validate_deliverable = FileContentValidator(("pdf", "ofd", "png", "jpeg"), DELIVERABLE_MAX_BYTES)


def contract_upload_to(instance, filename: str) -> str:
    return private_upload_to("contracts")(instance, filename)


def deliverable_upload_to(instance, filename: str) -> str:
    return private_upload_to("deliverables")(instance, filename)


class ContractSource(models.TextChoices):
    AWARD = "award", _("award of an announcement")  # 公告成交
    DIRECT_PURCHASE = "purchase", _("direct purchase from the shelf")  # 直接选取（货架）


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("draft")  # 草稿
    SIGNED = "signed", _("signed")  # 已签订
    IN_PROGRESS = "in_progress", _("in progress")  # 履约中
    DELIVERED = "delivered", _("delivered, awaiting acceptance")  # 已提交成果
    RETURNED = "returned", _("returned for rework")  # 退回整改
    ACCEPTED = "accepted", _("service accepted")  # 已验收
    COMPLETED = "completed", _("completed")  # 已完成
    TERMINATED = "terminated", _("terminated")  # 已终止


OPEN_CONTRACT_STATES = (
    ContractStatus.SIGNED,
    ContractStatus.IN_PROGRESS,
    ContractStatus.DELIVERED,
    ContractStatus.RETURNED,
    ContractStatus.ACCEPTED,
)
# States in which the work is still due (the overdue check looks at these).
WORK_DUE_STATES = (
    ContractStatus.SIGNED,
    ContractStatus.IN_PROGRESS,
    ContractStatus.DELIVERED,
    ContractStatus.RETURNED,
)


class Contract(ConcurrentTransitionMixin, models.Model):
    """合同 between an owner and an agency for one service item."""

    code = models.CharField(_("contract number"), max_length=20, unique=True)
    source = models.CharField(
        _("source"), max_length=10, choices=ContractSource.choices, default=ContractSource.AWARD
    )
    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("announcement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    offering = models.ForeignKey(
        "agencies.Offering",
        verbose_name=_("offering"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    project = models.ForeignKey(
        "procurement.Project",
        verbose_name=_("project"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    service_item = models.ForeignKey(
        "cms.ServiceItemPage",
        verbose_name=_("service item"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    owner = models.ForeignKey(
        Owner, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="contracts"
    )
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    order = models.OneToOneField(
        "order.Order",
        verbose_name=_("commercial order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contract",
    )
    scope = models.TextField(_("scope of service"))
    # The cap: the announcement's ceiling, or the offering's price at checkout.
    price_ceiling = models.DecimalField(_("price ceiling (yuan)"), max_digits=14, decimal_places=2)
    price = models.DecimalField(
        _("contract price (yuan)"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    # The fee rule's standard fee for this service when the contract was made (None when the
    # item has no fee rule): the basis of the fee reduction rate (降费率).
    standard_fee = models.DecimalField(
        _("standard fee (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    time_limit_days = models.PositiveIntegerField(_("time limit (working days)"))
    status = FSMField(
        _("status"),
        max_length=12,
        choices=ContractStatus.choices,
        default=ContractStatus.DRAFT,
        protected=True,
    )
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    # Counted from the signing day in working days, moved only by agreed extensions.
    due_date = models.DateField(_("due date"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("terminated at"), null=True, blank=True)
    termination_reason = models.TextField(_("reason for termination"), blank=True)
    # The overdue flag: the due date that was missed, while it stands; ``was_overdue`` keeps
    # the fact after an extension (extensions are never retroactive).
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    was_overdue = models.BooleanField(_("was overdue"), default=False)
    paper_copy = models.FileField(
        _("signed paper copy"),
        upload_to=contract_upload_to,
        storage=private_storage,
        validators=[validate_scan],
        max_length=200,
        blank=True,
    )
    illustrative = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = (
            models.UniqueConstraint(
                fields=["announcement", "agency"],
                condition=Q(announcement__isnull=False),
                name="contract_once_per_award",
            ),
            models.CheckConstraint(
                condition=Q(price__lte=models.F("price_ceiling")),
                name="contract_price_within_ceiling",
            ),
        )
        indexes = (models.Index(fields=["status", "due_date"], name="contract_due_idx"),)

    def __str__(self) -> str:
        return self.code

    def get_audit_organisation(self):
        return self.owner.organisation

    @property
    def is_overdue(self) -> bool:
        return self.overdue_since is not None

    @transition(field=status, source=ContractStatus.DRAFT, target=ContractStatus.SIGNED)
    def sign(self, *, by=None, reason: str = "", data=None) -> None:
        """签订: the second of the two signatures."""

    @transition(field=status, source=ContractStatus.SIGNED, target=ContractStatus.IN_PROGRESS)
    def start(self, *, by=None, reason: str = "", data=None) -> None:
        """开始履约: the agency starts, or delivers its first result."""

    @transition(
        field=status,
        source=[ContractStatus.IN_PROGRESS, ContractStatus.RETURNED],
        target=ContractStatus.DELIVERED,
    )
    def deliver(self, *, by=None, reason: str = "", data=None) -> None:
        """提交成果 for the current milestone."""

    @transition(field=status, source=ContractStatus.DELIVERED, target=ContractStatus.RETURNED)
    def return_for_rework(self, *, by=None, reason: str = "", data=None) -> None:
        """退回整改, with reasons."""

    @transition(field=status, source=ContractStatus.DELIVERED, target=ContractStatus.IN_PROGRESS)
    def accept_milestone(self, *, by=None, reason: str = "", data=None) -> None:
        """验收 of a milestone while others remain."""

    @transition(field=status, source=ContractStatus.DELIVERED, target=ContractStatus.ACCEPTED)
    def accept(self, *, by=None, reason: str = "", data=None) -> None:
        """验收 of the last milestone: the service is accepted."""

    @transition(field=status, source=ContractStatus.ACCEPTED, target=ContractStatus.COMPLETED)
    def complete(self, *, by=None, reason: str = "", data=None) -> None:
        """完成: accepted and every milestone paid."""

    @transition(
        field=status,
        source=[ContractStatus.DRAFT, *OPEN_CONTRACT_STATES],
        target=ContractStatus.TERMINATED,
    )
    def terminate(self, *, by=None, reason: str = "", data=None) -> None:
        """终止, always with a reason."""
        self.termination_reason = reason


class MilestoneStatus(models.TextChoices):
    PENDING = "pending", _("not delivered yet")  # 待提交
    DELIVERED = "delivered", _("awaiting acceptance")  # 待验收
    RETURNED = "returned", _("returned for rework")  # 退回整改
    ACCEPTED = "accepted", _("accepted, awaiting payment")  # 已验收待支付
    PAID = "paid", _("paid")  # 已支付


class Milestone(ConcurrentTransitionMixin, models.Model):
    """付款节点: a part of the service, delivered, accepted and paid on its own."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="milestones"
    )
    sequence = models.PositiveSmallIntegerField(_("number"))
    title = models.CharField(_("milestone"), max_length=120)
    amount = models.DecimalField(
        _("amount (yuan)"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    due_date = models.DateField(_("due date"))
    status = FSMField(
        _("status"),
        max_length=10,
        choices=MilestoneStatus.choices,
        default=MilestoneStatus.PENDING,
        protected=True,
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        ordering = ("contract", "sequence")
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        constraints = (
            models.UniqueConstraint(fields=["contract", "sequence"], name="milestone_sequence"),
        )

    def __str__(self) -> str:
        return f"{self.contract.code} · {self.sequence}. {self.title}"

    def get_audit_organisation(self):
        return self.contract.owner.organisation

    @transition(
        field=status,
        source=[MilestoneStatus.PENDING, MilestoneStatus.RETURNED],
        target=MilestoneStatus.DELIVERED,
    )
    def deliver(self, *, by=None, reason: str = "", data=None) -> None:
        pass

    @transition(field=status, source=MilestoneStatus.DELIVERED, target=MilestoneStatus.RETURNED)
    def return_for_rework(self, *, by=None, reason: str = "", data=None) -> None:
        pass

    @transition(field=status, source=MilestoneStatus.DELIVERED, target=MilestoneStatus.ACCEPTED)
    def accept(self, *, by=None, reason: str = "", data=None) -> None:
        pass

    @transition(field=status, source=MilestoneStatus.ACCEPTED, target=MilestoneStatus.PAID)
    def mark_paid(self, *, by=None, reason: str = "", data=None) -> None:
        pass


class SigningParty(models.TextChoices):
    OWNER = "owner", _("owner (party A)")  # 甲方
    AGENCY = "agency", _("agency (party B)")  # 乙方


class Signature(models.Model):
    """One party's signature: who, when, from where, and over which terms (the SHA-256 of the
    canonical terms, so both parties provably signed the same text)."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="signatures"
    )
    party = models.CharField(_("party"), max_length=8, choices=SigningParty.choices)
    organisation = models.ForeignKey(
        "marketplace.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    signed_at = models.DateTimeField(_("signed at"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    terms_hash = models.CharField(_("terms fingerprint (SHA-256)"), max_length=64)

    class Meta:
        ordering = ("signed_at", "id")
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = (
            models.UniqueConstraint(fields=["contract", "party"], name="signature_once_per_party"),
        )

    def __str__(self) -> str:
        return f"{self.contract.code} · {self.get_party_display()}"


class Deliverable(StoredUpload):
    """服务成果: a file the agency delivers for a milestone, and the owner's review of it. Every
    rework round is a new row; nothing is overwritten."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", _("accepted on review")  # 验收通过
        RETURNED = "returned", _("returned for rework")  # 退回整改

    milestone = models.ForeignKey(
        Milestone,
        verbose_name=_("milestone"),
        on_delete=models.CASCADE,
        related_name="deliverables",
    )
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    file = models.FileField(
        _("file"),
        upload_to=deliverable_upload_to,
        storage=private_storage,
        validators=[validate_deliverable],
        max_length=200,
    )
    note = models.TextField(_("note"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, blank=True)
    review_reasons = models.TextField(_("review comments"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        ordering = ("milestone", "round", "id")
        verbose_name = _("deliverable")
        verbose_name_plural = _("deliverables")

    def __str__(self) -> str:
        return f"{self.milestone} · {self.round}"

    def get_audit_organisation(self):
        return self.milestone.contract.agency.organisation


class ExtensionStatus(models.TextChoices):
    PROPOSED = "proposed", _("proposed")  # 待对方确认
    AGREED = "agreed", _("agreed")  # 双方同意
    REJECTED = "rejected", _("rejected")  # 不同意
    WITHDRAWN = "withdrawn", _("withdrawn")  # 撤回


class Extension(ConcurrentTransitionMixin, models.Model):
    """工期延长: proposed by one party, in effect only once the other agrees. The new due date
    must be later than the current one and in the future; the overdue flag already raised
    stays in the record (``Contract.was_overdue``)."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="extensions"
    )
    proposed_by_party = models.CharField(
        _("proposed by"), max_length=8, choices=SigningParty.choices
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by (person)"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    old_due_date = models.DateField(_("due date before"))
    new_due_date = models.DateField(_("new due date"))
    reason = models.TextField(_("reason"))
    status = FSMField(
        _("status"),
        max_length=10,
        choices=ExtensionStatus.choices,
        default=ExtensionStatus.PROPOSED,
        protected=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(_("proposed at"), auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        constraints = (
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(status="proposed"),
                name="extension_one_pending",
            ),
        )

    def __str__(self) -> str:
        return f"{self.contract.code} → {self.new_due_date}"

    def get_audit_organisation(self):
        return self.contract.owner.organisation

    @transition(field=status, source=ExtensionStatus.PROPOSED, target=ExtensionStatus.AGREED)
    def agree(self, *, by=None, reason: str = "", data=None) -> None:
        pass

    @transition(field=status, source=ExtensionStatus.PROPOSED, target=ExtensionStatus.REJECTED)
    def reject(self, *, by=None, reason: str = "", data=None) -> None:
        pass

    @transition(field=status, source=ExtensionStatus.PROPOSED, target=ExtensionStatus.WITHDRAWN)
    def withdraw(self, *, by=None, reason: str = "", data=None) -> None:
        pass


class DepositStatus(models.TextChoices):
    PENDING = "pending", _("awaiting payment")  # 待缴纳
    PAID = "paid", _("paid")  # 已缴纳
    REFUND_DUE = "refund_due", _("refund due")  # 待退还
    REFUNDED = "refunded", _("refunded")  # 已退还


class Deposit(ConcurrentTransitionMixin, models.Model):
    """保证金 an agency pays in for an announcement that asks for one. Once the trigger comes
    (the agency is out of the running, or the announcement ended) it is refunded through the
    payment provider within one working day (``refund_due_by``), by the scheduler."""

    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("announcement"),
        on_delete=models.PROTECT,
        related_name="deposits",
    )
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="deposits",
    )
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    status = FSMField(
        _("status"),
        max_length=10,
        choices=DepositStatus.choices,
        default=DepositStatus.PENDING,
        protected=True,
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    refund_reason = models.CharField(_("refund trigger"), max_length=200, blank=True)
    refund_triggered_at = models.DateTimeField(_("refund triggered at"), null=True, blank=True)
    refund_due_by = models.DateTimeField(_("refund due by"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    refund_error = models.CharField(_("last refund error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        constraints = (
            models.UniqueConstraint(fields=["announcement", "agency"], name="deposit_once"),
        )
        indexes = (models.Index(fields=["status", "refund_due_by"], name="deposit_due_idx"),)

    def __str__(self) -> str:
        return f"{self.announcement.code} · {self.agency}"

    def get_audit_organisation(self):
        return self.agency.organisation

    @transition(field=status, source=DepositStatus.PENDING, target=DepositStatus.PAID)
    def mark_paid(self, *, by=None, reason: str = "", data=None) -> None:
        pass

    @transition(field=status, source=DepositStatus.PAID, target=DepositStatus.REFUND_DUE)
    def trigger_refund(self, *, by=None, reason: str = "", data=None) -> None:
        self.refund_reason = reason[:200]

    @transition(field=status, source=DepositStatus.REFUND_DUE, target=DepositStatus.REFUNDED)
    def mark_refunded(self, *, by=None, reason: str = "", data=None) -> None:
        pass


__all__ = [
    "DELIVERABLE_MAX_BYTES",
    "OPEN_CONTRACT_STATES",
    "WORK_DUE_STATES",
    "Contract",
    "ContractSource",
    "ContractStatus",
    "Deliverable",
    "Deposit",
    "DepositStatus",
    "Extension",
    "ExtensionStatus",
    "Milestone",
    "MilestoneStatus",
    "Signature",
    "SigningParty",
    "validate_deliverable",
]
