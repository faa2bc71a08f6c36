from .audit import AppendOnlyError, AuditEvent
from .industries import Industry, QualificationType
from .organisations import (
    MANAGING_ROLES,
    ROLES_BY_KIND,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
)
from .outbox import Notification, OutboxMessage, OutboxStatus
from .payments import Payment, PaymentPurpose
from .regions import Region, RegionLevel
from .scheduling import JobState
from .stored import StoredUpload
from .users import User

__all__ = [
    "MANAGING_ROLES",
    "ROLES_BY_KIND",
    "AppendOnlyError",
    "AuditEvent",
    "Industry",
    "JobState",
    "Membership",
    "Notification",
    "Organisation",
    "OrganisationKind",
    "OutboxMessage",
    "OutboxStatus",
    "Payment",
    "PaymentPurpose",
    "QualificationType",
    "Region",
    "RegionLevel",
    "Role",
    "StoredUpload",
    "User",
]
