"""Forms of the core's pages. They parse and check the shape of the input; the rules (one
membership per user and organisation, the roles a kind of organisation has, the last
administrator) live in marketplace.services, whose ``ValidationError`` goes back beside the
fields through ``agencies.forms.apply_errors``."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agencies.forms import StyledFormMixin
from marketplace.models import ROLES_BY_KIND, Organisation, Role


class MemberAddForm(StyledFormMixin, forms.Form):
    """Adds an existing user account, found by its e-mail address, with one of the roles of the
    organisation's kind. ``cleaned_data["user"]`` is the account."""

    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("The e-mail address the person logs in with."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        labels = dict(Role.choices)
        self.fields["role"].choices = [
            (value, labels[value]) for value in ROLES_BY_KIND.get(organisation.kind, ())
        ]

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        user = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise ValidationError(
                gettext(
                    "No account uses this e-mail address. The person must first create an "
                    "account at the sign-up page (%(url)s), then you can add them here."
                )
                % {"url": reverse("customer:register")},
                code="unknown_user",
            )
        self.cleaned_data["user"] = user
        return email
