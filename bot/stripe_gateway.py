"""The Stripe side of every cross-check, over the Stripe SDK (read-only).

Objects are retrieved by id (Stripe's search index lags writes), many at once on a bounded
thread pool, under a client-side rate limit below Stripe's (25 req/s test, 100 req/s live), with
the SDK's own retries for network errors and 5xx and a short backoff for 429s (which the SDK does
not retry on its own). A failure of one lookup becomes an UNAVAILABLE answer for that id, never an
exception: a support agent still gets the Salesforce half of the answer when Stripe is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
import requests.adapters
import requests.utils
import stripe

from bot.config import Settings
from bot.storage import mask_tokens_in
from commands.stripe_facts import Found, StripeCustomer, StripePaymentMethod

log = logging.getLogger(__name__)
T = TypeVar("T")

RATE_LIMIT_RETRIES = 3
STRIPE_API_BASE = "https://api.stripe.com"
# Calls let through at once before the average rate applies, so a lookup's customer and
# payment methods go out together; should a burst meet Stripe's limit, its 429 is retried.
BURST = 10
# Kept-alive connections shared by every thread: calls in flight at once are bounded by the
# rate and Stripe's latency, not by one lookup's `concurrency` (a burst of lookups at 20/s and
# a slow Stripe had 20 in flight; beyond the pool, each call paid a new handshake).
CONNECTIONS = 32
DELETED_EVENT_PAGES = 5


class RateLimiter:
    """At most `rate` calls a second on average, shared by every thread, with bursts of up to
    `burst` calls at once (GCRA, the token bucket's arithmetic form).

    The burst is what keeps a lookup fast: one customer and five payment methods go out
    together instead of 50 ms apart; a long cross-check still averages `rate`.
    """

    def __init__(self, rate: float, burst: int = 1):
        self.interval = 1.0 / rate
        self.window = self.interval * max(burst - 1, 0)
        self._tat = time.monotonic()  # theoretical arrival time of the next call
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            tat = max(self._tat, now)
            start = max(now, tat - self.window)
            self._tat = tat + self.interval
        if start > now:
            time.sleep(start - now)


class StripeGateway:
    """Implements `commands.stripe_facts.StripePort`."""

    def __init__(self, settings: Settings, rate: float | None = None):
        key = settings.stripe_api_key or ""
        self.livemode = key.startswith(("sk_live_", "rk_live_"))
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self.concurrency = settings.stripe_concurrency
        self.client = stripe.StripeClient(
            key,
            base_addresses=base,
            max_network_retries=2,
            http_client=stripe.RequestsClient(
                timeout=settings.stripe_timeout,
                session=_shared_session(CONNECTIONS, settings.stripe_api_base or STRIPE_API_BASE),
            ),
        )
        # Stay under Stripe's limit with room for the other tools that share the key.
        self.limiter = RateLimiter(rate or (80.0 if self.livemode else 20.0), burst=BURST)
        self.calls = 0
        self._calls_lock = threading.Lock()

    # --- StripePort -----------------------------------------------------------------------

    def customers(self, ids: Iterable[str]) -> dict[str, StripeCustomer]:
        found = self._many(ids, self._customer)
        missing = [i for i, c in found.items() if c.status is Found.MISSING]
        if missing:
            deleted = self._recently_deleted_customers(set(missing))
            for customer_id in deleted:
                found[customer_id] = StripeCustomer(
                    customer_id, Found.DELETED, livemode=self.livemode
                )
        return found

    def payment_methods(self, ids: Iterable[str]) -> dict[str, StripePaymentMethod]:
        return self._many(ids, self._payment_method)

    def dashboard_url(self, object_id: str) -> str:
        mode = "" if self.livemode else "test/"
        kind = "customers" if object_id.startswith("cus_") else "payment_methods"
        return f"https://dashboard.stripe.com/{mode}{kind}/{object_id}"

    def check_key(self) -> str:
        """For `doctor`: raises on a bad key; says test or live mode."""
        self._retrieve(lambda: self.client.v1.customers.list(params={"limit": 1}))
        return "live" if self.livemode else "test"

    # --- internals ------------------------------------------------------------------------

    def _many(self, ids: Iterable[str], fetch: Callable[[str], T]) -> dict[str, T]:
        unique = list(dict.fromkeys(i for i in ids if i))
        if not unique:
            return {}
        if len(unique) == 1:
            return {unique[0]: fetch(unique[0])}
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(unique))) as pool:
            return dict(zip(unique, pool.map(fetch, unique), strict=True))

    def _retrieve(self, call: Callable[[], Any]) -> Any:
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            self.limiter.wait()
            with self._calls_lock:
                self.calls += 1
            try:
                return call()
            except stripe.RateLimitError:
                if attempt == RATE_LIMIT_RETRIES:
                    raise
                time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def _get(self, call: Callable[[], Any]) -> tuple[dict[str, Any] | None, Found, str | None]:
        """(the object as a dict, or None; FOUND / MISSING / UNAVAILABLE; the reason)."""
        try:
            return self._retrieve(call).to_dict(), Found.FOUND, None
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                return None, Found.MISSING, None
            return None, Found.UNAVAILABLE, _reason(exc)
        except stripe.StripeError as exc:
            return None, Found.UNAVAILABLE, _reason(exc)

    def _customer(self, customer_id: str) -> StripeCustomer:
        # A 404 may be a deleted customer: `customers()` asks the event log before saying so.
        data, status, error = self._get(lambda: self.client.v1.customers.retrieve(customer_id))
        if data is None:
            return StripeCustomer(customer_id, status, error=error)
        if data.get("deleted"):
            return StripeCustomer(customer_id, Found.DELETED, livemode=self.livemode)
        default = (data.get("invoice_settings") or {}).get("default_payment_method")
        if isinstance(default, dict):
            default = default.get("id")
        return StripeCustomer(
            customer_id,
            Found.FOUND,
            name=data.get("name"),
            email=data.get("email"),
            default_payment_method=default or data.get("default_source"),
            livemode=bool(data.get("livemode")),
        )

    def _recently_deleted_customers(self, wanted: set[str]) -> set[str]:
        """Which of these 404'd customers Stripe's event log says were deleted.

        Stripe answers a deleted customer with `deleted: true`, but some stand-ins (localstripe)
        answer 404, as for an id that never existed; the `customer.deleted` events (kept 30
        days) still tell the two apart. Only asked when a 404 happened, and bounded.
        """
        deleted: set[str] = set()
        params: dict[str, Any] = {"type": "customer.deleted", "limit": 100}
        try:
            for _ in range(DELETED_EVENT_PAGES):
                page = self._retrieve(lambda p=dict(params): self.client.v1.events.list(params=p))
                data = page.to_dict().get("data", [])
                for event in data:
                    obj = (event.get("data") or {}).get("object") or {}
                    if obj.get("id") in wanted:
                        deleted.add(obj["id"])
                if deleted == wanted or not page.to_dict().get("has_more") or not data:
                    break
                params["starting_after"] = data[-1]["id"]
        except stripe.StripeError as exc:
            log.info("could not read Stripe's customer.deleted events: %s", _reason(exc))
        return deleted

    def _payment_method(self, pm_id: str) -> StripePaymentMethod:
        data, status, error = self._get(lambda: self.client.v1.payment_methods.retrieve(pm_id))
        if data is None:
            return StripePaymentMethod(pm_id, status, error=error)
        card = data.get("card") or {}
        customer = data.get("customer")
        if isinstance(customer, dict):
            customer = customer.get("id")
        return StripePaymentMethod(
            pm_id,
            Found.FOUND,
            customer=customer,
            type=data.get("type"),
            brand=card.get("brand"),
            last4=card.get("last4") or (data.get("us_bank_account") or {}).get("last4"),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
            livemode=bool(data.get("livemode")),
        )


def _shared_session(connections: int, base_url: str) -> requests.Session:
    """One connection pool for every thread, set up once.

    The SDK's RequestsClient otherwise opens a session per thread, and calls run on
    short-lived worker threads: each lookup would pay a new TCP and TLS handshake with Stripe
    per call instead of reusing a kept-alive connection. And the environment's proxy settings
    (HTTPS_PROXY, NO_PROXY) are read here once for Stripe's host, instead of on every request
    (requests' per-request proxy and netrc look-ups cost about 3 ms of CPU each; the SDK passes
    its own CA bundle, so nothing else is taken from the environment).
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(base_url)
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _reason(exc: stripe.StripeError) -> str:
    """A sentence for the user; never the key, never the raw body."""
    if isinstance(exc, stripe.AuthenticationError):
        return "Stripe rejected the API key"
    if isinstance(exc, stripe.RateLimitError):
        return "Stripe is rate-limiting requests"
    if isinstance(exc, stripe.APIConnectionError):
        return "Stripe could not be reached"
    status = getattr(exc, "http_status", None)
    # Stripe's messages repeat the id asked about ("No such PaymentMethod: 'pm_…'"): masked,
    # since this sentence is shown in Slack.
    message = mask_tokens_in(exc.user_message or "unavailable")
    return f"Stripe error{f' {status}' if status else ''}: {message}"
