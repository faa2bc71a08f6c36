"""marketplace.bulk.bulk_update: per-row values written in one statement per batch, adapted
as save() would (JSON, datetimes, NULLs, foreign keys), and only the rows given."""

import datetime

import pytest
from django.utils import timezone

from marketplace import bulk
from marketplace.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values(django_assert_num_queries):
    messages = [OutboxMessage.objects.create(topic="t", payload={"n": n}) for n in range(5)]
    untouched = OutboxMessage.objects.create(topic="t", payload={"n": 99})
    when = timezone.now() + datetime.timedelta(hours=1)
    for n, message in enumerate(messages):
        message.payload = {"n": n * 10, "名称": "中文", "nested": [n, None]}
        message.status = "delivered" if n % 2 else "dead"
        message.next_attempt_at = when + datetime.timedelta(minutes=n)
        message.delivered_at = None if n % 2 == 0 else when
    # Two batches of 3 and 2 rows: one UPDATE each.
    with django_assert_num_queries(2):
        assert (
            bulk.bulk_update(
                messages, ["payload", "status", "next_attempt_at", "delivered_at"], batch_size=3
            )
            == 5
        )
    for n, message in enumerate(messages):
        message.refresh_from_db()
        assert message.payload == {"n": n * 10, "名称": "中文", "nested": [n, None]}
        assert message.status == ("delivered" if n % 2 else "dead")
        assert message.next_attempt_at == when + datetime.timedelta(minutes=n)
        assert message.delivered_at == (None if n % 2 == 0 else when)
    untouched.refresh_from_db()
    assert untouched.payload == {"n": 99} and untouched.status == "pending"


def test_nothing_to_update_costs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk.bulk_update([], ["status"]) == 0
