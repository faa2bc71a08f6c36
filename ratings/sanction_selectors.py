"""Reads of sanctions for pages outside the ratings app (the agency's public profile)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from ratings.enforcement import BARRING_SEVERITIES
from ratings.models import BARRING_STATES, Sanction, SanctionStatus
from ratings.reasons import reason

# Published (on the blacklist and the profile): every sanction once it has taken effect; a
# proposal or a withdrawn proposal is not a decision.
UNPUBLISHED = (SanctionStatus.PROPOSED, SanctionStatus.WITHDRAWN)
PROFILE_LIMIT = 10


def published_sanctions(agency_id: int, *, today: datetime.date | None = None) -> list[Sanction]:
    """The agency's published sanctions, newest first (at most PROFILE_LIMIT), in one query.
    Each carries ``in_force`` (bars or warns today), ``bars`` (barring today) and
    ``reason_label``."""
    today = today or timezone.localdate()
    rows = list(
        Sanction.objects.filter(agency_id=agency_id)
        .exclude(status__in=UNPUBLISHED)
        .select_related("appeal_record")
        .order_by("-starts_on", "-pk")[:PROFILE_LIMIT]
    )
    for s in rows:
        s.in_force = s.status in BARRING_STATES and s.starts_on <= today <= s.ends_on
        s.bars = s.in_force and s.severity in BARRING_SEVERITIES
        found = reason(s.reason_code)
        s.reason_label = found.display() if found else s.reason_code
    return rows
