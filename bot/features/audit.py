"""`/billing audit`: not built yet (issue 6)."""

from bot.features.base import Subcommand

SUBCOMMANDS = [
    Subcommand(
        "audit",
        "audit",
        "check the org now: batch size, missing fields, Stripe mismatches",
        "/billing audit",
    )
]
