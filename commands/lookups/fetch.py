"""Asking Stripe (and any follow-up Salesforce question) all at once.

The floor for a lookup is one Salesforce round trip, then one round of Stripe calls: every
question that depends only on the first query's answer (each customer, each payment method,
the Accounts sharing a Stripe Customer ID, the count behind a "more" hint) is asked at the
same time, so the answer waits for the slowest of them, not for their sum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from commands.errors import UpstreamError
from commands.lookups.query import LookupQuery, needs_key_prefix, parse
from commands.lookups.records import LookupDirectory
from commands.stripe_facts import Found, StripeCustomer, StripePaymentMethod, StripePort

STRIPE_NOT_CONFIGURED = "Stripe is not configured (STRIPE_API_KEY is not set)"


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent calls at once and return their results in order; the first error
    raised (in call order) propagates once all have finished."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="lookup") as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def ask_stripe(
    stripe: StripePort | None, kind: Literal["customers", "payment_methods"], ids: Iterable[str]
) -> dict[str, Any]:
    """Each customer (or payment method) as Stripe sees it, keyed by id: UNAVAILABLE, never an
    exception, when Stripe is not configured or cannot answer."""
    wanted = list(dict.fromkeys(i for i in ids if i))
    if not wanted:
        return {}
    try:
        if stripe is None:
            raise UpstreamError(STRIPE_NOT_CONFIGURED)
        return getattr(stripe, kind)(wanted)
    except UpstreamError as exc:
        unavailable = StripeCustomer if kind == "customers" else StripePaymentMethod
        return {i: unavailable(i, Found.UNAVAILABLE, error=exc.message) for i in wanted}


def dashboard_url(stripe: StripePort | None, object_id: str | None) -> str | None:
    return stripe.dashboard_url(object_id) if stripe is not None and object_id else None


def read_query(text: str | None, directory: LookupDirectory) -> LookupQuery:
    """Parse what was typed; the org's payment-method key prefix (a cached describe) is
    fetched only when the text looks like a Salesforce Id that is not an Account's."""
    prefix = directory.payment_method_prefix() if needs_key_prefix(text) else None
    return parse(text, prefix)
