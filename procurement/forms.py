"""Forms of the procurement pages. They parse and check the shape of the input only; the rules
(deadlines in working days, the fee ceiling, the direct-selection limit, eligibility …) live in
``procurement.services``, whose ``ValidationError`` is put beside the fields by
``agencies.forms.apply_errors``."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from agencies.forms import RegionChoiceField, StyledFormMixin
from agencies.models import Agency, EnrolmentStatus
from procurement.models import RegionScope, SelectionMethod
from procurement.services import ANNOUNCEMENT_FIELDS

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
CREDIT_CHOICES = [
    ("", _("no minimum")),
    ("A", "A"),
    ("B", _("B or better")),
    ("C", _("C or better")),
    ("D", _("D or better")),
]


class AgencyUSCCField(forms.CharField):
    """An agency given by its unified social credit code (a datalist offers approved agencies;
    typing "USCC name" works too). Cleans to the ``Agency``; ``approved_only`` refuses others."""

    def __init__(self, *, approved_only: bool = False, datalist: str = "", **kwargs):
        self.approved_only = approved_only
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)
        attrs = {"autocomplete": "off", "spellcheck": "false"}
        if datalist:
            attrs["list"] = datalist
        self.widget.attrs.update(attrs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        uscc = value.split()[0].upper()
        agency = (
            Agency.objects.select_related("organisation").filter(organisation__uscc=uscc).first()
        )
        if agency is None:
            raise ValidationError(
                _("No agency has the unified social credit code %(uscc)s.") % {"uscc": uscc},
                code="unknown",
            )
        if self.approved_only and agency.status != EnrolmentStatus.APPROVED:
            raise ValidationError(
                _("%(name)s is not an approved agency.") % {"name": agency.name},
                code="not_approved",
            )
        return agency


# --- owners ----------------------------------------------------------------------------------


class OwnerSignupForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("Name of the owner unit"), max_length=200)
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        help_text=_("18 characters, as on the business licence or the unit's certificate."),
    )
    region = RegionChoiceField(label=_("Region"))
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=64)
    contact_name = forms.CharField(label=_("Contact person"), max_length=64)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32)


class ProjectForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("Project name"), max_length=200)
    code = forms.CharField(
        label=_("Investment project code"),
        max_length=24,
        required=False,
        help_text=_("投资项目统一代码, e.g. 2026-530102-48-01-000123, where the project has one."),
    )
    region = RegionChoiceField(label=_("Location"))
    total_investment = forms.CharField(
        label=_("Total investment (yuan)"),
        max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)

    @staticmethod
    def initial_for(project) -> dict:
        return {
            "name": project.name,
            "code": project.code,
            "region": project.region_id,
            "total_investment": project.total_investment,
            "description": project.description,
        }


class AnnouncementForm(StyledFormMixin, forms.Form):
    """The terms of an announcement. With ``items`` (a queryset of live service items) it has
    the service item select (creation); without, the item is fixed (editing a draft).
    ``requirements`` ([(qualification type, minimum level)]) adds one level select per graded
    requirement, to raise it (提高资质等级)."""

    service_item = forms.ModelChoiceField(
        label=_("Service item"), queryset=None, empty_label=_("— choose a service item —")
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    scope = forms.CharField(label=_("Scope of service"), widget=forms.Textarea(attrs={"rows": 4}))
    budget_ceiling = forms.CharField(
        label=_("Budget ceiling (yuan)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("最高限价: checked against the item's fee rule at the fee base amount."),
    )
    deposit_amount = forms.CharField(
        label=_("Deposit (yuan)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_(
            "保证金 each registrant pays in, refunded within one working day of the result; "
            "empty or 0: none. At most 2 per cent of the ceiling."
        ),
    )
    fee_base_amount = forms.CharField(
        label=_("Fee base amount (yuan)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("The amount the fee is computed on; empty: the project's total investment."),
    )
    fee_category = forms.CharField(
        label=_("Fee category"),
        max_length=40,
        required=False,
        help_text=_("Empty: the item's default category."),
    )
    method = forms.ChoiceField(
        label=_("Selection method"), choices=SelectionMethod.choices, widget=forms.RadioSelect
    )
    min_credit_grade = forms.ChoiceField(
        label=_("Minimum credit grade"), choices=CREDIT_CHOICES, required=False
    )
    region_scope = forms.ChoiceField(
        label=_("Eligible regions"), choices=RegionScope.choices, widget=forms.RadioSelect
    )
    registration_deadline = forms.DateTimeField(
        label=_("Registration deadline"),
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    selected_count = forms.IntegerField(label=_("Agencies selected"), min_value=1, initial=1)
    alternate_count = forms.IntegerField(label=_("Alternates"), min_value=0, initial=2)
    service_time_limit_days = forms.IntegerField(
        label=_("Service time limit (working days)"),
        min_value=1,
        required=False,
        help_text=_("Empty: the catalog's time limit for the item."),
    )
    direct_agency = AgencyUSCCField(
        label=_("Directly selected agency"),
        required=False,
        approved_only=True,
        datalist="approved-agencies",
        help_text=_("Direct selection only: the unified social credit code of an approved agency."),
    )
    direct_reason = forms.CharField(
        label=_("Reason for direct selection"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    LEVEL_PREFIX = "level_"

    def __init__(self, *args, items=None, requirements=(), **kwargs):
        super().__init__(*args, **kwargs)
        if items is None:
            del self.fields["service_item"]
        else:
            self.fields["service_item"].queryset = items
            self.fields["service_item"].label_from_instance = lambda item: (
                f"{item.code} {item.title}"
            )
        self.level_fields = []
        for qtype, minimum in requirements:
            levels = list(qtype.levels or [])
            if not levels:
                continue
            name = f"{self.LEVEL_PREFIX}{qtype.pk}"
            allowed = [lv for lv in levels if not minimum or qtype.meets(lv, minimum)]
            self.fields[name] = forms.ChoiceField(
                label=_("Required level of %(type)s") % {"type": qtype.name},
                choices=([] if minimum else [("", _("any level"))]) + [(lv, lv) for lv in allowed],
                initial=minimum,
                required=False,
            )
            self.fields[name].widget.attrs["class"] = "form-control"
            self.level_fields.append(name)

    def level_bound_fields(self):
        return [self[name] for name in self.level_fields]

    def raised_levels(self) -> dict:
        return {
            int(name[len(self.LEVEL_PREFIX) :]): self.cleaned_data[name]
            for name in self.level_fields
            if self.cleaned_data.get(name)
        }

    def service_kwargs(self) -> dict:
        """The cleaned terms as keyword arguments of announcement_create/update."""
        data = self.cleaned_data
        values = {name: data.get(name) for name in ANNOUNCEMENT_FIELDS}
        values["min_credit_grade"] = values["min_credit_grade"] or ""
        values["fee_category"] = values["fee_category"] or ""
        values["direct_reason"] = values["direct_reason"] or ""
        if values["fee_base_amount"] in ("", None):
            values["fee_base_amount"] = None
        if values["method"] != SelectionMethod.DIRECT:
            values["direct_agency"] = None
            values["direct_reason"] = ""
        return values

    @classmethod
    def initial_for(cls, announcement) -> dict:
        initial = {
            "title": announcement.title,
            "scope": announcement.scope,
            "budget_ceiling": announcement.budget_ceiling,
            "deposit_amount": announcement.deposit_amount or "",
            "fee_base_amount": announcement.fee_base_amount,
            "fee_category": announcement.fee_category,
            "method": announcement.method,
            "min_credit_grade": announcement.min_credit_grade,
            "region_scope": announcement.region_scope,
            "registration_deadline": announcement.registration_deadline,
            "selected_count": announcement.selected_count,
            "alternate_count": announcement.alternate_count,
            "service_time_limit_days": announcement.service_time_limit_days,
            "direct_agency": announcement.direct_agency.uscc if announcement.direct_agency else "",
            "direct_reason": announcement.direct_reason,
        }
        for entry in announcement.requirements:
            if entry.get("minimum_level"):
                initial[f"{cls.LEVEL_PREFIX}{entry['qualification_type']}"] = entry["minimum_level"]
        return initial


class ExclusionForm(StyledFormMixin, forms.Form):
    prefix = "exclusion"

    agency = AgencyUSCCField(
        label=_("Agency"),
        datalist="approved-agencies",
        help_text=_("Its unified social credit code; the list offers approved agencies."),
    )
    reason = forms.CharField(label=_("Reason (回避)"), max_length=300)


class CancelForm(StyledFormMixin, forms.Form):
    prefix = "cancel"

    reason = forms.CharField(
        label=_("Reason for cancelling"), widget=forms.Textarea(attrs={"rows": 2})
    )


# --- agencies --------------------------------------------------------------------------------


class DeclineForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ObjectionForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Grounds of the objection"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What is wrong with the result, and the facts that show it."),
    )


# --- regulators ------------------------------------------------------------------------------


class ObjectionDecisionForm(StyledFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("dismiss", _("Dismiss: the result stands")),
            ("uphold", _("Uphold: annul the result")),  # and, optionally, re-run
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reasons for the decision"), widget=forms.Textarea(attrs={"rows": 4})
    )
    exclude = forms.TypedMultipleChoiceField(
        label=_("Exclude the offending agency and re-run the selection"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Only when upholding. The agency ticked becomes ineligible; the next agencies in "
            "the draw's published rank order take its place. Leave empty to annul the result "
            "and fail the announcement."
        ),
    )

    def __init__(self, *args, excludable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exclude"].choices = [
            (r.pk, f"{r.agency.organisation.name}（{r.agency.organisation.uscc}）")
            for r in excludable
        ]


# --- contracts -------------------------------------------------------------------------------


class ContractTermsForm(StyledFormMixin, forms.Form):
    price = forms.CharField(
        label=_("Contract price (yuan)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    scope = forms.CharField(label=_("Scope of service"), widget=forms.Textarea(attrs={"rows": 4}))


class MilestoneForm(StyledFormMixin, forms.Form):
    title = forms.CharField(label=_("Milestone"), max_length=120, required=False)
    amount = forms.CharField(
        label=_("Amount (yuan)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(k) for k in ("title", "amount", "due_date"))


MilestoneFormSet = forms.formset_factory(MilestoneForm, extra=2, max_num=12, validate_max=True)


class SignForm(StyledFormMixin, forms.Form):
    agree = forms.BooleanField(
        label=_("I have read the terms above and sign for my organisation."), required=True
    )


class PaperCopyForm(StyledFormMixin, forms.Form):
    paper_copy = forms.FileField(label=_("Signed paper copy (PDF, OFD, PNG or JPEG, up to 10 MB)"))


class DeliverableForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=_("Result (PDF, OFD, PNG or JPEG, up to 50 MB)"))
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReviewForm(StyledFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("accept", _("Accept (验收)")), ("return", _("Return for rework"))],
        widget=forms.RadioSelect,
    )
    reasons = forms.CharField(
        label=_("Comments"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when returning: what must be reworked."),
    )


class ExtensionForm(StyledFormMixin, forms.Form):
    new_due_date = forms.DateField(
        label=_("New due date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ExtensionAnswerForm(StyledFormMixin, forms.Form):
    answer = forms.ChoiceField(
        choices=[("agree", _("Agree")), ("reject", _("Reject")), ("withdraw", _("Withdraw"))]
    )
    reason = forms.CharField(label=_("Comment (optional)"), required=False, max_length=2000)


class TerminateForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason for termination"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PayForm(forms.Form):
    amount = forms.CharField(max_length=20)


class RefundForm(StyledFormMixin, forms.Form):
    amount = forms.CharField(
        label=_("Amount to refund (yuan)"),
        max_length=20,
        required=False,
        help_text=_("Empty: everything still captured."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000)
