"""Which changes make which documents dirty. The search app listens; the apps it indexes know
nothing of it. Each receiver runs inside the business transaction and only queues a sync
(search.indexing.mark_dirty): nothing here talks to a search backend."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django_fsm.signals import post_transition

from search.indexing import mark_dirty


def _agency_changed(sender, instance, **kwargs):
    mark_dirty("agency", [instance.pk])


def _agency_part_changed(sender, instance, **kwargs):
    mark_dirty("agency", [instance.agency_id])


def _organisation_changed(sender, instance, **kwargs):
    from agencies.models import Agency
    from procurement.models import Announcement

    if instance.kind == "agency" and instance.pk:
        mark_dirty(
            "agency",
            Agency.objects.filter(organisation_id=instance.pk).values_list("pk", flat=True),
        )
    elif instance.kind == "owner" and instance.pk:
        # An owner unit renamed: its announcements show (and match on) its name.
        mark_dirty(
            "announcement",
            Announcement.objects.filter(project__owner__organisation_id=instance.pk)
            .exclude(status="draft")
            .values_list("pk", flat=True),
        )


def _transition(sender, instance, **kwargs):
    from agencies.models import Agency

    if isinstance(instance, Agency):
        mark_dirty("agency", [instance.pk])
    elif hasattr(instance, "agency_id") and sender.__module__.startswith("agencies."):
        mark_dirty("agency", [instance.agency_id])


def _announcement_changed(sender, instance, **kwargs):
    """An announcement saved or moved to another state (the FSM's post_transition fires before
    the save, both inside the service's transaction). A draft is never in the index, and a
    save of one (created, edited) has nothing to sync."""
    if instance.pk and instance.status != "draft":
        mark_dirty("announcement", [instance.pk])


def _project_changed(sender, instance, **kwargs):
    """A project renamed or moved: its announcements show its name and location."""
    from procurement.models import Announcement

    if instance.pk:
        mark_dirty(
            "announcement",
            Announcement.objects.filter(project_id=instance.pk)
            .exclude(status="draft")
            .values_list("pk", flat=True),
        )


def _item_changed(sender, instance, **kwargs):
    """An item's page published, unpublished or deleted: its own document, and the documents
    of the agencies declaring it and of its announcements (they show its title and match on
    it)."""
    from agencies.models import AgencyServiceItem
    from cms.models import ServiceItemPage
    from procurement.models import Announcement

    page = instance.specific if hasattr(instance, "specific_class") else instance
    if not isinstance(page, ServiceItemPage):
        return
    mark_dirty("service_item", [page.pk])
    mark_dirty(
        "agency",
        AgencyServiceItem.objects.filter(service_item_id=page.pk).values_list(
            "agency_id", flat=True
        ),
    )
    mark_dirty(
        "announcement",
        Announcement.objects.filter(service_item_id=page.pk)
        .exclude(status="draft")
        .values_list("pk", flat=True),
    )


def connect() -> None:
    from wagtail.signals import page_published, page_unpublished

    from agencies.models import (
        Agency,
        AgencyServiceItem,
        Offering,
        QualificationCertificate,
    )
    from cms.models import ServiceItemPage
    from marketplace.models import Organisation
    from procurement.models import Announcement, Project

    post_transition.connect(_transition, dispatch_uid="mp_search_transition")
    post_transition.connect(
        _announcement_changed, sender=Announcement, dispatch_uid="mp_search_announcement_fsm"
    )
    post_save.connect(
        _announcement_changed, sender=Announcement, dispatch_uid="mp_search_announcement_save"
    )
    post_save.connect(_project_changed, sender=Project, dispatch_uid="mp_search_project")
    for model, receiver in (
        (Agency, _agency_changed),
        (QualificationCertificate, _agency_part_changed),
        (AgencyServiceItem, _agency_part_changed),
        (Offering, _agency_part_changed),
    ):
        post_save.connect(receiver, sender=model, dispatch_uid=f"mp_search_save_{model.__name__}")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"mp_search_del_{model.__name__}")
    post_save.connect(_organisation_changed, sender=Organisation, dispatch_uid="mp_search_org")
    page_published.connect(_item_changed, dispatch_uid="mp_search_published")
    page_unpublished.connect(_item_changed, dispatch_uid="mp_search_unpublished")
    post_delete.connect(_item_changed, sender=ServiceItemPage, dispatch_uid="mp_search_item_del")
