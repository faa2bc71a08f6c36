"""Validators of procurement data."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# 投资项目统一代码 (全国投资项目在线审批监管平台): year (4) - region code (6) - industry code (2)
# - project type (2: 01 审批, 02 核准, 03 备案) - serial number (6).
PROJECT_CODE_RE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(0[123])-(\d{6})$")
PROJECT_CODE_FIRST_YEAR = 2014  # the platform's codes start with its launch


def normalise_project_code(value: str) -> str:
    # Full-width digits and dashes typed by an IME are common; blanks are never part of a code.
    table = {ord("－"): "-", ord("—"): "-", ord("–"): "-"}
    table.update({0xFF10 + i: str(i) for i in range(10)})
    return (value or "").translate(table).replace(" ", "").strip()


def validate_project_code(value: str) -> None:
    """The format of a 投资项目统一代码, e.g. 2026-530102-48-01-000123. The region part must be
    a real region code; that is checked by the service, which has the regions at hand."""
    if not value:
        return
    match = PROJECT_CODE_RE.match(value)
    if match is None:
        raise ValidationError(
            _(
                "An investment project code has the form YYYY-RRRRRR-II-TT-NNNNNN (year, region "
                "code, industry code, project type 01/02/03, serial), e.g. "
                "2026-530102-48-01-000123."
            ),
            code="project_code_format",
        )
    year = int(match.group(1))
    if not PROJECT_CODE_FIRST_YEAR <= year <= timezone.localdate().year:
        raise ValidationError(
            _("The year of an investment project code must be between %(first)s and %(last)s.")
            % {"first": PROJECT_CODE_FIRST_YEAR, "last": timezone.localdate().year},
            code="project_code_year",
        )
