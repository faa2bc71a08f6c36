from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.validators import validate_uscc


class OrganisationKind(models.TextChoices):
    AGENCY = "agency", _("intermediary agency")  # 中介机构
    OWNER = "owner", _("project owner")  # 项目业主
    REGULATOR = "regulator", _("regulator")  # 监管部门
    PLATFORM = "platform", _("platform operator")  # 平台运营方


class Role(models.TextChoices):
    ADMIN = "admin", _("administrator")
    STAFF = "staff", _("staff member")
    REVIEWER = "reviewer", _("reviewer")  # 审核人员
    SUPERVISOR = "supervisor", _("supervisor")  # 监管负责人
    PLATFORM_ADMIN = "platform_admin", _("platform administrator")


# Which roles make sense in which kind of organisation; membership_add enforces it.
ROLES_BY_KIND: dict[str, tuple[str, ...]] = {
    OrganisationKind.AGENCY: (Role.ADMIN, Role.STAFF),
    OrganisationKind.OWNER: (Role.ADMIN, Role.STAFF),
    OrganisationKind.REGULATOR: (Role.REVIEWER, Role.SUPERVISOR),
    OrganisationKind.PLATFORM: (Role.PLATFORM_ADMIN,),
}
# Roles that may manage their organisation (its profile and its members).
MANAGING_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.PLATFORM_ADMIN})


class Organisation(models.Model):
    """A legal entity using the platform: an agency (中介机构), a project owner unit (项目业主),
    a regulator (监管部门) or the platform operator. Users act through memberships."""

    kind = models.CharField(_("kind"), max_length=12, choices=OrganisationKind.choices)
    name = models.CharField(_("name"), max_length=200)
    uscc = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        default="",
        validators=[validate_uscc],
        help_text=_("18 characters (统一社会信用代码)"),
    )
    region = models.ForeignKey(
        "marketplace.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organisations",
    )
    # A regulator's jurisdiction: the scope region's whole subtree, in the listed industries.
    scope_region = models.ForeignKey(
        "marketplace.Region",
        verbose_name=_("scope region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    scope_industries = models.ManyToManyField(
        "marketplace.Industry", verbose_name=_("scope industries"), blank=True, related_name="+"
    )
    # Explicit, so that an industry added later is covered without editing every regulator;
    # an empty industry set without this flag covers nothing (deny by default).
    scope_all_industries = models.BooleanField(_("covers all industries"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="marketplace.Membership",
        through_fields=("organisation", "user"),
        related_name="organisations",
        verbose_name=_("members"),
    )

    class Meta:
        ordering = ("kind", "name")
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        # Directories list organisations by name: walked in order instead of sorting them all
        # (bench/agencies.py, 100k agencies: a deep directory page 136 ms -> 5 ms).
        indexes = (models.Index(fields=["name", "id"], name="organisation_name_idx"),)
        constraints = (
            models.UniqueConstraint(
                fields=["uscc"],
                condition=~Q(uscc=""),
                name="organisation_uscc_unique_when_present",
                violation_error_message=_(
                    "An organisation with this unified social credit code already exists."
                ),
            ),
        )

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.uscc = (self.uscc or "").strip().upper()
        if self.kind == OrganisationKind.REGULATOR:
            if self.scope_region_id is None:
                raise ValidationError(
                    {"scope_region": _("A regulator needs the region it supervises.")}
                )
        elif self.scope_region_id is not None or self.scope_all_industries:
            raise ValidationError(_("Only a regulator has a supervision scope."))

    def get_audit_organisation(self):
        return self


class Membership(models.Model):
    """A user's role in an organisation. Platform administrators are members of the platform
    organisation with the platform_admin role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ("organisation", "user")
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = (
            models.UniqueConstraint(
                fields=["user", "organisation"], name="membership_user_organisation_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.get_role_display()})"

    def clean(self):
        if self.organisation_id and self.role not in ROLES_BY_KIND.get(self.organisation.kind, ()):
            raise ValidationError(
                {"role": _("This role does not exist in this kind of organisation.")}
            )

    def get_audit_organisation(self):
        return self.organisation
