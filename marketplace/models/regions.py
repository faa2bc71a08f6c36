from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("province-level")
    PREFECTURE = "prefecture", _("prefecture-level")
    COUNTY = "county", _("county-level")


class Region(models.Model):
    """An administrative division (行政区划) with its GB/T 2260 six-digit code.

    The ancestry is denormalised into ``province_code`` and ``prefecture_code`` so that "this
    region and everything under it" is one indexed equality, not a recursive query. Counties
    directly under a province (municipality districts, 省直辖县级行政区) have no prefecture."""

    code = models.CharField(_("code"), max_length=6, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=12, choices=RegionLevel.choices)
    # The source's own type label (地级市, 自治州, 市辖区 …), kept for display.
    kind = models.CharField(_("type"), max_length=16, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    province_code = models.CharField(_("province code"), max_length=6, db_index=True)
    prefecture_code = models.CharField(
        _("prefecture code"), max_length=6, blank=True, db_index=True
    )

    class Meta:
        ordering = ("code",)
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name

    def descendant_q(self, *, include_self: bool = True, prefix: str = "") -> Q:
        """A Q matching this region's subtree. ``prefix`` targets a relation, e.g.
        ``Project.objects.filter(region.descendant_q(prefix="region__"))``."""
        if self.level == RegionLevel.PROVINCE:
            q = Q(**{f"{prefix}province_code": self.code})
        elif self.level == RegionLevel.PREFECTURE:
            q = Q(**{f"{prefix}prefecture_code": self.code})
        else:
            q = Q(**{f"{prefix}code": self.code})
        if not include_self:
            q &= ~Q(**{f"{prefix}code": self.code})
        return q

    def code_prefix_q(self, field: str) -> Q:
        """A Q matching rows whose region ``field`` lies in this region's subtree, by code
        prefix: GB/T 2260 codes are hierarchical (2 digits province, 2 prefecture, 2 county).
        With ``field`` naming the foreign key's target (e.g. "organisation__region__code")
        Django reads the foreign key column and joins no region table, so the database can
        start from the filtered table's own index (the review queue's COUNT at 100k agencies:
        132 ms -> 25 ms)."""
        if self.level == RegionLevel.PROVINCE:
            return Q(**{f"{field}__startswith": self.code[:2]})
        if self.level == RegionLevel.PREFECTURE:
            return Q(**{f"{field}__startswith": self.code[:4]})
        return Q(**{field: self.code})

    def contains(self, other: "Region") -> bool:
        """Whether ``other`` is this region or lies under it (no query)."""
        return other.code == self.code or self.code in (other.province_code, other.prefecture_code)

    @property
    def full_name(self) -> str:
        """Name with its ancestors, e.g. 云南省昆明市五华区 (uses parent, may query)."""
        names = []
        node = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))
