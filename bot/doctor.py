"""`billing-bot doctor`: tries every connection for real and says what it found."""

from __future__ import annotations

from bot.config import Settings
from bot.storage import Storage
from commands.billing_settings import BATCH_SIZE_MAX, WHERE_TO_CHANGE, find_batch_size
from commands.doctor import Check, DoctorReport
from commands.errors import UpstreamError


def run_doctor(settings: Settings) -> DoctorReport:
    return DoctorReport(
        [
            check_database(settings),
            check_slack(settings),
            check_salesforce(settings),
            check_stripe(settings),
        ]
    )


def check_database(settings: Settings) -> Check:
    try:
        storage = Storage(settings.database_path)
        tables = storage.db.table_names()
    except Exception as exc:  # any failure to open or migrate is the finding itself
        return Check("Database", False, f"{settings.database_path}: {exc}")
    return Check("Database", True, f"{settings.database_path} ({len(tables)} tables, WAL)")


def check_slack(settings: Settings) -> Check:
    problems = settings.slack_problems()
    if problems:
        return Check("Slack", False, "not configured", problems)
    from slack_sdk.errors import SlackApiError

    from bot.slack_app import make_web_client

    try:
        info = make_web_client(settings).auth_test()
    except SlackApiError as exc:
        return Check("Slack", False, f"auth.test failed: {exc.response.get('error')}")
    except Exception as exc:
        return Check("Slack", False, f"Slack could not be reached: {type(exc).__name__}")
    mode = "Socket Mode" if settings.slack_app_token else "HTTP mode (/slack/events)"
    return Check("Slack", True, f"connected as @{info.get('user')} in {info.get('team')}; {mode}")


def check_salesforce(settings: Settings) -> Check:
    problems = settings.salesforce_problems()
    if problems:
        return Check("Salesforce", False, "not configured", problems)
    from bot.salesforce.billing_config import billing_config_records
    from bot.salesforce.client import SalesforceClient

    client = SalesforceClient(settings)
    try:
        field = client.stripe_customer_field
        hints = [f"Stripe Customer ID field on Account: {field}"]
        records = billing_config_records(client)
    except UpstreamError as exc:
        return Check("Salesforce", False, exc.message)
    batch = find_batch_size(records, settings.sf_batch_size_setting)
    if batch.value is None:
        hints.append(f"Payment creation batch size: unknown ({batch.problem})")
    elif batch.value != BATCH_SIZE_MAX:
        hints.append(
            f"Payment creation batch size: {batch.value} (Stripe recommends {BATCH_SIZE_MAX}: "
            f"{WHERE_TO_CHANGE})"
        )
    else:
        hints.append(f"Payment creation batch size: {batch.value}")
    detail = (
        f"{client.instance_url} ({settings.salesforce_auth} auth, API v{settings.sf_api_version})"
    )
    return Check("Salesforce", True, detail, hints)


def check_stripe(settings: Settings) -> Check:
    problems = settings.stripe_problems()
    if problems:
        return Check("Stripe", False, "not configured", problems)
    import stripe

    from bot.stripe_gateway import StripeGateway

    try:
        mode = StripeGateway(settings).check_key()
    except stripe.AuthenticationError:
        return Check("Stripe", False, "Stripe rejected STRIPE_API_KEY")
    except stripe.StripeError as exc:
        return Check("Stripe", False, f"Stripe could not be asked: {type(exc).__name__}")
    return Check("Stripe", True, f"key works ({mode} mode)")
