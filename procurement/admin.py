"""Read-only admin for support staff: procurement changes only through procurement.services
(audited transitions, the announcement lock); the admin is for looking things up."""

from django.contrib import admin

from marketplace.admin import ReadOnlyAdmin
from procurement.models import Announcement, Contract, Draw, Objection, Owner, Project, Registration


@admin.register(Owner)
class OwnerAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "legal_representative", "created_at")
    search_fields = ("organisation__name", "organisation__uscc")
    list_select_related = ("organisation",)


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ("name", "code", "owner", "region", "total_investment")
    search_fields = ("name", "code")
    list_select_related = ("owner__organisation", "region")


@admin.register(Announcement)
class AnnouncementAdmin(ReadOnlyAdmin):
    list_display = ("code", "title", "method", "status", "registration_deadline")
    list_filter = ("status", "method", "region_scope")
    search_fields = ("code", "title", "project__name")
    exclude = ("secret",)  # revealed only by the draw, never to support staff before it


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ("announcement", "agency", "status", "position")
    list_filter = ("status",)
    search_fields = ("announcement__code", "agency__organisation__name")
    list_select_related = ("announcement", "agency__organisation")


@admin.register(Draw)
class DrawAdmin(ReadOnlyAdmin):
    list_display = ("announcement", "pool_size", "created_at")


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ("announcement", "registration", "status", "created_at")
    list_filter = ("status",)


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ("owner", "agency", "announcement", "status", "created_at")
    list_select_related = ("owner__organisation", "agency__organisation", "announcement")
