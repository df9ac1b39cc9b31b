"""`billing-bot`: run the bot, check the set-up, or run any capability from a shell.

Every `/billing` subcommand is also a subcommand here, with the same logic and a text or
`--json` rendering (DESIGN section 2). Configuration problems print one line each and exit 2;
no traceback reaches the operator.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from bot import features
from bot.config import ConfigError, Settings, describe_settings, load_settings
from bot.logs import setup_logging

log = logging.getLogger("bot")

EXIT_CONFIG = 2
SANDBOX_PORT, SANDBOX_ACCOUNTS = 8600, 40


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="billing-bot",
        description="Slack bot for Salesforce Billing + Stripe. With no command: runs the bot "
        "when Slack is configured, else the offline sandbox.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="serve Slack (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    run.add_argument(
        "--mode",
        choices=["auto", "http", "socket"],
        default="auto",
        help="auto: Socket Mode when SLACK_APP_TOKEN is set, else HTTP (the Procfile is explicit)",
    )
    doctor = sub.add_parser("doctor", help="check every connection and print a checklist")
    doctor.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("settings", help="list every setting with its default")
    sandbox = sub.add_parser("sandbox", help="the whole bot offline, driven from a browser page")
    sandbox.add_argument(
        "--port", type=int, default=SANDBOX_PORT, help="port of the browser page (0: any free one)"
    )
    sandbox.add_argument(
        "--accounts", type=int, default=SANDBOX_ACCOUNTS, help="demo accounts to seed"
    )
    for name, spec in features.subcommands().items():
        if spec.run_cli is None:
            continue
        p = sub.add_parser(name, help=spec.summary)
        if spec.add_cli_arguments:
            spec.add_cli_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "settings":
        for name, default, meaning in describe_settings():
            print(f"{name:<28} {default or '-':<28} {meaning}")
        return 0
    try:
        settings = load_settings()
    except ConfigError as exc:
        for line in exc.problems:
            print(f"billing-bot: {line}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.log_level, settings.secrets)

    command = args.command or ("run" if not settings.slack_problems() else "sandbox")
    if command == "run":
        mode = getattr(args, "mode", "auto")
        if mode == "http":
            settings = settings.replace(slack_app_token=None)
        elif mode == "socket" and not settings.slack_app_token:
            print(
                "billing-bot: SLACK_APP_TOKEN is not set: Socket Mode needs an app-level "
                "token (xapp-…) with connections:write",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        return run_bot(settings)
    if command == "doctor":
        return doctor(settings, as_json=args.json)
    if command == "sandbox":
        return run_sandbox(settings, args)
    from bot.services import Services

    spec = features.subcommands()[command]
    try:
        return spec.run_cli(Services(settings), args)  # type: ignore[misc]
    except KeyboardInterrupt:
        return 130


def doctor(settings: Settings, as_json: bool) -> int:
    from bot.doctor import run_doctor
    from commands.doctor import render_text
    from commands.render import to_json

    report = run_doctor(settings)
    print(to_json(report) if as_json else render_text(report))
    return 0 if report.ok else 1


def run_bot(settings: Settings) -> int:
    problems = settings.bot_problems()
    if problems:
        for line in problems:
            print(f"billing-bot: {line}", file=sys.stderr)
        return EXIT_CONFIG
    from bot.scheduling import start_scheduler
    from bot.services import Services
    from bot.slack_app import build_app

    services = Services(settings)
    app = build_app(services)
    scheduler = start_scheduler(services, app.client)
    try:
        if settings.slack_mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("starting in Socket Mode")
            SocketModeHandler(app, settings.slack_app_token).start()
        else:
            serve_http(services, app)
    except KeyboardInterrupt:
        pass
    finally:
        if scheduler:
            scheduler.shutdown(wait=False)
    return 0


def serve_http(services, app) -> None:  # noqa: ANN001 - Services, slack_bolt.App
    from bot.http_server import make_server, wsgi_app

    settings = services.settings

    def health() -> dict[str, object]:
        try:
            services.db.execute("select 1")
        except Exception:  # the health check reports, it does not raise
            return {"ok": False, "database": "unavailable"}
        return {"ok": True}

    server = make_server(wsgi_app(app, health), settings.host, settings.port)
    signal.signal(signal.SIGTERM, lambda *_: server.request_stop())
    log.info("serving /slack/events on %s:%s", settings.host, server.port)
    server.serve_forever()


def run_sandbox(settings: Settings, args: argparse.Namespace) -> int:
    try:
        from sandbox.demo import run_demo
    except ImportError:
        print(
            "billing-bot: Slack is not configured, and the offline sandbox is not part of this "
            "version yet. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN), "
            "see README.md, then run `billing-bot doctor`.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    # `billing-bot` alone (no subcommand) has no sandbox options: the defaults apply.
    return run_demo(
        settings,
        port=getattr(args, "port", SANDBOX_PORT),
        accounts=getattr(args, "accounts", SANDBOX_ACCOUNTS),
    )
