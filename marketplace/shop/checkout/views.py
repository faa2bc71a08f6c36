"""Checkout of a direct purchase (直接购买): Oscar's basket → checkout → order, and in the same
transaction the draft contract (``procurement.contracts.contract_from_purchase``).

The steps are Oscar's views, subclassed (loaded by ``get_class("checkout.views", …)``):

1. ``IndexView`` → ``ShippingAddressView`` → ``ShippingMethodView`` → ``PaymentMethodView``
   pass straight through: the product class "中介服务" requires no shipping (Oscar skips the
   address and records "no shipping required") and there is no payment method to choose.
2. ``PaymentDetailsView`` (payment-details): nothing is paid at checkout — the milestones are
   paid on acceptance — so this page is the purchase details form instead: which of the
   owner's projects the service is for, and the scope of service. It posts to the preview.
3. ``PaymentDetailsView(preview=True)``: validates the form, re-checks the purchase
   (``procurement.purchase``: agency approved, no sanction, still on the shelf, amount below
   the direct selection maximum, service area, no conflict of interest) and shows the order;
   the form travels on in hidden fields, as Oscar does with payment forms.
4. "Place order" (a POST to the preview): the same checks again, then, in ONE transaction and
   under the agency's and the offering's row locks (a suspension or a withdrawal waits, or
   wins and refuses the purchase), the checks once more, Oscar's order placement
   (``OrderPlacementMixin.place_order`` → ``OrderCreator``: order, lines, status) and
   ``contract_from_purchase``; the basket is submitted and the owner lands on the contract
   page. A refusal rolls everything back, thaws the basket and shows why. A second "place
   order" of the same basket (a double click) finds the first one's order and shows its
   contract.

Every step needs a logged-in user (Oscar's URL decorator: ``OSCAR_ALLOW_ANON_CHECKOUT`` is
off) who is an administrator or staff member of a project owner unit (anyone else gets a 403
page), with a basket of exactly one offering of the shelf, quantity 1 (one offering = one
contract; otherwise back to the basket with the reason).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from oscar.apps.checkout import views as oscar_views
from oscar.apps.checkout.exceptions import FailedPreCondition
from oscar.core.loading import get_model

from agencies.models import Agency, Offering
from procurement import contracts, purchase
from procurement.methods import direct_selection_max
from procurement.models import Contract, Project
from procurement.selectors import user_owners

from .forms import PurchaseForm

Order = get_model("order", "Order")

REFUSED_TEMPLATE = "oscar/checkout/refused.html"


class PurchaseMixin:
    """What every step of the purchase checkout requires (module docstring)."""

    owners: list
    offering: Offering | None = None
    line = None

    def dispatch(self, request, *args, **kwargs):
        self.owners = user_owners(request.user)
        if not self.owners:
            return render(request, REFUSED_TEMPLATE, status=403)
        return super().dispatch(request, *args, **kwargs)

    def get_pre_conditions(self, request):
        # First: a basket of two offerings goes back to the basket, not to a checkout step.
        return ["check_basket_is_one_offering", *super().get_pre_conditions(request)]

    def check_basket_is_one_offering(self, request):
        """One line, quantity 1, of a product that is an offering of the shelf. Keeps the line
        and the offering (with agency, organisation and item) on the view."""
        back = reverse("basket:summary")
        lines = request.basket.all_lines()
        if not lines:
            return  # Oscar's check_basket_is_not_empty says so
        if len(lines) != 1:
            raise FailedPreCondition(
                url=back,
                message=_(
                    "A direct purchase is one offering, which becomes one contract: keep only "
                    "one offering in your basket (it holds %(count)s)."
                )
                % {"count": len(lines)},
            )
        line = lines[0]
        if line.quantity != 1:
            raise FailedPreCondition(
                url=back,
                message=_("Buy an offering once (quantity 1): each purchase becomes one contract."),
            )
        offering = (
            Offering.objects.select_related("agency__organisation", "service_item")
            .filter(product_id=line.product_id)
            .first()
        )
        if offering is None:
            raise FailedPreCondition(
                url=back,
                message=_("“%(title)s” is not an offering of the shelf; it cannot be bought.")
                % {"title": line.product.get_title()},
            )
        self.line = line
        self.offering = offering


class IndexView(PurchaseMixin, oscar_views.IndexView):
    pass


class ShippingAddressView(PurchaseMixin, oscar_views.ShippingAddressView):
    pass


class ShippingMethodView(PurchaseMixin, oscar_views.ShippingMethodView):
    pass


class PaymentMethodView(PurchaseMixin, oscar_views.PaymentMethodView):
    pass


class PaymentDetailsView(PurchaseMixin, oscar_views.PaymentDetailsView):
    """The purchase details (project, scope), the preview and the placing of the order."""

    purchase_data: dict | None = None
    contract = None

    # --- the form -------------------------------------------------------------------------

    def default_scope(self) -> str:
        item = self.offering.service_item
        details = (self.offering.description or item.summary or "").strip()
        return f"{item.title}\n{details}" if details else item.title

    def purchase_form(self, data=None) -> PurchaseForm:
        return PurchaseForm(data, owners=self.owners, initial={"scope": self.default_scope()})

    def purchase_problems(self, form: PurchaseForm) -> list[str] | None:
        """None when the form is invalid, else the reasons the purchase is refused (none:
        allowed), for the basket's total."""
        if not form.is_valid():
            return None
        project = form.cleaned_data["project"]
        return purchase.purchase_problems(
            owner=project.owner,
            offering=self.offering,
            project=project,
            amount=self.request.basket.total_incl_tax,
        )

    def get_context_data(self, **kwargs):
        if "purchase_form" not in kwargs:
            kwargs["purchase_form"] = self.purchase_form()
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            offering=self.offering,
            agency=self.offering.agency,
            service_item=self.offering.service_item,
            line=self.line,
            direct_selection_max=direct_selection_max(),
        )
        if not self.preview:
            ctx["has_projects"] = Project.objects.filter(owner__in=self.owners).exists()
        return ctx

    # --- the steps ------------------------------------------------------------------------

    def check_payment_data_is_captured(self, request):
        """The preview shows what the purchase details form posted: a GET has nothing to show
        and goes back to the form."""
        if request.method != "POST":
            raise FailedPreCondition(url=reverse("checkout:payment-details"))

    def handle_payment_details_submission(self, request):
        form = self.purchase_form(request.POST)
        problems = self.purchase_problems(form)
        if problems is None or problems:
            return self.render_payment_details(
                request, purchase_form=form, purchase_errors=problems or []
            )
        return self.render_preview(request, purchase_form=form)

    def handle_place_order_submission(self, request):
        form = self.purchase_form(request.POST)
        problems = self.purchase_problems(form)
        if problems is None or problems:
            return self.render_payment_details(
                request, purchase_form=form, purchase_errors=problems or []
            )
        self.purchase_data = form.cleaned_data
        return self.submit(**self.build_submission(payment_kwargs={"purchase_form": form}))

    def handle_payment(self, order_number, total, **kwargs):
        """Nothing is paid at checkout: the contract's milestones are paid on acceptance."""

    def handle_order_placement(
        self,
        order_number,
        user,
        basket,
        shipping_address,
        shipping_method,
        shipping_charge,
        billing_address,
        order_total,
        surcharges=None,
        **kwargs,
    ):
        project = self.purchase_data["project"]
        try:
            with transaction.atomic():
                # The same locks as a suspension (the agency) and a withdrawal (the offering):
                # whichever comes second sees the other's result.
                list(
                    Agency.objects.select_for_update()
                    .filter(pk=self.offering.agency_id)
                    .values_list("pk", flat=True)
                )
                list(
                    Offering.objects.select_for_update()
                    .filter(pk=self.offering.pk)
                    .values_list("pk", flat=True)
                )
                earlier = Order.objects.filter(basket_id=basket.pk).first()
                if earlier is not None:
                    # A second "place order" of the same basket (a double click, two tabs):
                    # the first one won. This request's freeze overwrote the basket's
                    # "submitted" status: put it back, and show the first one's contract.
                    basket.submit()
                    return self.handle_repeated_submission(earlier)
                purchase.purchase_check(
                    owner=project.owner,
                    offering=self.offering,
                    project=project,
                    amount=order_total.incl_tax,
                )
                order = self.place_order(
                    order_number=order_number,
                    user=user,
                    basket=basket,
                    shipping_address=shipping_address,
                    shipping_method=shipping_method,
                    shipping_charge=shipping_charge,
                    order_total=order_total,
                    billing_address=billing_address,
                    surcharges=surcharges,
                    **kwargs,
                )
                self.contract = contracts.contract_from_purchase(
                    actor=user,
                    order=order,
                    offering=self.offering,
                    project=project,
                    scope=self.purchase_data["scope"],
                )
                basket.submit()
                # Inside the transaction: a failure here must not leave an order behind.
                self.success_url = reverse("procurement:contract", args=[self.contract.code])
        except ValidationError as exc:
            self.restore_frozen_basket()
            return self.render_payment_details(
                self.request,
                purchase_form=self.purchase_form(self.request.POST),
                purchase_errors=exc.messages,
            )
        return self.handle_successful_order(order)

    def handle_repeated_submission(self, order):
        self.checkout_session.flush()
        contract = Contract.objects.filter(order=order).first()
        if contract is None:  # an order of this basket made some other way
            return redirect("basket:summary")
        messages.info(self.request, _("This purchase was already ordered: here is its contract."))
        return redirect("procurement:contract", contract.code)

    def send_order_placed_email(self, order):
        """No Oscar shop e-mail: the parties hear of the contract through the marketplace's
        notifications (outbox, sent after commit) that ``contract_from_purchase`` writes."""

    def get_success_url(self):
        return self.success_url
