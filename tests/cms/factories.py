"""Small page factories for the cms tests (wagtail_factories is not installed)."""

from __future__ import annotations

import itertools

from cms.models import (
    ApprovalMatter,
    IndustryPage,
    LegalBasis,
    NoticePage,
    PolicyPage,
    QualificationRequirement,
    ServiceItemPage,
)

_seq = itertools.count(1)


def qualification_type(code: str):
    """A reference qualification type (marketplace.reference) by code, created if missing."""
    from marketplace.models import QualificationType
    from marketplace.reference import ensure_qualification_types

    return QualificationType.objects.filter(code=code).first() or ensure_qualification_types()[code]


def publish_child(parent, page):
    """Adds ``page`` under ``parent`` and publishes it through a revision, like an editor."""
    page.live = False
    parent.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def make_industry_page(catalog, industry, **fields):
    fields.setdefault("title", industry.name)
    fields.setdefault("slug", industry.code)
    return publish_child(catalog, IndustryPage(industry=industry, **fields))


def make_item(
    industry_page, *, code=None, fee_rule=None, fee_category="", requirements=None, **fields
):
    """A published item. ``requirements`` is a list of unsaved QualificationRequirement
    (default: 环境影响评价单位, any level); pass [] for an item without requirements."""
    n = next(_seq)
    code = code or f"T-{n:05d}"
    fields.setdefault("title", f"测试中介服务事项{n}")
    fields.setdefault("slug", code.lower())
    fields.setdefault("responsible_department", "生态环境部门")
    fields.setdefault("time_limit_days", 10)
    fields.setdefault("fee_basis", "")
    item = ServiceItemPage(code=code, fee_rule=fee_rule, fee_category=fee_category, **fields)
    item.approval_matters = [
        ApprovalMatter(name="建设项目环境影响评价文件审批", department="生态环境部门")
    ]
    item.legal_bases = [
        LegalBasis(law_name="《中华人民共和国环境影响评价法》", article="第十六条"),
        LegalBasis(law_name="《中华人民共和国环境影响评价法》", article="第十九条"),
    ]
    if requirements is None:
        requirements = [
            QualificationRequirement(
                qualification=qualification_type("eia-unit"), minimum_level="", note="信用平台登记"
            ),
        ]
    item.qualification_requirements = requirements
    return publish_child(industry_page, item)


def make_notice(notice_index, **fields):
    import datetime

    n = next(_seq)
    fields.setdefault("title", f"测试通知{n}")
    fields.setdefault("slug", f"notice-{n}")
    fields.setdefault("date", datetime.date(2025, 1, 1))
    fields.setdefault("body", "<p>通知正文</p>")
    return publish_child(notice_index, NoticePage(**fields))


def make_policy(policy_index, **fields):
    import datetime

    n = next(_seq)
    fields.setdefault("title", f"测试政策{n}")
    fields.setdefault("slug", f"policy-{n}")
    fields.setdefault("issuing_authority", "国务院办公厅")
    fields.setdefault("issued_date", datetime.date(2015, 4, 27))
    fields.setdefault("body", "<p>政策正文</p>")
    return publish_child(policy_index, PolicyPage(**fields))
