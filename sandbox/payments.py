"""Asynchronous card payments: the order sits in ``processing`` while a worker thread
charges the token through Stripe (localstripe in the demo and tests)."""

from __future__ import annotations

import logging
import threading

import stripe
from django.conf import settings
from django.db import close_old_connections

from . import models as m
from .orders import finish_payment

logger = logging.getLogger("sandbox")


def schedule_charge(payment_id: int) -> None:
    delay = settings.SANDBOX["PAYMENT_DELAY"]
    timer = threading.Timer(delay, _charge_in_thread, args=(payment_id,))
    timer.daemon = True
    timer.start()


def _charge_in_thread(payment_id: int) -> None:
    close_old_connections()
    try:
        charge(payment_id)
    except Exception:  # a worker must never die silently with the order stuck
        logger.exception("sandbox payment %s crashed", payment_id)
        finish_payment(payment_id, ok=False, reason="The payment could not be processed.")
    finally:
        close_old_connections()


def charge(payment_id: int) -> None:
    payment = m.Payment.objects.select_related("order").get(pk=payment_id)
    cfg = settings.SANDBOX
    client = stripe.StripeClient(
        cfg["STRIPE_SECRET_KEY"],
        base_addresses={"api": cfg["STRIPE_API_BASE"]},
        max_network_retries=0,
    )
    try:
        customer = client.v1.customers.create(
            params={"source": payment.token, "email": payment.order.email or ""}
        )
        result = client.v1.charges.create(
            params={
                "amount": payment.amount,
                "currency": payment.order.currency.lower(),
                "customer": customer.id,
                "description": f"Order {payment.order.number}",
            }
        )
    except stripe.CardError as exc:
        finish_payment(payment_id, ok=False, reason=exc.user_message or "Your card was declined.")
        return
    except stripe.InvalidRequestError as exc:
        reason = exc.user_message or "The card token is not valid."
        finish_payment(payment_id, ok=False, reason=reason)
        return
    except stripe.StripeError as exc:
        logger.warning("sandbox payment %s: processor error %s", payment_id, type(exc).__name__)
        finish_payment(
            payment_id, ok=False, reason="The payment processor is unavailable. Please retry."
        )
        return
    finish_payment(payment_id, ok=True, response_code=result.id)
