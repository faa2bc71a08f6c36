"""Procurement (采购): owner units and their projects, announcements (采购公告), registrations
(报名), the draw and objections (异议). State changes happen only in ``procurement.services`` (DESIGN §4–6)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from procurement.validators import validate_project_code


class Owner(models.Model):
    """The profile of a project owner unit (项目业主单位): the organisation (kind "owner", its
    members act for it) plus what conflict-of-interest checks (回避) need."""

    organisation = models.OneToOneField(
        "marketplace.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="owner",
    )
    legal_representative = models.CharField(_("legal representative"), max_length=64)
    contact_name = models.CharField(_("contact person"), max_length=64)
    contact_phone = models.CharField(_("contact phone"), max_length=32)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("project owner")
        verbose_name_plural = _("project owners")

    def __str__(self) -> str:
        return self.organisation.name

    @property
    def name(self) -> str:
        return self.organisation.name

    def get_audit_organisation(self):
        return self.organisation


class Project(models.Model):
    """A project (投资项目) of an owner, for which intermediary services are procured."""

    owner = models.ForeignKey(
        Owner, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="projects"
    )
    name = models.CharField(_("project name"), max_length=200)
    # 投资项目统一代码, where the project has one (an approved, ratified or filed investment
    # project); blank for projects outside the investment approval system.
    code = models.CharField(
        _("investment project code"),
        max_length=24,
        blank=True,
        validators=[validate_project_code],
        help_text=_("投资项目统一代码, e.g. 2026-530102-48-01-000123, where the project has one."),
    )
    region = models.ForeignKey(
        "marketplace.Region",
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    total_investment = models.DecimalField(
        _("total investment (yuan)"), max_digits=16, decimal_places=2
    )
    description = models.TextField(_("description"), blank=True)
    illustrative = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = (
            models.UniqueConstraint(
                fields=["code"],
                condition=~Q(code=""),
                name="project_code_unique_when_present",
                violation_error_message=_("A project with this investment project code exists."),
            ),
        )

    def __str__(self) -> str:
        return self.name

    def get_audit_organisation(self):
        return self.owner.organisation


class SelectionMethod(models.TextChoices):
    RANDOM_DRAW = "random_draw", _("random draw")  # 随机抽取
    DIRECT = "direct", _("direct selection")  # 直接选取
    # 竞价选取 (quote) and 综合评价 (evaluation) join here in a later issue; see
    # procurement.methods for the interface they implement.


class RegionScope(models.TextChoices):
    LOCAL = "local", _("local agencies")  # 本地
    PROVINCE = "province", _("province-wide")  # 全省
    CROSS_REGION = "cross_region", _("agencies from other cities")  # 异地抽取


class AnnouncementStatus(models.TextChoices):
    DRAFT = "draft", _("draft")  # 草稿
    PUBLISHED = "published", _("registration open")  # 报名中
    CLOSED = "closed", _("registration closed")  # 报名截止
    SELECTING = "selecting", _("selecting")  # 选取中
    SELECTED = "selected", _("selected, awaiting confirmation")  # 已选取
    PUBLICITY = "publicity", _("publicity")  # 公示中
    AWARDED = "awarded", _("awarded")  # 已成交
    SUSPENDED = "suspended", _("suspended (objection under review)")  # 暂停（异议处理中）
    FAILED = "failed", _("failed")  # 流标
    CANCELLED = "cancelled", _("cancelled")  # 已撤销


PUBLIC_STATUSES = tuple(s for s in AnnouncementStatus.values if s != AnnouncementStatus.DRAFT)


def _owner_or_system(action: str):
    def check(instance, user) -> bool:
        if user is None:
            return True
        from marketplace.permissions import has_perm

        return has_perm(user, action, instance)

    return check


class Announcement(ConcurrentTransitionMixin, models.Model):
    """采购公告: one procurement of one service item for one project."""

    code = models.CharField(_("announcement number"), max_length=32, unique=True)
    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="announcements"
    )
    service_item = models.ForeignKey(
        "cms.ServiceItemPage",
        verbose_name=_("service item"),
        on_delete=models.PROTECT,
        related_name="announcements",
    )
    title = models.CharField(_("title"), max_length=200)
    scope = models.TextField(_("scope of service"))
    # 最高限价, checked against the item's fee rule at the fee base amount.
    budget_ceiling = models.DecimalField(
        _("budget ceiling (yuan)"), max_digits=14, decimal_places=2
    )
    # 保证金 each registrant pays in (0: none). Refunded automatically after the result
    # (procurement.deposits); the quote and auction methods will require one.
    deposit_amount = models.DecimalField(
        _("deposit (yuan)"), max_digits=12, decimal_places=2, default=0
    )
    fee_base_amount = models.DecimalField(
        _("fee base amount (yuan)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    fee_category = models.CharField(_("fee category"), max_length=40, blank=True)
    # The fee computation that bounded the ceiling (FeeResult.as_dict()), kept as published.
    fee_computation = models.JSONField(
        _("fee computation"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    method = models.CharField(_("selection method"), max_length=20, choices=SelectionMethod.choices)
    # The qualification requirements, as published: the item's, with levels optionally raised.
    # [{"qualification_type": id, "code": "...", "name": "...", "minimum_level": "乙级"}]
    requirements = models.JSONField(_("qualification requirements"), default=list, blank=True)
    min_credit_grade = models.CharField(_("minimum credit grade"), max_length=1, blank=True)
    region_scope = models.CharField(
        _("eligible regions"),
        max_length=16,
        choices=RegionScope.choices,
        default=RegionScope.PROVINCE,
    )
    registration_deadline = models.DateTimeField(_("registration deadline"), null=True, blank=True)
    selected_count = models.PositiveSmallIntegerField(_("agencies selected"), default=1)
    alternate_count = models.PositiveSmallIntegerField(_("alternates"), default=2)
    service_time_limit_days = models.PositiveIntegerField(_("service time limit (working days)"))
    # Direct selection: the agency the owner picked.
    direct_agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("directly selected agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    direct_reason = models.TextField(_("reason for direct selection"), blank=True)
    # The thresholds in force when published (settings may change later).
    min_eligible = models.PositiveSmallIntegerField(_("minimum eligible registrants"), default=3)
    confirm_hours = models.PositiveSmallIntegerField(_("hours to confirm"), default=48)
    publicity_working_days = models.PositiveSmallIntegerField(
        _("publicity (working days)"), default=3
    )
    # The verifiable draw (DESIGN §6): the commitment is public from publication, the secret
    # only from the draw on.
    commitment = models.CharField(_("commitment"), max_length=64, blank=True)
    secret = models.CharField(_("secret"), max_length=64, blank=True, editable=False)
    beacon_source = models.CharField(_("beacon"), max_length=40, blank=True)
    beacon_round = models.CharField(_("beacon round"), max_length=40, blank=True)
    pool_hash = models.CharField(_("pool hash"), max_length=64, blank=True)
    status = FSMField(
        _("status"),
        max_length=12,
        choices=AnnouncementStatus.choices,
        default=AnnouncementStatus.DRAFT,
        protected=True,
    )
    status_reason = models.TextField(_("reason of the current status"), blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("registration closed at"), null=True, blank=True)
    selected_at = models.DateTimeField(_("selected at"), null=True, blank=True)
    publicity_started_at = models.DateTimeField(_("publicity from"), null=True, blank=True)
    publicity_ends_at = models.DateTimeField(_("publicity until"), null=True, blank=True)
    awarded_at = models.DateTimeField(_("awarded at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    republished_from = models.ForeignKey(
        "self",
        verbose_name=_("republished from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="republications",
    )
    illustrative = models.BooleanField(_("demo data"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ("-published_at", "-id")
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        indexes = (
            # The scheduler's scans: open registrations by deadline, publicity by its end.
            models.Index(
                fields=["registration_deadline"],
                condition=Q(status="published"),
                name="announcement_to_close_idx",
            ),
            models.Index(
                fields=["publicity_ends_at"],
                condition=Q(status="publicity"),
                name="announcement_publicity_idx",
            ),
        )

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def get_audit_organisation(self):
        return self.project.owner.organisation

    @property
    def is_public(self) -> bool:
        """Published once (a draft cancelled before publication never was)."""
        return self.status != AnnouncementStatus.DRAFT and self.published_at is not None

    # --- state machine (DESIGN §5). Called only from procurement.services inside
    # transaction.atomic(); one audit event per transition (marketplace.audit).

    @transition(
        field=status,
        source=AnnouncementStatus.DRAFT,
        target=AnnouncementStatus.PUBLISHED,
        permission=_owner_or_system("publish"),
    )
    def publish(self, *, by=None, reason: str = "", data=None) -> None:
        """发布: registration opens; the commitment is published."""

    @transition(field=status, source=AnnouncementStatus.PUBLISHED, target=AnnouncementStatus.CLOSED)
    def close_registration(self, *, by=None, reason: str = "", data=None) -> None:
        """报名截止 (the scheduler at the deadline): the pool is frozen."""

    @transition(
        field=status,
        source=[AnnouncementStatus.CLOSED, AnnouncementStatus.PUBLISHED],
        target=AnnouncementStatus.SELECTING,
    )
    def start_selection(self, *, by=None, reason: str = "", data=None) -> None:
        """选取中."""

    @transition(
        field=status, source=AnnouncementStatus.SELECTING, target=AnnouncementStatus.SELECTED
    )
    def select(self, *, by=None, reason: str = "", data=None) -> None:
        """已选取: waiting for the selected agencies to confirm."""

    @transition(
        field=status,
        source=[AnnouncementStatus.SELECTED, AnnouncementStatus.SUSPENDED],
        target=AnnouncementStatus.PUBLICITY,
    )
    def start_publicity(self, *, by=None, reason: str = "", data=None) -> None:
        """公示: the result is public and open to objections for N working days."""

    @transition(
        field=status, source=AnnouncementStatus.PUBLICITY, target=AnnouncementStatus.SUSPENDED
    )
    def suspend(self, *, by=None, reason: str = "", data=None) -> None:
        """暂停: an objection is under review."""
        self.status_reason = reason or ""

    @transition(
        field=status, source=AnnouncementStatus.SUSPENDED, target=AnnouncementStatus.SELECTED
    )
    def reselect(self, *, by=None, reason: str = "", data=None) -> None:
        """重新选取: an upheld objection excluded the offending party; the next in the draw's
        rank order is asked to confirm, and a new publicity follows."""
        self.status_reason = reason or ""

    @transition(
        field=status, source=AnnouncementStatus.PUBLICITY, target=AnnouncementStatus.AWARDED
    )
    def award(self, *, by=None, reason: str = "", data=None) -> None:
        """成交: the publicity ended without a pending objection."""

    @transition(
        field=status,
        source=[
            AnnouncementStatus.CLOSED,
            AnnouncementStatus.SELECTING,
            AnnouncementStatus.SELECTED,
            AnnouncementStatus.SUSPENDED,
        ],
        target=AnnouncementStatus.FAILED,
    )
    def fail(self, *, by=None, reason: str = "", data=None) -> None:
        """流标: too few eligible registrants, every selected agency declined, or an objection
        upheld. The owner may republish."""
        self.status_reason = reason or ""

    @transition(
        field=status,
        source=[AnnouncementStatus.DRAFT, AnnouncementStatus.PUBLISHED],
        target=AnnouncementStatus.CANCELLED,
        permission=_owner_or_system("cancel"),
    )
    def cancel(self, *, by=None, reason: str = "", data=None) -> None:
        """撤销, with a reason (a published one is withdrawn publicly)."""
        self.status_reason = reason or ""


class RegistrationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("registered")  # 已报名
    ELIGIBLE = "eligible", _("eligible, in the pool")  # 入围
    INELIGIBLE = "ineligible", _("ineligible")  # 不符合条件
    SELECTED = "selected", _("selected, to confirm")  # 中选（待确认）
    CONFIRMED = "confirmed", _("selected and confirmed")  # 已确认
    ALTERNATE = "alternate", _("alternate")  # 候补
    NOT_SELECTED = "not_selected", _("not selected")  # 未中选
    DECLINED = "declined", _("declined")  # 放弃


class Registration(ConcurrentTransitionMixin, models.Model):
    """报名: an agency's application to be in an announcement's pool."""

    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("announcement"),
        on_delete=models.PROTECT,
        related_name="registrations",
    )
    agency = models.ForeignKey(
        "agencies.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="registrations",
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = FSMField(
        _("status"),
        max_length=14,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.SUBMITTED,
        protected=True,
    )
    # The eligibility check at the last evaluation: [{"code", "met", "explanation"}].
    eligibility = models.JSONField(_("eligibility check"), default=list, blank=True)
    rank = models.CharField(_("draw rank"), max_length=64, blank=True)
    position = models.PositiveIntegerField(_("position in the draw"), null=True, blank=True)
    confirm_by = models.DateTimeField(_("confirm by"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    status_reason = models.TextField(_("reason of the current status"), blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        ordering = ("announcement", "position", "id")
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = (
            models.UniqueConstraint(
                fields=["announcement", "agency"],
                name="registration_once_per_agency",
                violation_error_message=_("This agency has already registered."),
            ),
        )
        indexes = (
            models.Index(
                fields=["confirm_by"],
                condition=Q(status="selected"),
                name="registration_to_confirm_idx",
            ),
        )

    def __str__(self) -> str:
        return f"{self.announcement.code} · {self.agency}"

    def get_audit_organisation(self):
        return self.agency.organisation

    @property
    def reasons(self) -> list[str]:
        return [c["explanation"] for c in self.eligibility if not c.get("met")]

    @transition(
        field=status, source=RegistrationStatus.SUBMITTED, target=RegistrationStatus.ELIGIBLE
    )
    def admit(self, *, by=None, reason: str = "", data=None) -> None:
        """入围: eligible when the pool was frozen."""

    @transition(
        field=status,
        source=RegistrationStatus.SUBMITTED,
        target=RegistrationStatus.INELIGIBLE,
    )
    def refuse(self, *, by=None, reason: str = "", data=None) -> None:
        """不符合条件 at the freeze (e.g. suspended after registering); the reason is kept."""
        self.status_reason = reason or ""

    @transition(
        field=status,
        source=[
            RegistrationStatus.ELIGIBLE,
            RegistrationStatus.ALTERNATE,
            RegistrationStatus.NOT_SELECTED,
        ],
        target=RegistrationStatus.SELECTED,
    )
    def select(self, *, by=None, reason: str = "", data=None) -> None:
        """中选 by rank, or promoted from alternate (候补递补), or — when an upheld objection
        excluded a selected agency and the alternates ran out — the next in rank order
        (procurement.services.objection_decide)."""

    @transition(
        field=status,
        source=[
            RegistrationStatus.SELECTED,
            RegistrationStatus.CONFIRMED,
            RegistrationStatus.ALTERNATE,
            RegistrationStatus.NOT_SELECTED,
        ],
        target=RegistrationStatus.INELIGIBLE,
    )
    def disqualify(self, *, by=None, reason: str = "", data=None) -> None:
        """不符合条件 after the draw: excluded by a regulator upholding an objection, or no
        longer eligible when its turn to be promoted came; the reason is kept."""
        self.status_reason = reason or ""

    @transition(
        field=status, source=RegistrationStatus.ELIGIBLE, target=RegistrationStatus.ALTERNATE
    )
    def make_alternate(self, *, by=None, reason: str = "", data=None) -> None:
        """候补."""

    @transition(
        field=status,
        source=RegistrationStatus.ELIGIBLE,
        target=RegistrationStatus.NOT_SELECTED,
    )
    def not_select(self, *, by=None, reason: str = "", data=None) -> None:
        """未中选."""

    @transition(
        field=status, source=RegistrationStatus.SELECTED, target=RegistrationStatus.CONFIRMED
    )
    def confirm(self, *, by=None, reason: str = "", data=None) -> None:
        """确认: the selected agency accepts."""

    @transition(
        field=status,
        source=[RegistrationStatus.SELECTED, RegistrationStatus.ALTERNATE],
        target=RegistrationStatus.DECLINED,
    )
    def decline(self, *, by=None, reason: str = "", data=None) -> None:
        """放弃: declined by the agency, or silence past the confirmation time (the
        scheduler)."""
        self.status_reason = reason or ""


class Exclusion(models.Model):
    """回避: an agency the owner declares excluded from one announcement, with the reason.
    The automatic exclusions are computed (procurement.eligibility), not stored."""

    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("announcement"),
        on_delete=models.CASCADE,
        related_name="exclusions",
    )
    agency = models.ForeignKey(
        "agencies.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("declared by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("declared at"), auto_now_add=True)

    class Meta:
        ordering = ("announcement", "id")
        verbose_name = _("declared exclusion")
        verbose_name_plural = _("declared exclusions")
        constraints = (
            models.UniqueConstraint(
                fields=["announcement", "agency"],
                name="exclusion_once_per_agency",
                violation_error_message=_("This agency is already excluded."),
            ),
        )

    def __str__(self) -> str:
        return f"{self.agency}: {self.reason}"


class Draw(models.Model):
    """The published record of a random draw (draw.Draw.as_record()). One per announcement:
    the unique announcement is the last guard against a second draw."""

    announcement = models.OneToOneField(
        Announcement, verbose_name=_("announcement"), on_delete=models.PROTECT, related_name="draw"
    )
    record = models.JSONField(_("draw record"))
    pool_size = models.PositiveIntegerField(_("pool size"))
    created_at = models.DateTimeField(_("drawn at"), auto_now_add=True)

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")

    def __str__(self) -> str:
        return f"{self.announcement.code} ({self.pool_size})"


class ObjectionStatus(models.TextChoices):
    SUBMITTED = "submitted", _("under review")  # 审查中
    UPHELD = "upheld", _("upheld")  # 成立
    DISMISSED = "dismissed", _("dismissed")  # 不成立


class Objection(ConcurrentTransitionMixin, models.Model):
    """异议: a registrant contests a result during publicity; the award waits for a regulator's
    decision. (Complaints proper, with their fuller flow, are the ratings app's.)"""

    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("announcement"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    registration = models.ForeignKey(
        Registration,
        verbose_name=_("objector's registration"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    reason = models.TextField(_("grounds"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = FSMField(
        _("status"),
        max_length=10,
        choices=ObjectionStatus.choices,
        default=ObjectionStatus.SUBMITTED,
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
    decision = models.TextField(_("decision"), blank=True)
    created_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("objection")
        verbose_name_plural = _("objections")

    def __str__(self) -> str:
        return f"{self.announcement.code} · {self.registration.agency}"

    def get_audit_organisation(self):
        return self.registration.agency.organisation

    @transition(field=status, source=ObjectionStatus.SUBMITTED, target=ObjectionStatus.UPHELD)
    def uphold(self, *, by=None, reason: str = "", data=None) -> None:
        self.decision = reason or ""

    @transition(field=status, source=ObjectionStatus.SUBMITTED, target=ObjectionStatus.DISMISSED)
    def dismiss(self, *, by=None, reason: str = "", data=None) -> None:
        self.decision = reason or ""


__all__ = [
    "PUBLIC_STATUSES",
    "Announcement",
    "AnnouncementStatus",
    "Draw",
    "Exclusion",
    "Objection",
    "ObjectionStatus",
    "Owner",
    "Project",
    "RegionScope",
    "Registration",
    "RegistrationStatus",
    "SelectionMethod",
]
