"""Read-mostly admin for support staff. States are read-only here: they change only through
agencies.services (audited transitions)."""

from django.contrib import admin

from agencies.models import (
    Agency,
    ChangeRequest,
    EnrolmentReview,
    Practitioner,
    QualificationCertificate,
)


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("organisation", "status", "submitted_at", "approved_at")
    list_filter = ("status", "service_scope")
    search_fields = ("organisation__name", "organisation__uscc")
    list_select_related = ("organisation",)
    readonly_fields = ("status", "submitted_at", "approved_at", "partner", "organisation")


@admin.register(QualificationCertificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = (
        "certificate_number",
        "qualification_type",
        "level",
        "agency",
        "valid_until",
        "status",
    )
    list_filter = ("status", "qualification_type")
    search_fields = ("certificate_number", "agency__organisation__name")
    list_select_related = ("qualification_type", "agency__organisation")
    readonly_fields = ("status",)


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ("name", "masked_id_number", "agency")
    search_fields = ("name", "agency__organisation__name")
    list_select_related = ("agency__organisation",)
    exclude = ("id_number",)  # personal data: never shown in full


@admin.register(EnrolmentReview)
class EnrolmentReviewAdmin(admin.ModelAdmin):
    list_display = ("agency", "decision", "reviewer", "regulator", "created_at")
    list_filter = ("decision",)
    list_select_related = ("agency__organisation", "reviewer", "regulator")


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = ("agency", "kind", "status", "created_at", "decided_at")
    list_filter = ("status", "kind")
    list_select_related = ("agency__organisation",)
    readonly_fields = ("status",)
