"""Races (issue 5): two workers closing one announcement produce one draw; a registration
racing the deadline is either in the frozen pool or refused. Real concurrent transactions on
PostgreSQL: threads with their own connections, released together by a barrier."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from marketplace.models import AuditEvent
from procurement import services
from procurement.models import AnnouncementStatus, Draw, Registration, RegistrationStatus
from tests.procurement.factories import (
    make_announcement,
    make_eligible_agency,
    make_world,
    pass_deadline,
    register_all,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def run_together(functions) -> list:
    """Runs each function in its own thread (own database connection), all released at once;
    returns their results or exceptions in order."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def worker(index, fn):
        try:
            barrier.wait()
            results[index] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_concurrent_closers_produce_exactly_one_draw():
    world = make_world()
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    now = pass_deadline(announcement)

    def close_and_draw():
        closed = services.close_registration(announcement.pk, now=now)
        selected = services.run_selection(announcement.pk, now=now)
        return closed, selected

    results = run_together([close_and_draw] * 8)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert [r[0] for r in results].count("closed") == 1
    assert [r[1] for r in results].count("selected") == 1
    assert Draw.objects.filter(announcement=announcement).count() == 1
    from django.contrib.contenttypes.models import ContentType

    of_announcement = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(announcement),
        object_id=str(announcement.pk),
    )
    assert of_announcement.filter(action="close_registration").count() == 1
    assert of_announcement.filter(action="select").count() == 1
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SELECTED


def test_a_registration_racing_the_close_is_in_the_pool_or_refused():
    world = make_world(agencies=3)
    announcement = make_announcement(world)
    register_all(announcement, world.agencies)
    late = [make_eligible_agency(world.item) for _ in range(6)]
    now = pass_deadline(announcement)

    def register(agency):
        return lambda: services.registration_submit(
            actor=agency.admin_user, announcement=announcement, agency=agency
        )

    def close():
        return services.close_registration(announcement.pk, now=now)

    results = run_together([close] + [register(a) for a in late])
    assert results[0] == "closed"
    for agency, result in zip(late, results[1:], strict=True):
        if isinstance(result, Exception):
            assert isinstance(result, ValidationError), result
            [error] = result.error_dict["__all__"]
            assert error.code == "closed", error
            assert not Registration.objects.filter(agency=agency).exists()
        else:
            assert isinstance(result, Registration)
    # Nothing registered is left outside the frozen pool.
    assert not Registration.objects.filter(status=RegistrationStatus.SUBMITTED).exists()
    announcement.refresh_from_db()
    pool = set(
        Registration.objects.filter(
            announcement=announcement, status=RegistrationStatus.ELIGIBLE
        ).values_list("agency_id", flat=True)
    )
    assert pool == set(Registration.objects.values_list("agency_id", flat=True))
    services.run_selection(announcement.pk, now=now)
    record = Draw.objects.get(announcement=announcement).record
    assert {p["id"] for p in record["pool"]} == pool
