"""Forms of the complaint pages. They check the shape of the input; the rules (the code, the
limits, the evidence checks, the deadlines) are in ``ratings.complaints``, whose
``ValidationError`` goes beside the fields (``agencies.forms.apply_errors``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from agencies.forms import StyledFormMixin
from ratings.models import ComplainantKind


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (possibly empty)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".pdf,.ofd,.png,.jpg,.jpeg"})
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return []
        items = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items if item]


# MAX_FILES (10) is spelled out: a lazy message cannot be interpolated at import.
EVIDENCE_HELP = _(
    "PDF, OFD, PNG or JPEG, at most 10 MB each, up to 10 files. Files are checked by their content."
)


class ComplaintForm(StyledFormMixin, forms.Form):
    complainant_kind = forms.ChoiceField(label=_("You complain as"), widget=forms.RadioSelect)
    agency = forms.CharField(
        label=_("Agency complained about (unified social credit code)"),
        required=False,
        max_length=18,
    )
    announcement = forms.CharField(
        label=_("Announcement complained about (announcement number)"),
        required=False,
        max_length=32,
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Facts and grounds"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What happened, when, who was involved, and what you ask the regulator to do."),
    )
    files = MultipleFileField(label=_("Evidence files"), help_text=EVIDENCE_HELP)
    public_name = forms.CharField(label=_("Your name"), max_length=64, required=False)
    public_contact = forms.CharField(
        label=_("Your e-mail address"),
        max_length=254,
        required=False,
        help_text=_("A 6-digit code is sent to it; it is never published."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    verification_code = forms.CharField(
        label=_("Verification code"),
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ComplainantKind.choices)
        self.fields["complainant_kind"].choices = [(k, labels[k]) for k in kinds]
        if len(kinds) == 1:
            self.fields["complainant_kind"].initial = kinds[0]


class SendCodeForm(StyledFormMixin, forms.Form):
    public_contact = forms.CharField(label=_("Your e-mail address"), max_length=254)


class RejectForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why the complaint is not accepted"), widget=forms.Textarea(attrs={"rows": 3})
    )


class DecideForm(StyledFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=pgettext_lazy("ruling", "Decision"),
        choices=[("uphold", _("Upheld")), ("dismiss", _("Dismissed"))],
        widget=forms.RadioSelect,
    )
    decision = forms.CharField(
        label=_("Decision and grounds (published)"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Published with the complainant anonymised: do not name the complainant."),
    )


class StatementForm(StyledFormMixin, forms.Form):
    statement = forms.CharField(label=_("Your statement"), widget=forms.Textarea(attrs={"rows": 6}))
    files = MultipleFileField(label=_("Evidence files"), help_text=EVIDENCE_HELP)
