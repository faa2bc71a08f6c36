"""Forms of the agencies' web interface. They only parse and check the shape of the input; the
rules (USCC uniqueness, certificate dates, qualifications an item needs, fee ceilings …) live in
the services, whose ``ValidationError`` is put back beside the fields by ``apply_errors``."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from agencies.models import (
    ChangeRequestKind,
    PricingMode,
    ServiceScope,
)
from marketplace.models import Industry, QualificationType, Region, RegionLevel
from marketplace.uploads import validate_scan

SCAN_ACCEPT = ".pdf,.png,.jpg,.jpeg,.ofd,application/pdf,image/png,image/jpeg"
SCAN_HELP = _("PDF, PNG, JPEG or OFD, at most 10 MB. The content of the file is checked.")


def province_code() -> str:
    """The province whose marketplace this is (Yunnan unless configured otherwise)."""
    return str(getattr(settings, "MARKETPLACE", {}).get("PROVINCE_CODE", "530000"))


def region_choices(*, blank: bool = True) -> list:
    """The province, then its prefectures as option groups holding the prefecture itself and its
    counties. One query."""
    code = province_code()
    rows = list(
        Region.objects.filter(province_code=code)
        .order_by("code")
        .only("code", "name", "level", "prefecture_code", "parent_id")
    )
    choices: list = [("", _("— choose a region —"))] if blank else []
    groups: dict[str, list] = {}
    names: dict[str, str] = {}
    direct: list = []
    for region in rows:
        if region.level == RegionLevel.PROVINCE:
            choices.append((region.code, region.name))
        elif region.level == RegionLevel.PREFECTURE:
            names[region.code] = region.name
            groups.setdefault(region.code, []).insert(0, (region.code, region.name))
        elif region.prefecture_code:
            groups.setdefault(region.prefecture_code, []).append(
                (region.code, f"{names.get(region.prefecture_code, '')}{region.name}")
            )
        else:
            direct.append((region.code, region.name))
    for prefecture, options in groups.items():
        choices.append((names.get(prefecture, prefecture), options))
    if direct:
        choices.append((_("Directly administered"), direct))
    return choices


class RegionChoiceField(forms.ChoiceField):
    """A select of the province's regions whose cleaned value is the ``Region``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", lambda: region_choices(blank=True))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        region = Region.objects.filter(pk=value).first()
        if region is None:
            raise ValidationError(_("Choose a region from the list."), code="invalid_choice")
        return region


class StyledFormMixin:
    """Adds the house CSS class, ``aria-describedby`` for help text and errors, and
    ``aria-invalid`` on fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            css = widget.attrs.get("class", "")
            if not isinstance(
                widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple, forms.RadioSelect)
            ):
                widget.attrs["class"] = (css + " form-control").strip()
            described = []
            if field.help_text:
                described.append(f"{self.add_prefix(name)}-help")
            described.append(f"{self.add_prefix(name)}-errors")
            widget.attrs["aria-describedby"] = " ".join(described)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"


def apply_errors(form: forms.Form, exc: ValidationError, aliases: dict | None = None) -> None:
    """Puts a service's ``ValidationError`` on the form: errors keyed by a field the form has go
    beside it (``aliases`` maps service keys to form fields), the others to the top."""
    aliases = aliases or {}
    if hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            field = aliases.get(key, key)
            if field in form.fields:
                form.add_error(field, errors)
            else:
                form.add_error(None, errors)
    else:
        form.add_error(None, exc)


# --- sign-up ---------------------------------------------------------------------------------


class SignUpForm(StyledFormMixin, forms.Form):
    display_name = forms.CharField(label=_("Your name"), max_length=64)
    email = forms.EmailField(
        label=_("E-mail address"), help_text=_("You log in with this address.")
    )
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, required=False)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self):
        email = get_user_model().objects.normalize_email(self.cleaned_data["email"]).lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise ValidationError(
                _("An account with this e-mail address exists already: log in instead."),
                code="duplicate_email",
            )
        return email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            user = get_user_model()(
                email=cleaned.get("email", ""), display_name=cleaned.get("display_name", "")
            )
            try:
                password_validation.validate_password(p1, user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


# --- enrolment -------------------------------------------------------------------------------


class AgencyBasicForm(StyledFormMixin, forms.Form):
    """基本信息. Used to register (with the commitment) and to correct a draft or a return."""

    name = forms.CharField(label=_("Legal name of the agency"), max_length=200)
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        min_length=18,
        help_text=_("18 characters as printed on the business licence (统一社会信用代码)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=64)
    registered_address = forms.CharField(label=_("Registered address"), max_length=300)
    region = RegionChoiceField(label=_("Region of registration"))
    contact_name = forms.CharField(label=_("Contact person"), max_length=64)
    contact_phone = forms.CharField(
        label=_("Contact phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    business_scope = forms.CharField(
        label=_("Business scope"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("As stated on the business licence (经营范围)."),
    )
    business_licence = forms.FileField(
        label=_("Scan of the business licence"),
        help_text=SCAN_HELP,
        validators=[validate_scan],
        widget=forms.ClearableFileInput(attrs={"accept": SCAN_ACCEPT}),
    )
    accept_commitment = forms.BooleanField(
        label=_("I have read the commitment letter and accept it on behalf of the agency."),
    )

    def __init__(self, *args, agency=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        if agency is not None:
            # Correcting: the commitment was accepted at registration; the licence is kept
            # unless a new scan is uploaded.
            del self.fields["accept_commitment"]
            self.fields["business_licence"].required = not bool(agency.business_licence)

    def clean_uscc(self):
        return self.cleaned_data["uscc"].strip().upper()

    @classmethod
    def initial_for(cls, agency) -> dict:
        org = agency.organisation
        return {
            "name": org.name,
            "uscc": org.uscc,
            "legal_representative": agency.legal_representative,
            "registered_address": agency.registered_address,
            "region": org.region_id,
            "contact_name": agency.contact_name,
            "contact_phone": agency.contact_phone,
            "contact_email": agency.contact_email,
            "business_scope": agency.business_scope,
        }


class CertificateForm(StyledFormMixin, forms.Form):
    qualification_type = forms.ModelChoiceField(
        label=_("Qualification type"),
        queryset=QualificationType.objects.none(),
        empty_label=_("— choose a type —"),
    )
    level = forms.CharField(
        label=_("Level"),
        max_length=40,
        required=False,
        help_text=_("e.g. 甲级; leave empty for an ungraded qualification."),
    )
    certificate_number = forms.CharField(label=_("Certificate number"), max_length=64)
    issuing_authority = forms.CharField(label=_("Issuing authority"), max_length=120)
    valid_from = forms.DateField(
        label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"})
    )
    scan = forms.FileField(
        label=_("Scan of the certificate"),
        help_text=SCAN_HELP,
        validators=[validate_scan],
        widget=forms.ClearableFileInput(attrs={"accept": SCAN_ACCEPT}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "cert")
        super().__init__(*args, **kwargs)
        self.fields["qualification_type"].queryset = QualificationType.objects.filter(
            is_active=True
        ).select_related("industry")
        self.fields["qualification_type"].label_from_instance = lambda q: (
            f"{q.industry.display_name} · {q.name}"
            + (f"（{' / '.join(q.levels)}）" if q.levels else "")
        )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end of validity is before its start."))
        return cleaned


class PractitionerForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        min_length=18,
        help_text=_("Stored for verification and never shown in full."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    certificate_names = forms.CharField(
        label=_("Professional certificates"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One a line: name, then number, e.g. 一级造价工程师 建[造]11530000001."),
    )
    social_insurance_proof = forms.FileField(
        label=_("Proof of social insurance"),
        help_text=SCAN_HELP,
        validators=[validate_scan],
        widget=forms.ClearableFileInput(attrs={"accept": SCAN_ACCEPT}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "prac")
        super().__init__(*args, **kwargs)

    def clean_id_number(self):
        return self.cleaned_data["id_number"].strip().upper()

    def professional_certificates(self) -> list[dict]:
        result = []
        for line in (self.cleaned_data.get("certificate_names") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            name, _sep, number = line.partition(" ")
            result.append({"name": name.strip(), "number": number.strip()})
        return result


class ServiceItemsForm(forms.Form):
    items = forms.MultipleChoiceField(label=_("Service items"), required=False)

    def __init__(self, *args, item_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(str(pk), str(pk)) for pk in item_ids]


class ServiceRegionsForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Where the agency practises"),
        choices=ServiceScope.choices,
        widget=forms.RadioSelect,
        initial=ServiceScope.PROVINCE,
    )
    regions = forms.MultipleChoiceField(
        label=_("Selected regions"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text=_("Only with “selected regions”; a prefecture covers all its counties."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = region_choices(blank=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == ServiceScope.REGIONS and not cleaned.get("regions"):
            self.add_error("regions", _("Choose at least one region, or practise province-wide."))
        return cleaned

    def regions_qs(self):
        return list(Region.objects.filter(pk__in=self.cleaned_data.get("regions") or []))


# --- review ----------------------------------------------------------------------------------


class ReviewQueueFilterForm(StyledFormMixin, forms.Form):
    region = forms.ChoiceField(label=_("Region"), required=False)
    industry = forms.ModelChoiceField(
        label=_("Industry"),
        queryset=Industry.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("All industries"),
    )
    min_age_days = forms.IntegerField(
        label=_("Waiting at least (days)"), required=False, min_value=0, max_value=3650
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = region_choices(blank=False)
        self.fields["region"].choices = [("", _("All regions in my scope")), *choices]

    def region_obj(self):
        code = self.cleaned_data.get("region") if self.is_valid() else None
        return Region.objects.filter(pk=code).first() if code else None


# Sections of an enrolment a regulator can attach a reason to (field_reasons keys).
BASIC_REASON_FIELDS = (
    ("name", _("Legal name of the agency")),
    ("uscc", _("Unified social credit code")),
    ("legal_representative", _("Legal representative")),
    ("registered_address", _("Registered address")),
    ("region", _("Region of registration")),
    ("contact", _("Contacts")),
    ("business_scope", _("Business scope")),
    ("business_licence", _("Scan of the business licence")),
)
SECTION_REASON_FIELDS = (
    ("certificates", _("Qualifications")),
    ("practitioners", _("Practitioners")),
    ("service_items", _("Service items")),
    ("service_regions", _("Service regions")),
)


class ReviewDecisionForm(StyledFormMixin, forms.Form):
    """Approve, or return with a reason beside each field or section concerned. The reason
    fields are added per enrolment (one per certificate, ``certificates.<pk>``)."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=(("approve", _("Approve the enrolment")), ("return", _("Return for correction"))),
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment to the agency"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, certificates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.reason_keys: list[str] = []
        for key, label in BASIC_REASON_FIELDS + SECTION_REASON_FIELDS:
            self._add_reason(key, label)
        for cert in certificates:
            self._add_reason(f"certificates.{cert.pk}", str(cert))
        for key in self.reason_keys:
            name = self.reason_field_name(key)
            self.fields[name].widget.attrs.update(
                {"class": "form-control", "aria-describedby": f"id_{name}-errors"}
            )

    @staticmethod
    def reason_field_name(key: str) -> str:
        return "reason__" + key.replace(".", "__")

    def _add_reason(self, key: str, label) -> None:
        self.reason_keys.append(key)
        self.fields[self.reason_field_name(key)] = forms.CharField(
            label=_("Reason to return: %(section)s") % {"section": label},
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def field_reasons(self) -> dict[str, str]:
        reasons = {}
        for key in self.reason_keys:
            value = (self.cleaned_data.get(self.reason_field_name(key)) or "").strip()
            if value:
                reasons[key] = value
        return reasons

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "return" and not self.field_reasons():
            raise ValidationError(
                _("To return an enrolment, give at least one reason beside the field concerned."),
                code="no_reason",
            )
        return cleaned


class ChangeDecisionForm(StyledFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=(("approve", _("Approve the change")), ("reject", _("Reject the change"))),
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to reject."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Give the reason for rejecting the change."))
        return cleaned


# --- portal ----------------------------------------------------------------------------------


class OfferingForm(StyledFormMixin, forms.Form):
    service_item = forms.TypedChoiceField(label=_("Service item"), coerce=int)
    pricing_mode = forms.ChoiceField(
        label=_("Pricing"),
        choices=PricingMode.choices,
        widget=forms.RadioSelect,
        initial=PricingMode.PRICE,
    )
    price = forms.DecimalField(
        label=_("Price (yuan)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0.01,
        help_text=_("With a fixed price: at most the item's fee ceiling."),
    )
    discount_rate = forms.DecimalField(
        label=_("Discount rate (%)"),
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        help_text=_("下浮率: how far below the standard fee, e.g. 15 for 15 %."),
    )
    turnaround_days = forms.IntegerField(
        label=_("Turnaround (working days)"), min_value=1, max_value=3650
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    reference_amount = forms.DecimalField(
        label=_("Reference amount (yuan)"),
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=0.01,
        help_text=_(
            "基准金额: for an item whose fee depends on an amount (e.g. the investment), the "
            "amount your fixed price is quoted for; the ceiling is computed at this amount."
        ),
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_item"].choices = [("", _("— choose an item —"))] + [
            (item.pk, f"{item.code} {item.title}") for item in items
        ]

    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("pricing_mode")
        if mode == PricingMode.PRICE and cleaned.get("price") is None:
            self.add_error("price", _("Give the price, or choose a discount rate."))
        if mode == PricingMode.DISCOUNT and cleaned.get("discount_rate") is None:
            self.add_error("discount_rate", _("Give the discount rate, or choose a price."))
        return cleaned


class ChangeRequestForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("What changes"), choices=ChangeRequestKind.choices, widget=forms.RadioSelect
    )
    new_value = forms.CharField(
        label=_("New name or legal representative"),
        required=False,
        max_length=200,
        help_text=_("For a change of name or of legal representative."),
    )
    attachment = forms.FileField(
        label=_("Supporting document"),
        required=False,
        help_text=SCAN_HELP,
        validators=[validate_scan],
        widget=forms.ClearableFileInput(attrs={"accept": SCAN_ACCEPT}),
    )

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if (
            kind in (ChangeRequestKind.NAME, ChangeRequestKind.LEGAL_REPRESENTATIVE)
            and not (cleaned.get("new_value") or "").strip()
        ):
            self.add_error("new_value", _("Give the new value."))
        return cleaned


