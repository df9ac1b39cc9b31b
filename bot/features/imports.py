"""`/billing import` and `/billing imports`, and `billing-bot import FILE --dry-run`.

The dry run reads the file, validates every row and cross-checks Salesforce and Stripe when
they are configured, then prints the plan (text, or `--json`). Exit codes: 0 no row rejected,
1 some rows rejected, 2 the file cannot be used at all (the reason is printed). It writes
nothing: imports write to Salesforce only after a second person approves them in Slack.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.features.base import Subcommand
from bot.services import Services
from commands.imports import FileRejected, ImportDirectory, Limits, Scenario, prepare_import
from commands.imports.reader import check_size
from commands.imports.report import render_text
from commands.render import to_json

EXIT_REJECTED_ROWS = 1
EXIT_FILE_UNUSABLE = 2


def import_limits(settings: Settings) -> Limits:
    return Limits(max_bytes=settings.import_max_bytes, max_rows=settings.import_max_rows)


def import_directory(services: Services) -> ImportDirectory | None:
    """The Salesforce side of the cross-checks, or None when Salesforce is not configured."""
    if not services.settings.salesforce_auth:
        return None
    from bot.salesforce.imports_directory import SalesforceImportDirectory

    return SalesforceImportDirectory(services.salesforce)


def local_today(services: Services) -> date:
    """Card expiry is judged by the team's calendar, not UTC's."""
    return services.clock().astimezone(ZoneInfo(services.settings.timezone)).date()


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the CSV file to check")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and plan, write nothing (imports run only after approval in Slack)",
    )
    parser.add_argument(
        "--scenario",
        choices=[s.value for s in Scenario],
        help="override the scenario detected from the columns",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run_cli(services: Services, args: argparse.Namespace) -> int:
    if not args.dry_run:
        print(
            "billing-bot: imports write to Salesforce only after a second person approves "
            "them in Slack (/billing import); use --dry-run to check a file here",
            file=sys.stderr,
        )
        return EXIT_FILE_UNUSABLE
    limits = import_limits(services.settings)
    try:
        data = _read(args.file, limits)
        report = prepare_import(
            data,
            filename=os.path.basename(args.file),
            scenario=Scenario(args.scenario) if args.scenario else None,
            directory=import_directory(services),
            stripe=services.stripe,
            limits=limits,
            today=local_today(services),
        )
    except FileRejected as exc:
        if args.json:
            print(to_json({"error": "file_rejected", "reason": exc.reason}))
        print(f"billing-bot: {args.file} cannot be imported: {exc.reason}", file=sys.stderr)
        return EXIT_FILE_UNUSABLE
    print(to_json(report) if args.json else render_text(report))
    return EXIT_REJECTED_ROWS if report.has_rejections else 0


def _read(path: str, limits: Limits) -> bytes:
    """The file's bytes, refusing a file over the size limit before reading it."""
    try:
        check_size(os.path.getsize(path), limits)
        with open(path, "rb") as handle:
            return handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise FileRejected(f"the file could not be opened ({exc.strerror or exc})") from None


SUBCOMMANDS = [
    Subcommand(
        "import",
        "import",
        "import customers and payment methods from a CSV, after a second person approves",
        "/billing import",
        add_cli_arguments=add_cli_arguments,
        run_cli=run_cli,
    ),
    Subcommand("imports", "import", "recent imports and their state", "/billing imports"),
]
