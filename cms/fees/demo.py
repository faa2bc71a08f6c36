"""Demo fee rules: ``load_fee_rules()`` is idempotent (update_or_create by code) and returns
``{code: FeeRule}``. The data lives in ``demo_rules.py`` (Django-free). The catalog references
these codes; do not rename them: zbdl-1980 (real), eia-interp, cost-consult-pct,
survey-fixed, safety-assess-interp, water-sb-cumulative, energy-fixed, lightning-pct,
land-appraisal-cumulative (illustrative)."""

from __future__ import annotations

import copy

from django.db import transaction

from .demo_rules import CODES, RULES
from .models import FeeRule

__all__ = ["CODES", "RULES", "load_fee_rules"]


@transaction.atomic
def load_fee_rules() -> dict[str, FeeRule]:
    """Create or update the demo fee rules; idempotent. Returns ``{code: FeeRule}``."""
    out: dict[str, FeeRule] = {}
    for spec in RULES:
        defaults = {k: copy.deepcopy(v) for k, v in spec.items() if k != "code"}
        rule, _ = FeeRule.objects.update_or_create(code=spec["code"], defaults=defaults)
        out[rule.code] = rule
    return out
