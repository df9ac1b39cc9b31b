"""A CSV that the sandbox's visitor can import: new customers that Stripe has and Salesforce
does not, plus one row the bot must refuse.

Why: the import walkthrough needs a file whose rows pass every check (real Stripe customers
with reusable cards attached, an active Stripe gateway) without the visitor having to make
one, and a refused row shows the error CSV and the row-by-row report. The Stripe objects are
made when the sandbox starts, in one batch through the Stripe stand-in's seed route; the CSV
stays in memory (nothing is written to disk).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from sandbox.stripe import post_seed_ops

FILENAME = "new-customers.csv"
HEADER = (
    "Account Name",
    "Stripe Customer ID",
    "Payment Gateway (record ID)",
    "Active",
    "Payment Gateway Token",
)
# (name, Active): names unused by the seed; the last row is refused (Active must be true).
ROWS = (
    ("Bluth Company", "true"),
    ("Sterling Cooper", "true"),
    ("Prestige Worldwide", "true"),
    ("Los Pollos Hermanos", "false"),
)


def make_import_sample(stripe_api_base: str, gateway_id: str) -> bytes:
    """Create one Stripe customer with an attached card per row and return the CSV (UTF-8,
    comma-separated) that imports them as new Accounts with their payment methods."""
    card = {
        "number": "4242424242424242",
        "exp_month": 12,
        "exp_year": dt.date.today().year + 3,
        "cvc": "123",
    }
    ops: list[dict[str, object]] = []
    for i, (name, _) in enumerate(ROWS):
        ops.append({"op": "customer", "ref": f"c{i}", "params": {"name": name}})
        ops.append(
            {
                "op": "payment_method",
                "ref": f"p{i}",
                "params": {"type": "card", "card": card},
                "attach": f"@c{i}",
            }
        )
    refs = post_seed_ops(stripe_api_base, ops)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for i, (name, active) in enumerate(ROWS):
        writer.writerow([name, refs[f"c{i}"], gateway_id, active, refs[f"p{i}"]])
    return out.getvalue().encode("utf-8")
