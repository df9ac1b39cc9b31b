"""`/billing pm`: not built yet (issue 4)."""

from bot.features.base import Subcommand

SUBCOMMANDS = [
    Subcommand(
        "pm",
        "lookup",
        "payment methods: Active flag, gateway, token, and whether Stripe can charge them",
        "/billing pm 001XXXXXXXXXXXXXXX",
    )
]
