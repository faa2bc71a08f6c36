import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, models, transaction
from django.test import RequestFactory
from django.test.utils import isolate_apps
from django_fsm import FSMField, transition

from marketplace import audit
from marketplace.middleware import RequestContextMiddleware
from marketplace.models import AppendOnlyError, AuditEvent

from .factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_content_types():
    # Door's content type row is created inside each test's rolled-back transaction, so the
    # process-wide ContentType cache must not carry its id into the next test.
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


@pytest.fixture
def Door():
    """A table-less state machine: the receiver needs only the instance and its pk. Defined in
    an isolated app registry so that makemigrations never sees it."""
    with isolate_apps("marketplace"):

        class Door(models.Model):
            state = FSMField(default="closed", protected=True)
            organisation = None

            class Meta:
                app_label = "marketplace"
                managed = False

            def __str__(self):
                return f"door {self.pk}"

            def get_audit_organisation(self):
                return self.organisation

            @transition(field=state, source="closed", target="open")
            def open(self, *, by=None, reason="", data=None):
                pass

            @transition(field=state, source="open", target="closed", on_error="jammed")
            def close(self, *, by=None, reason="", data=None):
                raise RuntimeError("stuck")

        yield Door


def test_record_fills_everything():
    org = OrganisationFactory()
    user = UserFactory()
    event = audit.record(
        actor=user,
        action="approve",
        obj=org,
        from_state="submitted",
        to_state="approved",
        reason="材料齐全",
        data={"amount": __import__("decimal").Decimal("12.50")},
    )
    event.refresh_from_db()
    assert event.actor == user and event.organisation == org
    assert event.object_id == str(org.pk) and event.object_repr == org.name
    assert (event.from_state, event.to_state, event.reason) == ("submitted", "approved", "材料齐全")
    assert event.data == {"amount": "12.50"}  # DjangoJSONEncoder
    assert event.request_id == "" and event.ip is None


def test_record_takes_request_id_and_ip_from_the_request():
    org = OrganisationFactory()

    def view(request):
        from django.http import HttpResponse

        audit.record(actor=request.user, action="view", obj=org)
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_REQUEST_ID="req-12345678")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    RequestContextMiddleware(view)(request)
    event = AuditEvent.objects.get(action="view")
    assert (event.request_id, event.ip, event.actor) == ("req-12345678", "203.0.113.9", None)


def test_orm_cannot_change_or_delete():
    event = audit.record(actor=None, action="x")
    event.reason = "edited"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


def test_actor_with_a_trail_cannot_be_deleted():
    user = UserFactory()
    audit.record(actor=user, action="x")
    with pytest.raises(models.ProtectedError):
        user.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger is PostgreSQL-only")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE marketplace_auditevent SET reason = 'edited' WHERE id = %s",
        "DELETE FROM marketplace_auditevent WHERE id = %s",
    ],
)
def test_database_trigger_rejects_raw_update_and_delete(sql):
    event = audit.record(actor=None, action="x")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk, reason="").exists()


def test_admin_is_read_only(rf):
    model_admin = admin.site._registry[AuditEvent]
    request = rf.get("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_each_fsm_transition_writes_exactly_one_event(Door):
    user = UserFactory()
    door = Door(pk=42)
    door.organisation = OrganisationFactory()
    door.open(by=user, reason="送货", data={"gate": 3})
    events = list(AuditEvent.objects.all())
    assert len(events) == 1
    event = events[0]
    assert event.action == "open" and (event.from_state, event.to_state) == ("closed", "open")
    assert (
        event.actor == user and event.reason == "送货" and event.organisation == door.organisation
    )
    assert event.data == {"transition": "open", "gate": 3}
    assert event.object_id == "42" and event.content_type.model == "door"


def test_failed_transition_into_error_state_is_recorded(Door):
    door = Door(pk=7)
    door.open()
    with pytest.raises(RuntimeError):
        door.close(reason="try")
    last = AuditEvent.objects.order_by("-id").first()
    assert (last.from_state, last.to_state, last.actor) == ("open", "jammed", None)
    assert last.data["exception"] == "RuntimeError: stuck"
    assert AuditEvent.objects.count() == 2
