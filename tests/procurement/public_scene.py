"""A procurement scene for the public pages' tests (test_public, test_timeline,
test_verifier_cli), built once per test module through the services:

``done``       ZJCS-… 环境影响评价 of the world's project (五华区): an exclusion declared by the
               owner (``excluded``, with its reason), five registrants of whom one was suspended
               before closing (``ineligible``: refused at the freeze, with the reason), a draw
               on the four others, the selected agency confirmed, an objection by the first
               alternate dismissed by a regulator: in publicity again;
``open``       a published announcement of the "free" item for a project in 麒麟区 with an
               investment project code: registration open, nobody registered;
``draft``      a draft (never public), ``cancelled_draft`` a draft cancelled before publication
               (never public either).

Use them in a test module by naming them there: ``scene = public_scene.scene`` (it stands on
the root conftest's ``module_db``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agencies.services import agency_suspend
from marketplace import outbox
from procurement import services
from procurement.models import RegistrationStatus
from tests.agencies.factories import make_regulator_user, region
from tests.procurement.factories import (
    close_and_draw,
    draft,
    make_announcement,
    make_eligible_agency,
    make_world,
    register_all,
)

DONE_TITLE = "五华区老旧小区改造项目环境影响评价"
OPEN_TITLE = "麒麟区污水处理厂建设项目中介服务"
DRAFT_TITLE = "尚未发布的草稿公告"
CANCELLED_DRAFT_TITLE = "发布前撤销的草稿公告"
PROJECT_CODE = "2026-530302-48-01-000123"
EXCLUSION_REASON = "该机构与业主存在股权关系，依法回避"
OBJECTION_REASON = "中选机构的资质证书在报名时已被暂停，请予复核。"
DISMISSAL = "经核查，中选机构资质有效，异议不成立。"
SUSPENSION = "信用评价不合格，暂停执业"


def deliver() -> None:
    """What the worker does after commit: every pending outbox message (index syncs too)."""
    while outbox.sweep():
        pass


def build_scene() -> SimpleNamespace:
    world = make_world(agencies=5)
    owner_user = world.owner.admin_user
    excluded = make_eligible_agency(world.item)
    done = make_announcement(world, title=DONE_TITLE)
    services.exclusion_add(
        actor=owner_user, announcement=done, agency=excluded, reason=EXCLUSION_REASON
    )
    registrations = register_all(done, world.agencies)
    ineligible = world.agencies[4]
    agency_suspend(actor=None, agency=ineligible, reason=SUSPENSION)
    assert close_and_draw(done) == "selected"
    by_status = {}
    for registration in done.registrations.select_related("agency"):
        by_status.setdefault(registration.status, []).append(registration)
    selected = by_status[RegistrationStatus.SELECTED][0]
    alternate = min(by_status[RegistrationStatus.ALTERNATE], key=lambda r: r.position)
    admins = {a.pk: a.admin_user for a in world.agencies}  # set by the factory, not stored
    services.registration_confirm(actor=admins[selected.agency_id], registration=selected)
    objection = services.objection_file(
        actor=admins[alternate.agency_id],
        announcement=done,
        registration=alternate,
        reason=OBJECTION_REASON,
    )
    regulator = make_regulator_user(region=region("530100"), all_industries=True)
    services.objection_decide(actor=regulator, objection=objection, upheld=False, reason=DISMISSAL)
    done.refresh_from_db()

    project = services.project_create(
        actor=owner_user,
        owner=world.owner,
        name="麒麟区污水处理厂建设项目",
        code=PROJECT_CODE,
        region=region("530302"),
        total_investment="12000000",
    )
    open_ = make_announcement(
        world, title=OPEN_TITLE, project=project, service_item=world.items["free"]
    )
    draft_ = draft(world, title=DRAFT_TITLE)
    cancelled = draft(world, title=CANCELLED_DRAFT_TITLE)
    services.announcement_cancel(actor=owner_user, announcement=cancelled, reason="重复录入")
    deliver()
    return SimpleNamespace(
        world=world,
        done=done,
        open=open_,
        draft=draft_,
        cancelled_draft=cancelled,
        excluded=excluded,
        ineligible=ineligible,
        selected=selected,
        alternate=alternate,
        objection=objection,
        registrations=registrations,
        regulator=regulator,
    )


@pytest.fixture(scope="module")
def scene(module_db):
    return build_scene()
