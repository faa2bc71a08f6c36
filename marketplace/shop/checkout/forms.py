"""The purchase details form (采购信息): which of the owner's projects the service is for, and
the scope of service. It takes the place of Oscar's payment details: nothing is paid at
checkout (milestones are paid on acceptance). Oscar's own checkout forms are still loaded
from Oscar (``get_class`` falls back to them)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from procurement.models import Project

SCOPE_MAX_LENGTH = 4000


class PurchaseForm(forms.Form):
    project = forms.ModelChoiceField(
        label=_("Project"),
        queryset=Project.objects.none(),
        empty_label=None,
        help_text=_("The project of your unit the service is bought for."),
    )
    scope = forms.CharField(
        label=_("Scope of service"),
        max_length=SCOPE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What the agency is to deliver; it becomes the contract's scope."),
    )

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["project"]
        field.queryset = (
            Project.objects.filter(owner__in=owners)
            .select_related("owner__organisation", "region")
            .order_by("owner__organisation__name", "-created_at", "-pk")
        )
        if len(owners) > 1:
            field.label_from_instance = lambda p: f"{p.owner.name} · {p.name}"
