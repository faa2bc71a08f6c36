from oscar.apps.checkout import apps


class CheckoutConfig(apps.CheckoutConfig):
    """Oscar's checkout URLs and views; the views are ours (``marketplace.shop.checkout.views``,
    found by ``get_class("checkout.views", …)``)."""

    name = "marketplace.shop.checkout"
