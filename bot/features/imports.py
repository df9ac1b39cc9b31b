"""`/billing import` and `/billing imports`: not built yet (issue 5)."""

from bot.features.base import Subcommand

SUBCOMMANDS = [
    Subcommand(
        "import",
        "import",
        "import customers and payment methods from a CSV, after a second person approves",
        "/billing import",
    ),
    Subcommand("imports", "import", "recent imports and their state", "/billing imports"),
]
