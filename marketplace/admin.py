from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from marketplace.models import (
    AuditEvent,
    JobState,
    Membership,
    Notification,
    Organisation,
    OutboxMessage,
    Region,
    User,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records changed only through services (audited) or never (the audit trail): support
    staff look them up here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "display_name", "phone", "is_staff", "is_active")
    search_fields = ("email", "display_name", "phone")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("display_name", "phone")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    fk_name = "organisation"


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "uscc", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "uscc")
    list_select_related = ("region",)
    autocomplete_fields = ("region", "scope_region")
    filter_horizontal = ("scope_industries",)
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "role", "is_active", "created_at")
    list_filter = ("role", "is_active", "organisation__kind")
    search_fields = ("user__email", "user__display_name", "organisation__name")
    list_select_related = ("user", "organisation")
    autocomplete_fields = ("user", "organisation")


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "kind", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    raw_id_fields = ("parent",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the trail has no add, change or delete path, here or anywhere."""

    list_display = (
        "created_at",
        "actor",
        "organisation",
        "object_repr",
        "action",
        "from_state",
        "to_state",
        "request_id",
        "ip",
    )
    list_filter = ("action", "content_type")
    search_fields = ("object_repr", "object_id", "request_id", "reason")
    list_select_related = ("actor", "organisation", "content_type")
    date_hierarchy = "created_at"
    actions = None


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "topic", "status", "attempts", "next_attempt_at", "created_at")
    list_filter = ("status", "topic")
    search_fields = ("dedupe_key", "last_error")
    readonly_fields = tuple(f.name for f in OutboxMessage._meta.fields)

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "recipient", "verb", "read_at", "created_at")
    list_select_related = ("recipient",)
    search_fields = ("title", "recipient__email")
    raw_id_fields = ("recipient", "organisation")


@admin.register(JobState)
class JobStateAdmin(admin.ModelAdmin):
    list_display = ("name", "last_run_at", "last_success_at", "run_count", "failure_count")
    readonly_fields = tuple(f.name for f in JobState._meta.fields)

    def has_add_permission(self, request):
        return False
