"""Writes of complaints and reports (投诉举报), DESIGN §4–5.

    submitted → accepted | rejected → investigating → upheld | dismissed

Who files
    * a member of a project owner (kind ``owner``) or of an agency (kind ``agency``), with
      their organisation (the first one of that kind they belong to);
    * a member of the public (kind ``public``), without an account, with a name and an e-mail
      address verified by a one-time code (``contact_verification_start``). Phone numbers are
      not supported yet (no SMS gateway). Public filings are rate-limited per IP address and
      per contact (``ratings.ratelimit``), and so are the codes.

Against what
    an agency, an announcement, or an agency's conduct in an announcement. The accused (who is
    asked for a statement) is the agency, or the announcement's owner when no agency is named.

Who handles it
    the regulator in charge, chosen at filing among the active regulators covering the target
    (``complaint_rules``): the most local one (county before prefecture before province), then
    the oldest (lowest id). When no regulator covers the target, ``regulator`` stays empty and
    platform administrators handle it (their queue shows these).

Deadlines (working days, ``marketplace.workdays``; settings ``RATINGS[...]``)
    ``accept_by`` = COMPLAINT_ACCEPT_WORKING_DAYS (5) after filing: the job
    ``ratings.complaints`` tells the regulator's supervisors once when it passes;
    ``statement_by`` = STATEMENT_WORKING_DAYS (5) after acceptance: at that time the job moves
    the complaint to investigation (the regulator may do so earlier once the statement is in).

Publication
    a decided complaint (upheld or dismissed) is published (``published_at``): the target, the
    outcome, the decision and the kind of complainant only ("一名项目业主" …), never a name,
    an organisation or a contact; the subject and facts stay with the regulator (a complainant
    may have named themselves in them). Regulators write decisions for publication.

Every service authorises, validates, locks the complaint, then transitions (one audit event
per transition via the FSM receiver); notifications and e-mail go through the outbox.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

from agencies.models import Agency, EnrolmentStatus
from marketplace import audit, outbox, workdays
from marketplace.models import (
    Membership,
    Organisation,
    OrganisationKind,
    RegionLevel,
    Role,
    User,
)
from marketplace.notifications import EMAIL_TOPIC, notify
from marketplace.permissions import require_perm
from marketplace.selectors import user_organisations
from procurement.models import Announcement
from ratings import ratelimit
from ratings.complaint_rules import HANDLING_ROLES, accused_organisation_id, regulator_covers_target
from ratings.models import (
    ComplainantKind,
    Complaint,
    ComplaintStatus,
    ContactVerification,
    Evidence,
    validate_evidence,
)

logger = logging.getLogger(__name__)

DEFAULTS = {
    "COMPLAINT_ACCEPT_WORKING_DAYS": 5,
    "STATEMENT_WORKING_DAYS": 5,
    "CONTACT_CODE_MINUTES": 15,
    "CONTACT_CODE_ATTEMPTS": 5,
    "PUBLIC_COMPLAINTS_PER_HOUR": 3,
    "PUBLIC_COMPLAINTS_PER_DAY": 10,
    "CONTACT_CODES_PER_HOUR": 5,
}
MAX_FILES = 10
SUBJECT_MAX = 200
DESCRIPTION_MIN = 20
# The complainant as the public page shows them.
ANONYMOUS_LABELS = {
    ComplainantKind.OWNER: gettext_noop("a project owner"),  # 一名项目业主
    ComplainantKind.AGENCY: gettext_noop("an agency"),  # 一名中介机构
    ComplainantKind.PUBLIC: gettext_noop("a member of the public"),  # 一名公众
}
OVERDUE_ACTION = "complaint.overdue"


def config(key: str):
    """``settings.RATINGS[key]``, or the default above when the setting is absent."""
    return getattr(settings, "RATINGS", {}).get(key, DEFAULTS[key])


def anonymous_label(kind: str) -> str:
    return _(ANONYMOUS_LABELS.get(kind, gettext_noop("a complainant")))


def _error(message, field=NON_FIELD_ERRORS) -> ValidationError:
    return ValidationError({field: [message]})


def _local(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value, workdays.SHANGHAI).strftime("%Y-%m-%d %H:%M")


def complaint_url(complaint: Complaint) -> str:
    return reverse("ratings:complaint_detail", args=[complaint.code])


def tracking_token(complaint: Complaint) -> str:
    """The secret of a public complainant's tracking link: an HMAC of the number and the
    verified contact under the site's secret key, so only whoever received the filing page or
    the e-mails can follow the complaint without an account."""
    value = f"{complaint.pk}:{complaint.code}:{complaint.public_contact}"
    return salted_hmac("ratings.complaint.track", value, algorithm="sha256").hexdigest()[:32]


def tracking_url(complaint: Complaint, *, absolute: bool = False) -> str:
    path = reverse("ratings:complaint_track", args=[complaint.code, tracking_token(complaint)])
    if absolute:
        # E-mails leave the site: the public origin is the one Wagtail's own e-mails use.
        return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path
    return path


# --- one-time codes for the public ------------------------------------------------------------


def normalise_contact(contact: str) -> str:
    """An e-mail address, trimmed and lower-cased; a phone number or anything else is refused
    with a message saying what is accepted."""
    value = (contact or "").strip()
    if not value:
        raise _error(_("Enter your e-mail address."), "public_contact")
    digits = value.replace(" ", "").replace("-", "").lstrip("+")
    if digits.isdigit():
        raise _error(
            _(
                "Verification by phone is not supported yet; please enter an e-mail address "
                "to receive the code."
            ),
            "public_contact",
        )
    try:
        validate_email(value)
    except ValidationError:
        raise _error(
            _("Enter a valid e-mail address, e.g. name@example.com."), "public_contact"
        ) from None
    return value.lower()


def _code_hash(contact: str, code: str) -> str:
    """HMAC-SHA-256 of the code with the contact, keyed by SECRET_KEY: the database never holds
    the code, and a leaked table cannot be brute-forced offline without the key."""
    message = f"{contact}\x00{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _rate_limited_error(exc: ratelimit.RateLimited, what: str) -> ValidationError:
    return _error(
        _("%(what)s Please try again after %(time)s.")
        % {"what": what, "time": _local(exc.retry_at)}
    )


def contact_verification_start(*, contact: str, ip_address: str | None) -> ContactVerification:
    """Sends a 6-digit code to ``contact`` (an e-mail address) through the outbox, after
    commit. The code is valid for CONTACT_CODE_MINUTES (15) and CONTACT_CODE_ATTEMPTS (5)
    tries; only its hash is stored. At most CONTACT_CODES_PER_HOUR (5) codes per hour per IP
    address and per contact. A new code replaces the earlier ones of that contact."""
    contact = normalise_contact(contact)
    per_hour = ratelimit.Limit(config("CONTACT_CODES_PER_HOUR"), 3600)
    try:
        ratelimit.check("contact-code", f"contact:{contact}", [per_hour])
        ratelimit.hit("contact-code", f"ip:{ip_address or '-'}", [per_hour])
        ratelimit.hit("contact-code", f"contact:{contact}", [per_hour])
    except ratelimit.RateLimited as exc:
        raise _rate_limited_error(exc, _("Too many codes were requested.")) from None
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = config("CONTACT_CODE_MINUTES")
    now = timezone.now()
    with transaction.atomic():
        # Earlier unused codes of this contact stop working: only the latest one counts.
        ContactVerification.objects.filter(contact=contact, verified_at__isnull=True).update(
            expires_at=now
        )
        verification = ContactVerification.objects.create(
            contact=contact,
            code_hash=_code_hash(contact, code),
            expires_at=now + datetime.timedelta(minutes=minutes),
            ip_address=ip_address or None,
        )
        outbox.enqueue(
            EMAIL_TOPIC,
            {
                "subject": str(_("Your verification code: %(code)s") % {"code": code}),
                "body": str(
                    _(
                        "Your verification code for filing a complaint is %(code)s. It is "
                        "valid for %(minutes)s minutes. If you did not ask for it, ignore "
                        "this e-mail."
                    )
                    % {"code": code, "minutes": minutes}
                ),
                "to": [contact],
            },
        )
    return verification


def _check_code(contact: str, code: str, *, now) -> ContactVerification:
    """The latest code of ``contact`` if ``code`` matches it. A wrong code counts an attempt,
    committed even though the filing then fails (a rolled-back count would make the attempt
    limit useless): the count is written in its own savepoint, the error raised after it."""
    code = (code or "").strip()
    if not code:
        raise _error(_("Enter the verification code sent to your e-mail."), "verification_code")
    problem = None
    with transaction.atomic():
        verification = (
            ContactVerification.objects.select_for_update()
            .filter(contact=contact, verified_at__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        if verification is None:
            problem = _("Request a verification code first.")
        elif verification.expires_at <= now:
            problem = _("The verification code has expired; request a new one.")
        elif verification.attempts >= config("CONTACT_CODE_ATTEMPTS"):
            problem = _("Too many wrong codes were entered; request a new one.")
        elif not hmac.compare_digest(verification.code_hash, _code_hash(contact, code)):
            verification.attempts += 1
            verification.save(update_fields=["attempts"])
            left = config("CONTACT_CODE_ATTEMPTS") - verification.attempts
            problem = (
                _("The verification code is wrong; %(left)s attempts left.") % {"left": left}
                if left > 0
                else _(
                    "The verification code is wrong. Too many wrong codes were entered; request a new one."
                )
            )
    if problem:
        raise _error(problem, "verification_code")
    return verification


# --- filing ----------------------------------------------------------------------------------


def _clean_files(files) -> list:
    """Every file checked by content and size before anything is saved."""
    files = [f for f in (files or ()) if f]
    if len(files) > MAX_FILES:
        raise _error(
            _("At most %(count)s evidence files can be attached.") % {"count": MAX_FILES},
            "files",
        )
    errors = []
    for upload in files:
        try:
            validate_evidence(upload)
        except ValidationError as exc:
            name = getattr(upload, "name", "") or _("file")
            errors.extend(f"{name}: {message}" for message in exc.messages)
    if errors:
        raise ValidationError({"files": errors})
    return files


def _save_evidence(complaint: Complaint, files, *, by_accused: bool) -> list[Evidence]:
    rows = []
    for upload in files:
        rows.append(
            Evidence.objects.create(
                complaint=complaint,
                by_accused=by_accused,
                file=upload,
                **Evidence.facts_of(upload, "evidence"),
            )
        )
    return rows


_DEPTH = {RegionLevel.PROVINCE: 0, RegionLevel.PREFECTURE: 1, RegionLevel.COUNTY: 2}


def _region_depth(org: Organisation) -> int:
    region = org.scope_region
    return -1 if region is None else _DEPTH.get(region.level, -1)


def regulator_in_charge(*, agency=None, announcement=None) -> Organisation | None:
    """The most local active regulator covering the target (county, then prefecture, then
    province), the lowest id among equals; None when none covers it."""
    regulators = (
        Organisation.objects.filter(kind=OrganisationKind.REGULATOR, is_active=True)
        .select_related("scope_region")
        .prefetch_related("scope_industries")
        .order_by("pk")
    )
    covering = [
        org
        for org in regulators
        if regulator_covers_target(org, agency=agency, announcement=announcement)
    ]
    if not covering:
        return None
    return min(covering, key=lambda org: (-_region_depth(org), org.pk))


def _complainant_organisation(actor, kind: str):
    org_kind = {
        ComplainantKind.OWNER: OrganisationKind.OWNER,
        ComplainantKind.AGENCY: OrganisationKind.AGENCY,
    }[kind]
    orgs = sorted(user_organisations(actor, kind=org_kind), key=lambda o: o.pk)
    if not orgs:
        raise PermissionDenied(f"not a member of an organisation of kind {org_kind}")
    return orgs[0]


def complaint_file(
    *,
    actor=None,
    complainant_kind: str,
    agency: Agency | None = None,
    announcement: Announcement | None = None,
    subject: str,
    description: str,
    files=(),
    public_name: str = "",
    public_contact: str = "",
    verification_code: str = "",
    ip_address: str | None = None,
) -> Complaint:
    """投诉举报. Validates everything (the target, the text, each evidence file by content and
    size) before saving anything; a member of the public also needs the code sent to their
    e-mail and stays within the rate limits. Atomic, except that a wrong code's attempt is
    committed on its own (see ``_check_code``)."""
    now = timezone.now()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    organisation = None
    if complainant_kind in (ComplainantKind.OWNER, ComplainantKind.AGENCY):
        if not authenticated:
            raise PermissionDenied("an owner's or an agency's complaint needs an account")
        organisation = _complainant_organisation(actor, complainant_kind)
    elif complainant_kind != ComplainantKind.PUBLIC:
        raise _error(_("Choose who is complaining."), "complainant_kind")

    # The target.
    if agency is None and announcement is None:
        raise _error(_("Say which agency or announcement the complaint is about."))
    if agency is not None and agency.status in (EnrolmentStatus.DRAFT, EnrolmentStatus.WITHDRAWN):
        raise _error(_("This agency is not on the platform."), "agency")
    if announcement is not None and not announcement.is_public:
        raise _error(_("This announcement has not been published."), "announcement")
    if organisation is not None:
        if agency is not None and agency.organisation_id == organisation.pk:
            raise _error(_("An agency cannot complain about itself."), "agency")
        if (
            agency is None
            and announcement is not None
            and announcement.project.owner.organisation_id == organisation.pk
        ):
            raise _error(_("An owner cannot complain about its own announcement."), "announcement")

    # The text and the files.
    subject = (subject or "").strip()
    description = (description or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = [_("Give the complaint a short subject.")]
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = [_("The subject is at most %(n)s characters.") % {"n": SUBJECT_MAX}]
    if len(description) < DESCRIPTION_MIN:
        errors["description"] = [
            _("Describe the facts and grounds (at least %(n)s characters).")
            % {"n": DESCRIPTION_MIN}
        ]
    public_name = (public_name or "").strip()
    contact = ""
    if complainant_kind == ComplainantKind.PUBLIC:
        if not public_name:
            errors["public_name"] = [_("Enter your name.")]
        elif len(public_name) > 64:
            errors["public_name"] = [_("The name is at most 64 characters.")]
        try:
            contact = normalise_contact(public_contact)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    files = _clean_files(files)

    verification = None
    if complainant_kind == ComplainantKind.PUBLIC:
        verification = _check_code(contact, verification_code, now=now)
        limits = (
            ratelimit.Limit(config("PUBLIC_COMPLAINTS_PER_HOUR"), 3600),
            ratelimit.Limit(config("PUBLIC_COMPLAINTS_PER_DAY"), 86400),
        )
        try:
            ratelimit.check("complaint", f"contact:{contact}", limits)
            ratelimit.hit("complaint", f"ip:{ip_address or '-'}", limits)
            ratelimit.hit("complaint", f"contact:{contact}", limits)
        except ratelimit.RateLimited as exc:
            raise _rate_limited_error(exc, _("Too many complaints were filed from here.")) from None

    with transaction.atomic():
        if verification is not None:
            # Single use: marked in the filing's transaction, so a failed filing keeps it.
            updated = ContactVerification.objects.filter(
                pk=verification.pk, verified_at__isnull=True
            ).update(verified_at=now)
            if not updated:
                raise _error(_("Request a verification code first."), "verification_code")
        regulator = regulator_in_charge(agency=agency, announcement=announcement)
        complaint = Complaint.objects.create(
            code=f"tmp-{secrets.token_hex(8)}",
            complainant_kind=complainant_kind,
            complainant=actor if authenticated and organisation is not None else None,
            complainant_organisation=organisation,
            public_name=public_name if complainant_kind == ComplainantKind.PUBLIC else "",
            public_contact=contact,
            agency=agency,
            announcement=announcement,
            subject=subject,
            description=description,
            regulator=regulator,
            accept_by=workdays.deadline_at(now, config("COMPLAINT_ACCEPT_WORKING_DAYS")),
        )
        complaint.code = f"TS-{timezone.localdate().year}-{complaint.pk:06d}"
        complaint.save(update_fields=["code"])
        evidence = _save_evidence(complaint, files, by_accused=False)
        audit.record(
            actor=actor if authenticated else None,
            action="complaint.file",
            obj=complaint,
            to_state=complaint.status,
            data={
                "kind": complainant_kind,
                "agency": getattr(agency, "pk", None),
                "announcement": getattr(announcement, "code", None),
                "regulator": getattr(regulator, "pk", None),
                "evidence": [e.sha256 for e in evidence],
            },
        )
        if complainant_kind == ComplainantKind.PUBLIC:
            # Members already see it under their complaints; the public get the number and
            # the tracking link by e-mail as well as on the page.
            _notify_complainant(
                complaint,
                verb="complaint.received",
                title=_("Complaint %(code)s is filed") % {"code": complaint.code},
                body=_("The regulator will accept or reject it by %(deadline)s.")
                % {"deadline": _local(complaint.accept_by)},
            )
        _notify_handlers(
            complaint,
            verb="complaint.filed",
            title=_("New complaint %(code)s") % {"code": complaint.code},
            body=_("Accept or reject it by %(deadline)s.")
            % {"deadline": _local(complaint.accept_by)},
        )
    return complaint


# --- notifications -----------------------------------------------------------------------------


def _notify_org(org_id: int, *, verb, title, body, url, roles=None, dedupe=None) -> None:
    members = Membership.objects.filter(
        organisation_id=org_id, is_active=True, user__is_active=True
    ).select_related("user", "organisation")
    if roles:
        members = members.filter(role__in=roles)
    for membership in members:
        notify(
            recipient=membership.user,
            title=str(title),
            body=str(body),
            verb=verb,
            url=url,
            organisation=membership.organisation,
            email=True,
            dedupe_key=f"{dedupe}:{membership.user_id}" if dedupe else None,
        )


def _platform_admin_org_ids() -> list[int]:
    return list(
        Membership.objects.filter(
            role=Role.PLATFORM_ADMIN,
            organisation__kind=OrganisationKind.PLATFORM,
            is_active=True,
        )
        .values_list("organisation_id", flat=True)
        .distinct()
    )


def _notify_handlers(complaint: Complaint, *, verb, title, body, roles=HANDLING_ROLES, dedupe=None):
    url = complaint_url(complaint)
    if complaint.regulator_id is not None:
        _notify_org(
            complaint.regulator_id,
            verb=verb,
            title=title,
            body=body,
            url=url,
            roles=roles,
            dedupe=dedupe,
        )
        return
    for org_id in _platform_admin_org_ids():
        _notify_org(
            org_id,
            verb=verb,
            title=title,
            body=body,
            url=url,
            roles=(Role.PLATFORM_ADMIN,),
            dedupe=dedupe,
        )


def _notify_accused(complaint: Complaint, *, verb, title, body) -> None:
    org_id = accused_organisation_id(complaint)
    if org_id is not None:
        _notify_org(org_id, verb=verb, title=title, body=body, url=complaint_url(complaint))


def _notify_complainant(complaint: Complaint, *, verb, title, body) -> None:
    if complaint.complainant_kind == ComplainantKind.PUBLIC:
        if complaint.public_contact:
            body = "{}\n\n{}\n{}".format(
                body,
                _("Follow your complaint here:"),
                tracking_url(complaint, absolute=True),
            ).strip()
            outbox.enqueue(
                EMAIL_TOPIC,
                {"subject": str(title), "body": body, "to": [complaint.public_contact]},
            )
        return
    if complaint.complainant is not None:
        notify(
            recipient=complaint.complainant,
            title=str(title),
            body=str(body),
            verb=verb,
            url=complaint_url(complaint),
            organisation=complaint.complainant_organisation,
            email=True,
        )


# --- the regulator and the accused --------------------------------------------------------------


def _lock(complaint: Complaint) -> Complaint:
    return (
        Complaint.objects.select_for_update(of=("self",))
        .select_related(
            "agency__organisation__region",
            "announcement__project__owner",
            "announcement__project__region",
            "announcement__service_item",
            "regulator",
            "complainant",
        )
        .get(pk=complaint.pk)
    )


def _expect(complaint: Complaint, *statuses, message) -> None:
    if complaint.status not in statuses:
        raise _error(message)


@transaction.atomic
def complaint_accept(*, actor: User, complaint: Complaint) -> Complaint:
    """受理: the accused is asked for a statement by STATEMENT_WORKING_DAYS."""
    require_perm(actor, "handle", complaint)
    complaint = _lock(complaint)
    _expect(
        complaint,
        ComplaintStatus.SUBMITTED,
        message=_("Only a submitted complaint can be accepted."),
    )
    now = timezone.now()
    complaint.statement_by = workdays.deadline_at(now, config("STATEMENT_WORKING_DAYS"))
    complaint.accept(by=actor, data={"statement_by": complaint.statement_by.isoformat()})
    complaint.save()
    deadline = _local(complaint.statement_by)
    _notify_accused(
        complaint,
        verb="complaint.statement_requested",
        title=_("Complaint %(code)s: your statement is requested") % {"code": complaint.code},
        body=_(
            "A complaint about you was accepted. Submit your statement and evidence by %(deadline)s."
        )
        % {"deadline": deadline},
    )
    _notify_complainant(
        complaint,
        verb="complaint.accepted",
        title=_("Complaint %(code)s was accepted") % {"code": complaint.code},
        body=_("The regulator accepted your complaint and will investigate it."),
    )
    return complaint


@transaction.atomic
def complaint_reject(*, actor: User, complaint: Complaint, reason: str) -> Complaint:
    """不予受理, with the reason (told to the complainant)."""
    require_perm(actor, "handle", complaint)
    complaint = _lock(complaint)
    reason = (reason or "").strip()
    if not reason:
        raise _error(_("State why the complaint is not accepted."), "reason")
    _expect(
        complaint,
        ComplaintStatus.SUBMITTED,
        message=_("Only a submitted complaint can be rejected."),
    )
    complaint.decided_by = actor
    complaint.decided_at = timezone.now()
    complaint.reject(by=actor, reason=reason)
    complaint.save()
    _notify_complainant(
        complaint,
        verb="complaint.rejected",
        title=_("Complaint %(code)s was not accepted") % {"code": complaint.code},
        body=reason,
    )
    return complaint


@transaction.atomic
def complaint_statement(
    *, actor: User, complaint: Complaint, statement: str, files=()
) -> Complaint:
    """陈述申辩: the accused's statement, once, with evidence, before ``statement_by``."""
    require_perm(actor, "state", complaint)
    complaint = _lock(complaint)
    statement = (statement or "").strip()
    if complaint.status != ComplaintStatus.ACCEPTED:
        raise _error(_("A statement can be submitted only while the complaint awaits it."))
    if complaint.statement_at is not None:
        raise _error(_("The statement was already submitted."))
    now = timezone.now()
    if complaint.statement_by and complaint.statement_by < now:
        raise _error(
            _("The time for a statement ended at %(deadline)s.")
            % {"deadline": _local(complaint.statement_by)}
        )
    if len(statement) < 10:
        raise _error(_("Write your statement (at least 10 characters)."), "statement")
    files = _clean_files(files)
    complaint.statement = statement
    complaint.statement_at = now
    complaint.save(update_fields=["statement", "statement_at"])
    evidence = _save_evidence(complaint, files, by_accused=True)
    audit.record(
        actor=actor,
        action="complaint.statement",
        obj=complaint,
        from_state=complaint.status,
        to_state=complaint.status,
        data={"evidence": [e.sha256 for e in evidence]},
    )
    # The statement ends the period that was waiting for it: the investigation starts now
    # rather than at the deadline, so a prompt answer is not left idle for days.
    complaint.investigate(by=actor, reason=_("The statement is in."), data={"statement": True})
    complaint.save()
    _notify_handlers(
        complaint,
        verb="complaint.statement",
        title=_("Complaint %(code)s: the statement is in") % {"code": complaint.code},
        body=_("The accused submitted a statement; the complaint is under investigation."),
    )
    _notify_complainant(
        complaint,
        verb="complaint.investigating",
        title=_("Complaint %(code)s is under investigation") % {"code": complaint.code},
        body=_("The accused has answered; the regulator is investigating."),
    )
    return complaint


@transaction.atomic
def complaint_investigate(*, actor: User | None, complaint: Complaint, now=None) -> Complaint:
    """调查: by the regulator once the statement is in or its time is over, or by the
    scheduler (``actor=None``) when the time is over. Idempotent for the scheduler."""
    if actor is not None:
        require_perm(actor, "handle", complaint)
    complaint = _lock(complaint)
    now = now or timezone.now()
    if complaint.status != ComplaintStatus.ACCEPTED:
        if actor is None:
            return complaint  # already moved on
        raise _error(_("Only an accepted complaint can go to investigation."))
    deadline_passed = complaint.statement_by is not None and complaint.statement_by <= now
    if not deadline_passed and (actor is None or complaint.statement_at is None):
        if actor is None:
            return complaint  # a stale row: the accused still has time
        raise _error(
            _(
                "The accused may submit a statement until %(deadline)s; investigate after it, or after the deadline."
            )
            % {"deadline": _local(complaint.statement_by)}
        )
    reason = "" if complaint.statement_at else _("No statement by the deadline.")
    complaint.investigate(
        by=actor, reason=reason, data={"statement": complaint.statement_at is not None}
    )
    complaint.save()
    return complaint


@transaction.atomic
def complaint_decide(
    *, actor: User, complaint: Complaint, upheld: bool, decision: str
) -> Complaint:
    """处理决定: upheld or dismissed, published at once with the complainant anonymised.
    Upheld against an agency: its credit is recomputed (``ratings.credit``)."""
    require_perm(actor, "handle", complaint)
    complaint = _lock(complaint)
    decision = (decision or "").strip()
    if len(decision) < 10:
        raise _error(
            _("Write the decision and its grounds (at least 10 characters); it is published."),
            "decision",
        )
    _expect(
        complaint,
        ComplaintStatus.INVESTIGATING,
        message=_("Only a complaint under investigation can be decided."),
    )
    now = timezone.now()
    complaint.decided_by = actor
    complaint.decided_at = now
    complaint.published_at = now
    if upheld:
        complaint.uphold(by=actor, reason=decision)
    else:
        complaint.dismiss(by=actor, reason=decision)
    complaint.save()
    if upheld and complaint.agency_id is not None:
        _request_credit(complaint.agency_id)
    outcome = pgettext("complaint", "upheld") if upheld else pgettext("complaint", "dismissed")
    title = _("Complaint %(code)s was decided: %(outcome)s") % {
        "code": complaint.code,
        "outcome": outcome,
    }
    _notify_complainant(complaint, verb="complaint.decided", title=title, body=decision)
    _notify_accused(complaint, verb="complaint.decided", title=title, body=decision)
    return complaint


def _request_credit(agency_id: int) -> None:
    try:
        from ratings.credit import request_recompute
    except ImportError:  # the credit module is not there yet
        logger.warning(
            "complaints: ratings.credit.request_recompute missing; credit not recomputed"
        )
        return
    request_recompute(agency_id, trigger="complaint.upheld")


# --- the scheduler ------------------------------------------------------------------------------


def investigate_due(*, now=None, limit: int = 200) -> int:
    """Accepted complaints past their statement deadline go to investigation."""
    now = now or timezone.now()
    due = list(
        Complaint.objects.filter(status=ComplaintStatus.ACCEPTED, statement_by__lte=now)
        .order_by("statement_by", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in due:
        result = complaint_investigate(actor=None, complaint=Complaint(pk=pk), now=now)
        count += result.status == ComplaintStatus.INVESTIGATING
    return count


def flag_overdue(*, now=None, limit: int = 200) -> int:
    """Submitted complaints past ``accept_by``: the regulator's supervisors (or the platform
    administrators) are told once; the audit event ``complaint.overdue`` is the flag."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField, Exists, OuterRef
    from django.db.models.functions import Cast

    from marketplace.models import AuditEvent

    now = now or timezone.now()
    flagged = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Complaint),
        object_id=Cast(OuterRef("pk"), CharField()),
        action=OVERDUE_ACTION,
    )
    due = list(
        Complaint.objects.filter(status=ComplaintStatus.SUBMITTED, accept_by__lt=now)
        .filter(~Exists(flagged))
        .order_by("accept_by", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in due:
        with transaction.atomic():
            complaint = (
                Complaint.objects.select_for_update(of=("self",))
                .select_related("regulator")
                .filter(pk=pk)
                .first()
            )
            if complaint is None or complaint.status != ComplaintStatus.SUBMITTED:
                continue
            if AuditEvent.objects.filter(
                content_type=ContentType.objects.get_for_model(Complaint),
                object_id=str(pk),
                action=OVERDUE_ACTION,
            ).exists():
                continue
            audit.record(
                actor=None,
                action=OVERDUE_ACTION,
                obj=complaint,
                from_state=complaint.status,
                to_state=complaint.status,
                data={"accept_by": complaint.accept_by.isoformat()},
            )
            roles = (Role.SUPERVISOR,) if complaint.regulator_id else (Role.PLATFORM_ADMIN,)
            _notify_handlers(
                complaint,
                verb="complaint.overdue",
                title=_("Complaint %(code)s is overdue for acceptance") % {"code": complaint.code},
                body=_("It had to be accepted or rejected by %(deadline)s.")
                % {"deadline": _local(complaint.accept_by)},
                roles=roles,
                dedupe=f"complaint-overdue:{pk}",
            )
            count += 1
    return count
