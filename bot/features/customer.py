"""`/billing customer`: not built yet (issue 4)."""

from bot.features.base import Subcommand

SUBCOMMANDS = [
    Subcommand(
        "customer",
        "lookup",
        "an Account's Stripe Customer ID, checked against Stripe",
        "/billing customer Acme",
    )
]
