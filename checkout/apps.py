from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    """Adding tickets, the cart and the checkout: the order stepped through the states the
    API dictates, one step module each (``checkout.steps``)."""

    name = "checkout"
