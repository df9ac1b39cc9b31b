"""Reading Salesforce Billing's settings records (`blng__BillingConfig__c`).

`doctor` and the audit read the same records the same way, so they judge the batch size from
the same data (`commands.billing_settings.find_batch_size` picks the record).
"""

from __future__ import annotations

from typing import Any

from bot.salesforce.client import SalesforceClient

BILLING_CONFIG_SOQL = (
    "SELECT Id, Name, blng__NumberValue__c, blng__StringValue__c, blng__Description__c "
    "FROM blng__BillingConfig__c"
)


def billing_config_records(client: SalesforceClient) -> list[dict[str, Any]]:
    return client.query_list(BILLING_CONFIG_SOQL)
