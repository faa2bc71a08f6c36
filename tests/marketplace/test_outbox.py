import logging
import threading
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from marketplace import outbox
from marketplace.celery import app as celery_app
from marketplace.models import Notification, OutboxMessage, OutboxStatus
from marketplace.notifications import deliver_notification, notify

from .factories import UserFactory

pytestmark = pytest.mark.django_db

calls: list[int] = []


@outbox.handler("test.ok")
def _ok(payload, *, message):
    calls.append(message.pk)


@outbox.handler("test.fail")
def _fail(payload, *, message):
    # Its write must be rolled back with the failed attempt.
    UserFactory(email=f"side-effect-{message.pk}-{message.attempts}@test.example.com")
    raise ConnectionError("downstream is down")


_gate = threading.Event()
_entered = threading.Event()


@outbox.handler("test.slow")
def _slow(payload, *, message):
    calls.append(message.pk)
    _entered.set()
    assert _gate.wait(10), "test gate never opened"


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.enqueue("test.ok", {"n": 1})
        raise RuntimeError("business change failed")
    assert not OutboxMessage.objects.exists()
    assert callbacks == []  # and no delivery kick


def test_commit_kicks_a_celery_task_on_the_broker(django_capture_on_commit_callbacks):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    before = broker.llen("celery")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = outbox.enqueue("test.ok", {"n": 1})
    assert len(callbacks) == 1
    assert broker.llen("celery") == before + 1
    assert message.status == OutboxStatus.PENDING  # a worker delivers it, not the request
    broker.lpop("celery")  # kombu LPUSHes: ours is the newest, at the left end


def test_deliver_marks_delivered_once():
    message = outbox.enqueue("test.ok", {"n": 1})
    assert outbox.deliver(message.pk)
    assert not outbox.deliver(message.pk)  # redelivery of a delivered message is a no-op
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED and message.attempts == 1
    assert calls == [message.pk]


def test_dedupe_key_returns_the_same_message():
    first = outbox.enqueue("test.ok", {"n": 1}, dedupe_key="k1")
    second = outbox.enqueue("test.ok", {"n": 2}, dedupe_key="k1")
    assert first.pk == second.pk and OutboxMessage.objects.count() == 1


def test_failing_handler_backs_off_and_eventually_dies(caplog):
    message = outbox.enqueue("test.fail", {})
    now = timezone.now()
    previous_delay = timedelta(0)
    for attempt in range(1, outbox.MAX_ATTEMPTS):
        assert not outbox.deliver(message.pk, now=now)
        message.refresh_from_db()
        assert message.attempts == attempt and message.status == OutboxStatus.PENDING
        assert "ConnectionError: downstream is down" in message.last_error
        delay = message.next_attempt_at - now
        base = min(3600, 30 * 2 ** (attempt - 1))
        assert timedelta(seconds=base / 2) <= delay <= timedelta(seconds=base)
        assert delay >= previous_delay / 2
        previous_delay = delay
        # Not due yet: nothing happens until the backoff has passed.
        assert not outbox.deliver(message.pk, now=now + delay - timedelta(seconds=1))
        message.refresh_from_db()
        assert message.attempts == attempt
        now = message.next_attempt_at
    with caplog.at_level(logging.ERROR, logger="marketplace.outbox"):
        assert not outbox.deliver(message.pk, now=now)
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD and message.attempts == outbox.MAX_ATTEMPTS
    assert any("DEAD" in r.getMessage() for r in caplog.records)
    # The handler's own writes were rolled back every time.
    from marketplace.models import User

    assert not User.objects.filter(email__startswith="side-effect-").exists()
    # A dead message is never picked up again.
    assert outbox.sweep(now=now + timedelta(days=1)) == 0


def test_backoff_is_capped_at_an_hour():
    assert outbox.backoff(30) <= timedelta(hours=1)
    assert outbox.backoff(30) >= timedelta(minutes=30)


def test_unknown_topic_is_a_failure_not_a_crash():
    message = outbox.enqueue("test.nobody-listens", {})
    assert not outbox.deliver(message.pk)
    message.refresh_from_db()
    assert "no outbox handler" in message.last_error and message.attempts == 1


@pytest.fixture
def broker_down():
    """Points Celery at a closed port, dropping its cached connection pools."""
    original = celery_app.conf.broker_url

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    reset_pools()
    yield
    celery_app.conf.broker_url = original
    reset_pools()


def test_sweep_delivers_when_the_kick_failed(
    broker_down, django_capture_on_commit_callbacks, caplog
):
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="marketplace.outbox"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = outbox.enqueue("test.ok", {"n": 1})  # must not raise
    # ... nor hold the committing request for seconds of connection retries.
    assert time.monotonic() - started < 2
    assert any("could not kick" in r.getMessage() for r in caplog.records)
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING and calls == []
    assert outbox.sweep() == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED and calls == [message.pk]


def test_sweep_skips_messages_not_due():
    later = outbox.enqueue("test.ok", {})
    OutboxMessage.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    due = outbox.enqueue("test.ok", {})
    assert outbox.sweep() == 1
    assert calls == [due.pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_deliveries_run_the_handler_once():
    message = outbox.enqueue("test.slow", {})
    _gate.clear()
    _entered.clear()
    results = {}

    def first():
        try:
            results["first"] = outbox.deliver(message.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert _entered.wait(10)
        # The first delivery holds the row lock; this one skips it instead of waiting.
        results["second"] = outbox.deliver(message.pk)
    finally:
        _gate.set()
        worker.join(10)
    assert results == {"first": True, "second": False}
    assert calls == [message.pk]
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED and message.attempts == 1


def test_notify_goes_through_the_outbox_and_is_idempotent():
    user = UserFactory(email="someone@test.example.com")
    message = notify(recipient=user, title="报名已截止", body="请查看", url="/p/1", email=True)
    assert not Notification.objects.exists()  # nothing until delivered
    assert outbox.deliver(message.pk)
    notification = Notification.objects.get(recipient=user)
    assert (notification.title, notification.url) == ("报名已截止", "/p/1")
    # Delivering the same message again (a crash before commit) does not duplicate anything.
    deliver_notification(message.payload, message=message)
    assert Notification.objects.count() == 1
    assert OutboxMessage.objects.filter(topic="email.send").count() == 1
    assert outbox.sweep() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["someone@test.example.com"]
    assert mail.outbox[0].subject == "报名已截止" and "/p/1" in mail.outbox[0].body


def test_notification_mark_read():
    from django.core.exceptions import PermissionDenied

    from marketplace.notifications import notification_mark_read

    user = UserFactory()
    notification = Notification.objects.create(recipient=user, title="t")
    with pytest.raises(PermissionDenied):
        notification_mark_read(notification=notification, user=UserFactory())
    assert notification_mark_read(notification=notification, user=user).read_at is not None
