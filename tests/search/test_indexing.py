"""Keeping the indexes in step (search.indexing): business changes made through the real
services reach the index through the outbox; drift is reconciled; a rebuild swaps versions
while search keeps answering and catches up with changes made meanwhile.

In tests Celery is not eager and the test's transaction never commits, so the outbox
messages stay pending until ``outbox.sweep()`` delivers them, as the scheduler would."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from agencies import shelf
from agencies.changes import change_request_approve, change_request_submit
from agencies.models import EnrolmentStatus
from agencies.services import agency_suspend, enrolment_approve
from marketplace import outbox
from marketplace.models import OutboxMessage, OutboxStatus
from search.api import database_backend
from search.documents import IndexDoc
from search.indexing import TOPIC, mark_dirty, reconcile, reindex
from search.kinds import get_kind
from tests.agencies.factories import CertificateFactory, kunming, make_regulator_user
from tests.search.builders import build_index, find, found, make_agency, names, pk

pytestmark = pytest.mark.django_db

AGENCY = get_kind("agency")


def sync_messages(agency=None):
    messages = OutboxMessage.objects.filter(topic=TOPIC).order_by("pk")
    if agency is not None:
        messages = messages.filter(payload__ids__contains=[pk(agency)])
    return messages


def backends_of(messages) -> list[str]:
    return sorted(m.payload["backend"] for m in messages)


def expected_backends(backend) -> list[str]:
    # Elasticsearch's fallback index (the database one) is kept in step too.
    return ["database", "elasticsearch"] if backend.name == "elasticsearch" else ["database"]


def licence():
    return SimpleUploadedFile("licence.pdf", b"%PDF-1.4\n%test\n")


def reviewer():
    return make_regulator_user(region=kunming(), industries=["ecology"])


# --- changes through the outbox --------------------------------------------------------------


def test_approval_and_suspension_reach_the_index(backend, items):
    name = "云南审核测试环境咨询有限公司"
    agency = make_agency(
        name, items=[items["eia"]], certs=[("eia-unit", "")], status=EnrolmentStatus.SUBMITTED
    )
    build_index(backend, "agency")
    outbox.sweep()
    assert found(backend, "审核测试") == set()

    enrolment_approve(actor=reviewer(), agency=agency)
    pending = sync_messages(agency).filter(status=OutboxStatus.PENDING)
    assert backends_of(pending) == expected_backends(backend)
    assert found(backend, "审核测试") == set()  # not before delivery

    outbox.sweep()
    assert not sync_messages(agency).filter(status=OutboxStatus.PENDING).exists()
    assert found(backend, "审核测试") == {name}
    assert found(database_backend(), "审核测试") == {name}

    agency_suspend(agency=agency, reason="资质证书已过期")
    assert found(backend, "审核测试") == {name}  # until delivered
    outbox.sweep()
    assert found(backend, "审核测试") == set()
    assert found(database_backend(), "审核测试") == set()


def test_edits_are_reflected(backend, items):
    agency = make_agency("滇中编辑测试咨询有限公司", items=[items["eia"]], certs=[("eia-unit", "")])
    shelf.partner_sync(agency=agency)
    offer = {
        "actor": agency.admin_user,
        "agency": agency,
        "service_item": items["eia"],
        "pricing_mode": "price",
        "turnaround_days": 5,
    }
    shelf.offering_save(price="100", **offer)
    build_index(backend, "agency")
    outbox.sweep()

    def card():
        result = find(backend, {"q": "编辑测试"})
        assert len(result.hits) == 1
        return result.hits[0].data

    assert (card()["price_min"], card()["price_max"], card()["offerings"]) == (
        "100.00",
        "100.00",
        1,
    )

    # An offering's price.
    shelf.offering_save(price="150", **offer)
    outbox.sweep()
    assert (card()["price_min"], card()["price_max"]) == ("150.00", "150.00")

    # A certificate added (an approved agency's goes through a change request).
    today = timezone.localdate()
    change = change_request_submit(
        actor=agency.admin_user,
        agency=agency,
        kind="qualification",
        payload={
            "qualification_type": "surveying",
            "level": "乙级",
            "certificate_number": "CH-SEARCH-1",
            "issuing_authority": "云南省自然资源厅",
            "valid_from": (today - datetime.timedelta(days=10)).isoformat(),
            "valid_until": (today + datetime.timedelta(days=700)).isoformat(),
        },
        attachment=licence(),
    )
    assert found(backend, "编辑测试", qualification="surveying") == set()
    change_request_approve(actor=reviewer(), change_request=change)
    outbox.sweep()
    assert found(backend, "编辑测试", qualification="surveying") == {"滇中编辑测试咨询有限公司"}
    assert "测绘资质 乙级" in card()["qualifications"]

    # The name.
    change = change_request_submit(
        actor=agency.admin_user,
        agency=agency,
        kind="name",
        payload={"name": "滇中改名测试咨询有限公司"},
        attachment=licence(),
    )
    change_request_approve(actor=reviewer(), change_request=change)
    outbox.sweep()
    assert found(backend, "改名测试") == {"滇中改名测试咨询有限公司"}
    assert found(backend, "编辑测试") == {"滇中改名测试咨询有限公司"}  # the former name
    assert card()["name"] == "滇中改名测试咨询有限公司"


def test_changes_in_one_transaction_queue_one_message_per_backend(es_backend, items):
    agency = make_agency("合并测试咨询有限公司", items=[items["eia"]])
    outbox.sweep()  # what creating it queued is delivered
    before = set(sync_messages().values_list("pk", flat=True))
    with transaction.atomic():
        agency.organisation.name = "合并测试改名咨询有限公司"
        agency.organisation.save()
        agency.contact_name = "王五"
        agency.save()
        CertificateFactory(agency=agency)
        mark_dirty("agency", [agency.pk, str(agency.pk)])
    new = sync_messages().exclude(pk__in=before)
    assert [(m.payload["backend"], m.payload["kind"], m.payload["ids"]) for m in new] == [
        ("elasticsearch", "agency", [pk(agency)]),
        ("database", "agency", [pk(agency)]),
    ]
    # Another kind, or another object, is queued on its own.
    mark_dirty("service_item", [agency.pk])
    mark_dirty("agency", [agency.pk, 0])
    newer = sync_messages().exclude(pk__in=before).exclude(pk__in=[m.pk for m in new])
    assert sorted((m.payload["kind"], tuple(m.payload["ids"])) for m in newer) == [
        ("agency", ("0",)),
        ("agency", ("0",)),
        ("service_item", (pk(agency),)),
        ("service_item", (pk(agency),)),
    ]
    outbox.sweep()
    assert found(es_backend, "测试改名") == {"合并测试改名咨询有限公司"}


def test_a_rolled_back_savepoint_does_not_swallow_a_later_mark(es_backend, items):
    agency = make_agency("回滚测试咨询有限公司", items=[items["eia"]])
    outbox.sweep()
    count = sync_messages(agency).count()

    with pytest.raises(RuntimeError), transaction.atomic():
        agency.organisation.name = "回滚测试不算数咨询有限公司"
        agency.organisation.save()
        assert sync_messages(agency).count() == count + 2
        raise RuntimeError("rolled back")
    assert sync_messages(agency).count() == count  # the messages went with the savepoint

    agency.organisation.refresh_from_db()
    agency.contact_name = "赵六"
    agency.save()  # a later change: queued again
    assert sync_messages(agency).count() == count + 2

    # Marked in an outer block, then again in a savepoint rolled back: the outer mark (and
    # its messages) stand, and nothing more is queued.
    with transaction.atomic():
        mark_dirty("agency", [agency.pk])
        with pytest.raises(RuntimeError), transaction.atomic():
            mark_dirty("agency", [agency.pk])
            raise RuntimeError("inner")
        mark_dirty("agency", [agency.pk])
    assert sync_messages(agency).count() == count + 2
    outbox.sweep()
    assert found(es_backend, "回滚测试") == {"回滚测试咨询有限公司"}


def test_writes_never_fail_when_elasticsearch_is_down(settings, items, dead_url):
    from search.api import search
    from tests.search.conftest import configure_search

    configure_search(settings, backend="elasticsearch", url=dead_url, TIMEOUT=1)
    name = "宕机测试环境咨询有限公司"
    agency = make_agency(
        name, items=[items["eia"]], certs=[("eia-unit", "")], status=EnrolmentStatus.SUBMITTED
    )
    outbox.sweep()
    enrolment_approve(actor=reviewer(), agency=agency)
    agency.refresh_from_db()
    assert agency.status == EnrolmentStatus.APPROVED

    outbox.sweep()
    to_elasticsearch = list(sync_messages(agency).filter(payload__backend="elasticsearch"))
    to_database = list(sync_messages(agency).filter(payload__backend="database"))
    assert to_elasticsearch and to_database
    for message in to_elasticsearch:  # kept, to be retried later (with a backoff)
        assert message.status == OutboxStatus.PENDING and message.attempts == 1
        assert message.last_error.startswith("SearchUnavailable")
        assert message.next_attempt_at > timezone.now()
    assert {m.status for m in to_database} == {OutboxStatus.DELIVERED}
    assert found(database_backend(), "宕机测试") == {name}
    result = search("agency", {"q": "宕机测试"})
    assert result.backend == "database" and result.notice
    assert names(result) == [name]


# --- reconcile --------------------------------------------------------------------------------


def test_reconcile_reports_and_repairs_drift(backend, items):
    made = [make_agency(f"对账测试{n}咨询有限公司", items=[items["eia"]]) for n in range(4)]
    build_index(backend, "agency")
    gone, changed = made[0], made[1]
    backend.delete(AGENCY, [pk(gone)])
    doc = AGENCY.documents([pk(changed)])[pk(changed)]
    doc.title = doc.data["name"] = "被篡改咨询有限公司"
    backend.upsert(AGENCY, [doc])
    backend.upsert(
        AGENCY,
        [IndexDoc(id="99999999", title="幽灵咨询有限公司", data={"name": "幽灵咨询有限公司"})],
    )
    assert len(found(backend, "对账测试")) == 2
    assert found(backend, "被篡改") == {"被篡改咨询有限公司"}
    assert found(backend, "幽灵") == {"幽灵咨询有限公司"}

    report = reconcile(AGENCY, backend, batch_size=3)
    assert (report.kind, report.backend, report.checked) == ("agency", backend.name, 4)
    assert (report.missing, report.stale, report.extra) == ([pk(gone)], [pk(changed)], ["99999999"])
    assert report.repaired == 3
    assert report.as_dict()["missing"] == 1
    assert found(backend, "对账测试") == {a.organisation.name for a in made}
    assert found(backend, "被篡改") == set()
    assert found(backend, "幽灵") == set()

    again = reconcile(AGENCY, backend)
    assert (again.checked, again.repaired) == (4, 0)


# --- rebuilding Elasticsearch -----------------------------------------------------------------


def test_reindex_swaps_the_alias_to_a_new_version(es_backend, items, settings):
    for n in range(3):
        make_agency(f"版本测试{n}咨询有限公司", items=[items["eia"]])
    first = reindex(AGENCY, es_backend)
    alias = es_backend.alias(AGENCY)
    assert first.index.startswith(alias + "-") and first.documents == first.written == 3
    assert es_backend.versions(AGENCY) == [first.index]
    assert es_backend.live_index(AGENCY) == first.index

    second = reindex(AGENCY, es_backend)
    assert second.index > first.index
    assert es_backend.live_index(AGENCY) == second.index
    assert es_backend.versions(AGENCY) == [second.index]  # the old version is deleted
    assert second.removed_indexes == [first.index]
    assert len(found(es_backend, "版本测试")) == 3

    settings.SEARCH = {**settings.SEARCH, "KEEP_INDEXES": 1}
    third = reindex(AGENCY, es_backend)
    assert es_backend.versions(AGENCY) == [second.index, third.index]  # one kept for rollback
    assert third.removed_indexes == []
    assert es_backend.live_index(AGENCY) == third.index
    assert len(found(es_backend, "版本测试")) == 3


def test_search_answers_from_the_old_version_during_a_rebuild(es_backend, items):
    old = {make_agency(f"重建测试{n}咨询有限公司").organisation.name for n in range(5)}
    reindex(AGENCY, es_backend)
    newcomer = make_agency("重建测试新来咨询有限公司")  # in the database, not yet indexed
    seen = []

    def progress(handled: int) -> None:
        seen.append((handled, found(es_backend, "重建测试")))

    report = reindex(AGENCY, es_backend, batch_size=2, progress=progress)
    assert report.documents == 6
    assert seen == [(2, old), (2, old), (2, old)]  # three batches, the old version answering
    assert found(es_backend, "重建测试") == old | {newcomer.organisation.name}


def test_a_change_during_a_rebuild_is_caught_up(es_backend, items):
    made = [make_agency(f"追赶测试{n}咨询有限公司", items=[items["eia"]]) for n in range(5)]
    first = made[0]  # the lowest id: loaded with the first batch
    change = change_request_submit(
        actor=first.admin_user,
        agency=first,
        kind="name",
        payload={"name": "追赶测试改名咨询有限公司"},
        attachment=licence(),
    )
    regulator = reviewer()
    reindex(AGENCY, es_backend)
    outbox.sweep()
    calls = []

    def progress(handled: int) -> None:
        if not calls:  # after the first batch: the change commits while the rest loads
            with transaction.atomic():
                change_request_approve(actor=regulator, change_request=change)
            assert sync_messages(first).filter(status=OutboxStatus.PENDING).exists()
        calls.append(handled)

    reindex(AGENCY, es_backend, batch_size=2, progress=progress)
    assert len(calls) == 3
    # The first batch was read before the change; the catch-up synced it into the new index.
    assert found(es_backend, "改名") == {"追赶测试改名咨询有限公司"}
    assert found(es_backend, "追赶测试0") == {"追赶测试改名咨询有限公司"}  # the former name
