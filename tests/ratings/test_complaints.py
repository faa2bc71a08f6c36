"""Complaints and reports (投诉举报): filing by members and by the public (one-time codes, rate
limits, evidence checks), every transition allowed and refused per role, the scheduler's
deadlines, the anonymised publication, and the pages (with their query counts)."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from marketplace import chronograph, outbox, workdays
from marketplace.models import AuditEvent, OutboxMessage, Role
from ratings import complaints, ratelimit
from ratings.models import (
    ComplainantKind,
    Complaint,
    ComplaintStatus,
    ContactVerification,
    Evidence,
)
from tests.agencies.factories import add_member, kunming, make_regulator, region
from tests.marketplace.factories import UserFactory, platform_admin
from tests.procurement.factories import (
    WUHUA,
    login,
    make_announcement,
    make_eligible_agency,
    text,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FACTS = "该机构在编制环境影响报告时伪造监测数据，并向业主收取不合理费用。"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()  # the limiter's counters (locmem in tests) start empty in every test
    yield
    cache.clear()


def pdf(name="evidence.pdf", body=PDF):
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def events(obj, action=None):
    qs = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    )
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("created_at", "id"))


@pytest.fixture
def scene(world):
    """The world, with a city regulator (昆明市, ecology) that covers the agencies' home and the
    project, a county one (五华区) that covers only the project, one elsewhere, and users."""
    city = make_regulator(region=kunming(), industries=["ecology"], name="昆明市生态环境局")
    county = make_regulator(region=region(WUHUA), industries=["ecology"], name="五华区生态环境局")
    elsewhere = make_regulator(region=region("530300"), industries=["ecology"], name="曲靖市")
    world.city, world.county = city, county
    world.reviewer = add_member(city, Role.REVIEWER)
    world.supervisor = add_member(city, Role.SUPERVISOR)
    world.county_reviewer = add_member(county, Role.REVIEWER)
    world.outsider_regulator = add_member(elsewhere, Role.REVIEWER)
    world.accused = world.agencies[0]
    world.other_agency = world.agencies[1]
    return world


def owner_files(world, **kwargs):
    values = {
        "actor": world.owner.admin_user,
        "complainant_kind": ComplainantKind.OWNER,
        "agency": world.accused,
        "subject": "伪造监测数据",
        "description": FACTS,
        "files": [pdf()],
    }
    values.update(kwargs)
    return complaints.complaint_file(**values)


def code_sent_to(contact: str) -> str:
    message = OutboxMessage.objects.filter(topic="email.send").order_by("-pk").first()
    assert message.payload["to"] == [contact]
    return re.search(r"\b(\d{6})\b", message.payload["body"]).group(1)


def public_files(world, contact="citizen@example.com", ip="203.0.113.7", **kwargs):
    complaints.contact_verification_start(contact=contact, ip_address=ip)
    values = {
        "complainant_kind": ComplainantKind.PUBLIC,
        "agency": world.accused,
        "subject": "收费不透明",
        "description": FACTS,
        "public_name": "王小明",
        "public_contact": contact,
        "verification_code": code_sent_to(contact),
        "ip_address": ip,
    }
    values.update(kwargs)
    return complaints.complaint_file(**values)


def accepted(world, **kwargs):
    complaint = owner_files(world, **kwargs)
    return complaints.complaint_accept(actor=world.reviewer, complaint=complaint)


def investigating(world, **kwargs):
    complaint = accepted(world, **kwargs)
    # The statement starts the investigation by itself.
    return complaints.complaint_statement(
        actor=world.accused.admin_user, complaint=complaint, statement="监测数据真实，附原始记录。"
    )


# --- filing by members -----------------------------------------------------------------------


def test_an_owner_files_against_an_agency_with_evidence(scene):
    complaint = owner_files(scene, files=[pdf(), SimpleUploadedFile("photo.png", PNG)])
    assert re.fullmatch(rf"TS-{timezone.localdate().year}-\d{{6}}", complaint.code)
    assert complaint.status == ComplaintStatus.SUBMITTED
    assert complaint.complainant_organisation == scene.owner.organisation
    assert complaint.complainant == scene.owner.admin_user
    # The agency's home is 昆明市: the city regulator covers it, the county one does not.
    assert complaint.regulator == scene.city
    assert complaint.accept_by == workdays.deadline_at(complaint.created_at, 5)
    evidence = list(complaint.evidence.all())
    assert [e.original_name for e in evidence] == ["evidence.pdf", "photo.png"]
    import hashlib

    assert evidence[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert evidence[0].size == len(PDF) and not evidence[0].by_accused
    [filed] = events(complaint, "complaint.file")
    assert filed.actor == scene.owner.admin_user
    assert filed.data["evidence"] == [e.sha256 for e in evidence]
    # The regulator's reviewers and supervisors are told.
    told = {m.payload["recipient_id"] for m in OutboxMessage.objects.filter(topic="notify")}
    assert {scene.reviewer.pk, scene.supervisor.pk} <= told
    assert scene.county_reviewer.pk not in told


def test_an_announcement_complaint_goes_to_the_most_local_regulator(scene):
    announcement = make_announcement(scene)
    complaint = complaints.complaint_file(
        actor=scene.accused.admin_user,
        complainant_kind=ComplainantKind.AGENCY,
        announcement=announcement,
        subject="资格条件设置不合理",
        description=FACTS,
    )
    assert complaint.complainant_organisation == scene.accused.organisation
    assert complaint.regulator == scene.county  # 五华区 before 昆明市


def test_without_a_covering_regulator_platform_admins_handle_it(scene):
    far = make_eligible_agency(scene.item, home="530300")  # 曲靖市: no ecology regulator…
    from marketplace.models import Organisation

    Organisation.objects.filter(name="曲靖市").update(is_active=False)
    complaint = owner_files(scene, agency=far)
    assert complaint.regulator is None
    admin = platform_admin()
    complaints.complaint_accept(actor=admin, complaint=complaint)
    with pytest.raises(PermissionDenied):
        complaints.complaint_reject(actor=scene.reviewer, complaint=complaint, reason="x")


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("itself", "cannot complain about itself"),
        ("own_announcement", "its own announcement"),
        ("no_target", "which agency or announcement"),
        ("short", "at least 20 characters"),
        ("no_subject", "short subject"),
    ],
)
def test_bad_filings_are_refused_with_a_clear_message(scene, case, fragment):
    announcement = make_announcement(scene) if case == "own_announcement" else None
    kwargs = {
        "itself": {
            "actor": scene.accused.admin_user,
            "complainant_kind": ComplainantKind.AGENCY,
        },
        "own_announcement": {"agency": None, "announcement": announcement},
        "no_target": {"agency": None},
        "short": {"description": "太短了"},
        "no_subject": {"subject": "  "},
    }[case]
    with pytest.raises(ValidationError) as exc:
        owner_files(scene, **kwargs)
    assert fragment in " ".join(exc.value.messages)
    assert not Complaint.objects.exists() and not Evidence.objects.exists()


def test_only_members_file_as_owner_or_agency(scene):
    stranger = UserFactory()
    with pytest.raises(PermissionDenied):
        owner_files(scene, actor=stranger)
    with pytest.raises(PermissionDenied):
        owner_files(scene, actor=scene.owner.admin_user, complainant_kind=ComplainantKind.AGENCY)
    with pytest.raises(PermissionDenied):
        owner_files(scene, actor=None)
    assert not Complaint.objects.exists()


# --- evidence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "upload, fragment",
    [
        (SimpleUploadedFile("report.pdf", b"MZ\x90\x00" + b"\x00" * 64), "is a program"),
        (SimpleUploadedFile("notes.pdf", b"just some text, not a PDF"), "not an accepted format"),
        (SimpleUploadedFile("scan.png", PDF), "does not match its content"),
        (SimpleUploadedFile("empty.pdf", b""), "empty"),
        (SimpleUploadedFile("big.pdf", PDF + b"\x00" * (10 * 1024 * 1024)), "too large"),
    ],
    ids=["executable", "text", "mismatch", "empty", "too-large"],
)
def test_bad_evidence_is_refused_and_nothing_is_saved(scene, settings, upload, fragment):
    with pytest.raises(ValidationError) as exc:
        owner_files(scene, files=[pdf(), upload])
    messages = exc.value.message_dict["files"]
    assert any(fragment in m and m.startswith(upload.name) for m in messages)
    assert not Complaint.objects.exists() and not Evidence.objects.exists()
    evidence_dir = settings.PRIVATE_MEDIA_ROOT / "evidence"
    assert not evidence_dir.exists() or not any(evidence_dir.iterdir())


def test_at_most_ten_files(scene):
    with pytest.raises(ValidationError, match="At most 10"):
        owner_files(scene, files=[pdf(f"{n}.pdf") for n in range(11)])


# --- the public: one-time codes and rate limits ---------------------------------------------------


def test_the_code_goes_by_e_mail_after_commit_and_only_its_hash_is_kept(scene):
    verification = complaints.contact_verification_start(
        contact=" Citizen@Example.com ", ip_address="203.0.113.7"
    )
    assert verification.contact == "citizen@example.com"
    left = verification.expires_at - timezone.now()
    assert datetime.timedelta(minutes=14) < left <= datetime.timedelta(minutes=15)
    assert not mail.outbox  # queued in the transaction, sent by the outbox
    outbox.sweep()
    [sent] = mail.outbox
    assert sent.to == ["citizen@example.com"]
    code = re.search(r"\b(\d{6})\b", sent.body).group(1)
    assert code not in verification.code_hash and len(verification.code_hash) == 64


def test_a_member_of_the_public_files_with_a_verified_code(scene):
    complaint = public_files(scene)
    assert complaint.complainant_kind == ComplainantKind.PUBLIC
    assert complaint.complainant is None and complaint.complainant_organisation is None
    assert complaint.public_name == "王小明"
    assert complaint.public_contact == "citizen@example.com"
    verification = ContactVerification.objects.get(contact="citizen@example.com")
    assert verification.verified_at is not None
    # The code is single use.
    with pytest.raises(ValidationError, match="Request a verification code first"):
        complaints.complaint_file(
            complainant_kind=ComplainantKind.PUBLIC,
            agency=scene.accused,
            subject="再次投诉",
            description=FACTS,
            public_name="王小明",
            public_contact="citizen@example.com",
            verification_code=code_sent_to("citizen@example.com"),
        )


def file_with_code(world, code, contact="citizen@example.com"):
    return complaints.complaint_file(
        complainant_kind=ComplainantKind.PUBLIC,
        agency=world.accused,
        subject="收费不透明",
        description=FACTS,
        public_name="王小明",
        public_contact=contact,
        verification_code=code,
        ip_address="203.0.113.7",
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_wrong_code_counts_an_attempt_and_five_end_it(scene):
    complaints.contact_verification_start(contact="citizen@example.com", ip_address=None)
    code = code_sent_to("citizen@example.com")
    with pytest.raises(ValidationError, match="wrong; 4 attempts left"):
        file_with_code(scene, wrong(code))
    verification = ContactVerification.objects.get()
    assert verification.attempts == 1  # kept although the filing failed
    for _ in range(4):
        with pytest.raises(ValidationError, match="wrong"):
            file_with_code(scene, wrong(code))
    with pytest.raises(ValidationError, match="Too many wrong codes"):
        file_with_code(scene, code)  # even the right one, now
    assert not Complaint.objects.exists()


def test_an_expired_code_is_refused(scene):
    complaints.contact_verification_start(contact="citizen@example.com", ip_address=None)
    code = code_sent_to("citizen@example.com")
    ContactVerification.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ValidationError, match="expired"):
        file_with_code(scene, code)


def test_no_code_asked_or_a_code_replaced(scene):
    with pytest.raises(ValidationError, match="Request a verification code first"):
        file_with_code(scene, "123456")
    complaints.contact_verification_start(contact="citizen@example.com", ip_address=None)
    first = code_sent_to("citizen@example.com")
    complaints.contact_verification_start(contact="citizen@example.com", ip_address=None)
    second = code_sent_to("citizen@example.com")
    if first != second:
        with pytest.raises(ValidationError):
            file_with_code(scene, first)
    assert file_with_code(scene, second).pk


@pytest.mark.parametrize(
    "contact, fragment",
    [("13800138000", "phone is not supported yet"), ("not-an-address", "valid e-mail")],
)
def test_only_e_mail_contacts(scene, contact, fragment):
    with pytest.raises(ValidationError, match=fragment):
        complaints.contact_verification_start(contact=contact, ip_address=None)
    assert not ContactVerification.objects.exists()


@pytest.fixture(params=["locmem", "redis"])
def limiter_cache(request, settings):
    """The limiter on the test cache and on a real Redis (each test its own key prefix)."""
    if request.param == "redis":
        settings.CACHES = {
            **settings.CACHES,
            "ratelimit": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": settings.REDIS_URL,
                "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            },
        }
        settings.RATINGS = {**settings.RATINGS, "RATE_LIMIT_CACHE": "ratelimit"}
    return request.param


def test_public_complaints_are_limited_per_contact_and_ip(scene, limiter_cache):
    for n in range(3):
        public_files(scene, contact=f"c{n}@example.com")
    with pytest.raises(ValidationError, match="Too many complaints.*try again after"):
        public_files(scene, contact="c9@example.com")
    assert Complaint.objects.count() == 3
    # Another address from another IP is not held back.
    assert public_files(scene, contact="else@example.com", ip="198.51.100.1").pk


def test_codes_are_limited_per_ip(scene, limiter_cache):
    for n in range(5):
        complaints.contact_verification_start(contact=f"c{n}@example.com", ip_address="192.0.2.1")
    with pytest.raises(ValidationError, match="Too many codes.*try again after"):
        complaints.contact_verification_start(contact="c9@example.com", ip_address="192.0.2.1")
    assert ContactVerification.objects.count() == 5


def test_the_limiter_counts_atomically_by_window(limiter_cache):
    limits = [ratelimit.Limit(2, 60), ratelimit.Limit(3, 3600)]
    t0 = 1_800_000_000.0  # a window boundary of both periods
    ratelimit.hit("t", "k", limits, now=t0)
    ratelimit.hit("t", "k", limits, now=t0 + 1)
    with pytest.raises(ratelimit.RateLimited) as exc:
        ratelimit.hit("t", "k", limits, now=t0 + 2)
    assert exc.value.retry_at.timestamp() == t0 + 60
    # A refused hit counts nothing: the next minute still has room for one (3 an hour).
    ratelimit.hit("t", "k", limits, now=t0 + 61)
    with pytest.raises(ratelimit.RateLimited) as exc:
        ratelimit.hit("t", "k", limits, now=t0 + 62)
    assert exc.value.retry_at.timestamp() == t0 + 3600
    ratelimit.hit("t", "other", limits, now=t0 + 62)  # keys are independent


# --- transitions per role ------------------------------------------------------------------------


def test_only_the_regulator_in_charge_accepts_and_only_once(scene):
    complaint = owner_files(scene)
    for actor in (
        scene.county_reviewer,  # a regulator, but not covering the agency's home
        scene.outsider_regulator,
        scene.accused.admin_user,
        scene.owner.admin_user,
    ):
        with pytest.raises(PermissionDenied):
            complaints.complaint_accept(actor=actor, complaint=complaint)
    complaint = complaints.complaint_accept(actor=scene.supervisor, complaint=complaint)
    assert complaint.status == ComplaintStatus.ACCEPTED
    assert complaint.statement_by == workdays.deadline_at(
        events(complaint, "accept")[0].created_at, 5
    )
    with pytest.raises(ValidationError, match="Only a submitted complaint"):
        complaints.complaint_accept(actor=scene.reviewer, complaint=complaint)
    with pytest.raises(ValidationError, match="Only a submitted complaint"):
        complaints.complaint_reject(actor=scene.reviewer, complaint=complaint, reason="不属实")
    # The accused's members are asked for a statement.
    told = OutboxMessage.objects.filter(
        topic="notify", payload__verb="complaint.statement_requested"
    )
    assert scene.accused.admin_user.pk in {m.payload["recipient_id"] for m in told}


def test_rejection_needs_a_reason_and_tells_the_complainant(scene):
    complaint = owner_files(scene)
    with pytest.raises(ValidationError, match="State why"):
        complaints.complaint_reject(actor=scene.reviewer, complaint=complaint, reason=" ")
    with pytest.raises(PermissionDenied):
        complaints.complaint_reject(actor=scene.outsider_regulator, complaint=complaint, reason="x")
    complaint = complaints.complaint_reject(
        actor=scene.reviewer, complaint=complaint, reason="不属于本部门职责范围"
    )
    assert complaint.status == ComplaintStatus.REJECTED
    assert complaint.decision == "不属于本部门职责范围" and complaint.published_at is None
    [event] = events(complaint, "reject")
    assert event.reason == "不属于本部门职责范围" and event.actor == scene.reviewer
    told = OutboxMessage.objects.filter(topic="notify", payload__verb="complaint.rejected")
    assert [m.payload["recipient_id"] for m in told] == [scene.owner.admin_user.pk]


def test_the_statement_by_the_accused_once_before_the_deadline(scene):
    complaint = owner_files(scene)
    with pytest.raises(ValidationError, match="only while the complaint awaits it"):
        complaints.complaint_statement(
            actor=scene.accused.admin_user, complaint=complaint, statement="提前陈述，尚未受理。"
        )
    complaint = complaints.complaint_accept(actor=scene.reviewer, complaint=complaint)
    for actor in (scene.owner.admin_user, scene.other_agency.admin_user, scene.reviewer):
        with pytest.raises(PermissionDenied):
            complaints.complaint_statement(actor=actor, complaint=complaint, statement="x" * 20)
    with pytest.raises(ValidationError) as exc:
        complaints.complaint_statement(
            actor=scene.accused.admin_user,
            complaint=complaint,
            statement="监测数据真实，附原始记录。",
            files=[SimpleUploadedFile("x.pdf", b"MZ" + b"\x00" * 20)],
        )
    assert "files" in exc.value.message_dict
    complaints.complaint_statement(
        actor=scene.accused.admin_user,
        complaint=complaint,
        statement="监测数据真实，附原始记录。",
        files=[pdf("record.pdf")],
    )
    complaint.refresh_from_db()
    assert complaint.statement_at is not None
    assert complaint.evidence.filter(by_accused=True).count() == 1
    assert events(complaint, "complaint.statement")
    # The statement ends the wait: the complaint is under investigation at once, audited as
    # the transition by the accused's member, and the complainant is told.
    assert complaint.status == ComplaintStatus.INVESTIGATING
    (moved,) = events(complaint, "investigate")
    assert moved.actor_id == scene.accused.admin_user.pk
    assert OutboxMessage.objects.filter(payload__verb="complaint.investigating").exists()
    with pytest.raises(ValidationError, match="only while the complaint awaits it"):
        complaints.complaint_statement(
            actor=scene.accused.admin_user, complaint=complaint, statement="补充陈述内容。" * 3
        )


def test_no_statement_after_its_deadline(scene):
    complaint = accepted(scene)
    Complaint.objects.filter(pk=complaint.pk).update(
        statement_by=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(ValidationError, match="time for a statement ended"):
        complaints.complaint_statement(
            actor=scene.accused.admin_user, complaint=complaint, statement="迟到的陈述内容。" * 2
        )


def test_investigation_waits_for_the_statement_or_its_deadline(scene):
    complaint = accepted(scene)
    with pytest.raises(ValidationError, match="may submit a statement until"):
        complaints.complaint_investigate(actor=scene.reviewer, complaint=complaint)
    with pytest.raises(PermissionDenied):
        complaints.complaint_investigate(actor=scene.accused.admin_user, complaint=complaint)
    # The scheduler does nothing before the deadline either.
    assert complaints.complaint_investigate(actor=None, complaint=complaint).status == "accepted"
    # After the deadline without a statement, the regulator may start it.
    Complaint.objects.filter(pk=complaint.pk).update(
        statement_by=timezone.now() - datetime.timedelta(minutes=1)
    )
    complaint = complaints.complaint_investigate(actor=scene.reviewer, complaint=complaint)
    assert complaint.status == ComplaintStatus.INVESTIGATING
    (moved,) = events(complaint, "investigate")
    assert moved.reason  # "no statement by the deadline"
    with pytest.raises(ValidationError, match="Only an accepted complaint"):
        complaints.complaint_investigate(actor=scene.reviewer, complaint=complaint)


def test_an_upheld_complaint_is_published_and_recomputes_the_credit(scene, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "ratings.credit.request_recompute",
        lambda agency_id, trigger: calls.append((agency_id, trigger)),
    )
    complaint = owner_files(scene)
    with pytest.raises(ValidationError, match="Only a complaint under investigation"):
        complaints.complaint_decide(
            actor=scene.reviewer, complaint=complaint, upheld=True, decision="投诉成立，责令整改。"
        )
    complaint = investigating(scene)
    with pytest.raises(PermissionDenied):
        complaints.complaint_decide(
            actor=scene.owner.admin_user, complaint=complaint, upheld=True, decision="x" * 20
        )
    with pytest.raises(ValidationError, match="at least 10 characters"):
        complaints.complaint_decide(
            actor=scene.reviewer, complaint=complaint, upheld=True, decision="成立"
        )
    complaint = complaints.complaint_decide(
        actor=scene.reviewer,
        complaint=complaint,
        upheld=True,
        decision="经调查，投诉成立：监测数据存在伪造，责令整改。",
    )
    assert complaint.status == ComplaintStatus.UPHELD
    assert complaint.published_at is not None and complaint.decided_by == scene.reviewer
    assert calls == [(scene.accused.pk, "complaint.upheld")]
    # One audit event per transition, in order.
    actions = [e.action for e in events(complaint)]
    assert actions == [
        "complaint.file",
        "accept",
        "complaint.statement",
        "investigate",
        "uphold",
    ]
    with pytest.raises(ValidationError, match="Only a complaint under investigation"):
        complaints.complaint_decide(
            actor=scene.reviewer, complaint=complaint, upheld=False, decision="x" * 20
        )


def test_a_dismissed_complaint_does_not_touch_the_credit(scene, monkeypatch):
    calls = []
    monkeypatch.setattr("ratings.credit.request_recompute", lambda *a, **k: calls.append(a))
    complaint = complaints.complaint_decide(
        actor=scene.reviewer,
        complaint=investigating(scene),
        upheld=False,
        decision="经调查，投诉反映的问题不属实。",
    )
    assert complaint.status == ComplaintStatus.DISMISSED and complaint.published_at
    assert calls == []


# --- the scheduler -------------------------------------------------------------------------------


def test_the_job_moves_to_investigation_at_the_statement_deadline(scene):
    complaint = accepted(scene)
    before = complaint.statement_by - datetime.timedelta(minutes=1)
    [result] = chronograph.run_due_jobs(now=before, names=["ratings.complaints"])
    assert result.result == {"investigating": 0, "overdue": 0}
    after = complaint.statement_by + datetime.timedelta(minutes=1)
    [result] = chronograph.run_due_jobs(now=after, names=["ratings.complaints"])
    assert result.result["investigating"] == 1
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.INVESTIGATING
    [event] = events(complaint, "investigate")
    assert event.actor is None and "No statement" in event.reason


def test_the_job_flags_an_overdue_acceptance_to_supervisors_once(scene):
    complaint = owner_files(scene)
    OutboxMessage.objects.all().delete()
    later = complaint.accept_by + datetime.timedelta(minutes=1)
    [result] = chronograph.run_due_jobs(now=later, names=["ratings.complaints"])
    assert result.result["overdue"] == 1
    [flag] = events(complaint, complaints.OVERDUE_ACTION)
    assert flag.actor is None
    told = OutboxMessage.objects.filter(topic="notify", payload__verb="complaint.overdue")
    assert [m.payload["recipient_id"] for m in told] == [scene.supervisor.pk]
    again = later + datetime.timedelta(minutes=5)
    [result] = chronograph.run_due_jobs(now=again, names=["ratings.complaints"])
    assert result.result["overdue"] == 0
    assert len(events(complaint, complaints.OVERDUE_ACTION)) == 1
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.SUBMITTED  # flagged, not decided for them


# --- pages ----------------------------------------------------------------------------------------


def test_the_public_outcomes_are_anonymised(scene, client):
    upheld = complaints.complaint_decide(
        actor=scene.reviewer,
        complaint=investigating(scene),
        upheld=True,
        decision="经调查，投诉成立，责令该机构整改。",
    )
    public = public_files(scene, contact="secret.person@example.com")
    public = complaints.complaint_accept(actor=scene.reviewer, complaint=public)
    Complaint.objects.filter(pk=public.pk).update(statement_by=timezone.now())
    complaints.complaint_investigate(actor=scene.reviewer, complaint=public)
    complaints.complaint_decide(
        actor=scene.reviewer, complaint=public, upheld=False, decision="经调查，反映问题不属实。"
    )
    rejected = owner_files(scene, subject="另一件事")
    complaints.complaint_reject(actor=scene.reviewer, complaint=rejected, reason="重复投诉")
    client.cookies["django_language"] = "en"
    page = text(client.get(reverse("ratings:complaint_outcomes")))
    assert upheld.code in page and public.code in page
    assert rejected.code not in page
    assert "a project owner" in page and "a member of the public" in page
    assert "责令该机构整改" in page and scene.accused.organisation.name in page
    for secret in (
        scene.owner.organisation.name,
        "王小明",
        "secret.person@example.com",
        upheld.subject,
        FACTS[:10],
    ):
        assert secret not in page
    # The accused sees the complaint, but not who filed it.
    login(client, scene.accused.admin_user)
    page = text(client.get(reverse("ratings:complaint_detail", args=[upheld.code])))
    assert "a project owner" in page and scene.owner.organisation.name not in page


def test_the_labels_in_chinese(scene, client):
    complaints.complaint_decide(
        actor=scene.reviewer,
        complaint=investigating(scene),
        upheld=True,
        decision="经调查，投诉成立，责令该机构整改。",
    )
    client.cookies["django_language"] = "zh-hans"
    page = text(client.get(reverse("ratings:complaint_outcomes")))
    assert "一名项目业主" in page and "投诉处理结果公示" in page
    assert "a project owner" not in page


def test_filing_pages_for_the_public_and_members(scene, client):
    url = reverse("ratings:complaint_new") + f"?agency={scene.accused.pk}"
    client.cookies["django_language"] = "en"
    page = text(client.get(url))
    assert scene.accused.organisation.uscc in page and "Send the code" in page
    response = client.post(
        url,
        {
            "send_code": "1",
            "public_contact": "a@example.com",
            "agency": scene.accused.organisation.uscc,
        },
    )
    assert "A 6-digit code was sent" in text(response)
    code = code_sent_to("a@example.com")
    response = client.post(
        url,
        {
            "file": "1",
            "complainant_kind": "public",
            "agency": scene.accused.organisation.uscc,
            "subject": "收费不透明",
            "description": FACTS,
            "public_name": "李四",
            "public_contact": "a@example.com",
            "verification_code": code,
            "files": [pdf()],
        },
    )
    assert response.status_code == 302 and response.url == reverse("ratings:complaint_filed")
    complaint = Complaint.objects.get()
    assert complaint.code in text(client.get(response.url))
    assert complaint.evidence.count() == 1
    # A member files for their organisation and lands on the complaint.
    login(client, scene.owner.admin_user)
    response = client.post(
        url,
        {
            "file": "1",
            "complainant_kind": "owner",
            "agency": scene.accused.organisation.uscc,
            "subject": "伪造监测数据",
            "description": FACTS,
        },
    )
    filed = Complaint.objects.exclude(pk=complaint.pk).get()
    assert response.url == reverse("ratings:complaint_detail", args=[filed.code])
    mine = text(client.get(reverse("ratings:complaint_mine")))
    assert filed.code in mine and complaint.code not in mine


def test_a_bad_file_on_the_form_is_shown_beside_the_field(scene, client):
    login(client, scene.owner.admin_user)
    response = client.post(
        reverse("ratings:complaint_new"),
        {
            "file": "1",
            "complainant_kind": "owner",
            "agency": scene.accused.organisation.uscc,
            "subject": "伪造监测数据",
            "description": FACTS,
            "files": [SimpleUploadedFile("evil.pdf", b"MZ" + b"\x00" * 100)],
        },
    )
    assert response.status_code == 200
    assert "evil.pdf: This file is a program" in text(response)
    assert not Complaint.objects.exists()


def test_the_complaint_page_per_role(scene, client):
    complaint = owner_files(scene)
    url = reverse("ratings:complaint_detail", args=[complaint.code])
    # Nobody outside sees it; the accused not before acceptance.
    for user in (scene.other_agency.admin_user, scene.outsider_regulator, scene.accused.admin_user):
        login(client, user)
        assert client.get(url).status_code == 404
    login(client, scene.reviewer)
    page = text(client.get(url))
    assert scene.owner.organisation.name in page and "Accept" in page
    response = client.post(url, {"action": "accept"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.ACCEPTED
    login(client, scene.accused.admin_user)
    page = text(client.get(url))
    assert "Submit your statement" in page and scene.owner.organisation.name not in page
    response = client.post(
        url,
        {"action": "statement", "statement": "监测数据真实，附原始记录。", "files": [pdf("r.pdf")]},
    )
    assert response.status_code == 302
    # An outsider posting an action gets a 404, and nothing changes.
    login(client, scene.county_reviewer)
    assert client.post(url, {"action": "investigate"}).status_code == 404
    login(client, scene.reviewer)
    client.post(url, {"action": "investigate"})
    response = client.post(url, {"action": "decide", "outcome": "uphold", "decision": "短"})
    assert "at least 10 characters" in text(response)
    client.post(
        url, {"action": "decide", "outcome": "dismiss", "decision": "经调查，反映问题不属实。"}
    )
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.DISMISSED


def test_evidence_downloads_are_permission_checked(scene, client):
    complaint = accepted(scene)
    complaints.complaint_statement(
        actor=scene.accused.admin_user,
        complaint=complaint,
        statement="监测数据真实，附原始记录。",
        files=[pdf("record.pdf")],
    )
    mine = complaint.evidence.get(by_accused=False)
    theirs = complaint.evidence.get(by_accused=True)

    def status(user, evidence):
        if user is None:
            client.logout()
        else:
            login(client, user)
        return client.get(reverse("ratings:complaint_evidence", args=[evidence.pk])).status_code

    assert status(scene.owner.admin_user, mine) == 200
    assert status(scene.owner.admin_user, theirs) == 404
    assert status(scene.accused.admin_user, theirs) == 200
    assert status(scene.accused.admin_user, mine) == 404
    assert status(scene.reviewer, mine) == 200 and status(scene.reviewer, theirs) == 200
    assert status(scene.county_reviewer, mine) == 404
    assert status(None, mine) == 302
    login(client, scene.reviewer)
    response = client.get(reverse("ratings:complaint_evidence", args=[mine.pk]))
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"


def test_queue_only_for_handlers_in_scope(scene, client):
    complaint = owner_files(scene)
    login(client, scene.owner.admin_user)
    assert client.get(reverse("ratings:complaint_queue")).status_code == 404
    login(client, scene.county_reviewer)
    assert complaint.code not in text(client.get(reverse("ratings:complaint_queue")))
    login(client, scene.reviewer)
    Complaint.objects.filter(pk=complaint.pk).update(
        accept_by=timezone.now() - datetime.timedelta(hours=1)
    )
    page = text(client.get(reverse("ratings:complaint_queue")))
    assert complaint.code in page and "row--overdue" in page and "overdue" in page


def test_queue_query_count(scene, client, django_assert_num_queries):
    owner_files(scene)
    login(client, scene.reviewer)
    url = reverse("ratings:complaint_queue")
    client.get(url)
    # 1 session, 2 user, 3 memberships, 4 count and 5 page of complaints (with the agency's
    # organisation, the announcement's project and the regulator), 6 the header's
    # unread-notification count.
    with django_assert_num_queries(6):
        client.get(url)
    for n in range(3):
        owner_files(scene, subject=f"另一投诉{n}")
    with django_assert_num_queries(6):  # the same, whatever the number of complaints
        response = client.get(url)
    assert text(response).count("另一投诉") == 3


def test_outcomes_query_count(scene, client, django_assert_num_queries):
    def decided(n):
        complaint = investigating(scene, subject=f"事项{n}")
        complaints.complaint_decide(
            actor=scene.reviewer,
            complaint=complaint,
            upheld=True,
            decision=f"投诉成立，第{n}号决定。",
        )

    decided(0)
    url = reverse("ratings:complaint_outcomes")
    client.get(url)
    # 1 count and 2 page of outcomes (with the agency's organisation and the announcement).
    with django_assert_num_queries(2):
        client.get(url)
    for n in range(1, 4):
        decided(n)
    with django_assert_num_queries(2):
        response = client.get(url)
    assert text(response).count("号决定") == 4


# --- following a public complaint --------------------------------------------------------------


def test_the_public_follow_their_complaint_through_its_link(
    scene, client, django_assert_num_queries
):
    client.cookies["django_language"] = "en"
    complaint = public_files(scene, contact="follower@example.com")
    link = complaints.tracking_url(complaint)
    # The link is in the filing e-mail (absolute) and on the filing page.
    (received,) = [
        m
        for m in OutboxMessage.objects.filter(topic="email.send")
        if m.payload["to"] == ["follower@example.com"] and complaint.code in m.payload["subject"]
    ]
    assert received.payload["body"].endswith(complaints.tracking_url(complaint, absolute=True))
    session = client.session
    session["ratings_complaint_filed"] = complaint.code
    session.save()
    assert link in text(client.get(reverse("ratings:complaint_filed")))

    with django_assert_num_queries(3):  # the session, the complaint, its evidence
        response = client.get(link)
    page = text(response)
    assert response["Referrer-Policy"] == "no-referrer"
    assert complaint.code in page and "收费不透明" in page and "due by" in page
    assert "Accepted by the regulator" in page

    complaints.complaint_accept(actor=scene.reviewer, complaint=complaint)
    complaints.complaint_statement(
        actor=scene.accused.admin_user,
        complaint=complaint,
        statement="机构的陈述不应给投诉人看到。",
        files=[pdf("theirs.pdf")],
    )
    page = text(client.get(link))
    assert "under investigation" in page
    assert "机构的陈述" not in page and "theirs.pdf" not in page  # the accused's side stays out
    complaints.complaint_decide(
        actor=scene.reviewer,
        complaint=complaint,
        upheld=True,
        decision="经调查，投诉成立，责令整改。",
    )
    page = text(client.get(link))
    assert "投诉成立，责令整改" in page and "upheld" in page
    # The decision e-mail carries the link too.
    decided = (
        OutboxMessage.objects.filter(topic="email.send", payload__to=["follower@example.com"])
        .order_by("-pk")
        .first()
    )
    assert complaints.tracking_url(complaint, absolute=True) in decided.payload["body"]


def test_a_wrong_or_foreign_tracking_link_is_a_404(scene, client):
    public = public_files(scene, contact="follower@example.com")
    token = complaints.tracking_token(public)
    assert (
        client.get(reverse("ratings:complaint_track", args=[public.code, "0" * 32])).status_code
        == 404
    )
    other = public_files(scene, contact="other@example.com", ip="203.0.113.8")
    # One complaint's token does not open another.
    assert (
        client.get(reverse("ratings:complaint_track", args=[other.code, token])).status_code == 404
    )
    # Members follow theirs on the complaint page, not by link.
    member = owner_files(scene)
    fake = complaints.tracking_token(member)
    assert (
        client.get(reverse("ratings:complaint_track", args=[member.code, fake])).status_code == 404
    )


def test_the_tracking_page_in_chinese(scene, client):
    complaint = public_files(scene, contact="follower@example.com")
    client.cookies["django_language"] = "zh-hans"
    page = text(client.get(complaints.tracking_url(complaint)))
    assert "办理进度" in page and "监管部门受理" in page and "已提交" in page
