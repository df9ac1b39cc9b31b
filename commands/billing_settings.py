"""Finding "Payment creation batch size" among Salesforce Billing's settings records.

The setting lives in the `blng__BillingConfig__c` list custom setting, but its record Name is
not documented: it is recognised by Name or Description mentioning payment + batch + size
(DESIGN section 5), unless the admin names the record in SF_BATCH_SIZE_SETTING. `doctor` and
the audit both use this, so they can never disagree about which record they read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

BATCH_SIZE_MAX = 70
WHERE_TO_CHANGE = (
    "Setup > Installed Packages > Salesforce Billing > Configure > Payment tab > "
    "Payment creation batch size"
)


@dataclass(frozen=True)
class BatchSizeSetting:
    value: int | None  # None when the record was not found or holds no number
    record_id: str | None
    record_name: str | None
    problem: str | None = None  # why the value could not be read


def _words(text: str | None) -> set[str]:
    return set(re.findall(r"[a-z]+", (text or "").lower()))


def find_batch_size(records: list[dict[str, Any]], name: str | None = None) -> BatchSizeSetting:
    """Pick the one record that holds the setting, or say why none (or several) could be."""
    if name:
        matches = [r for r in records if (r.get("Name") or "").lower() == name.lower()]
    else:
        wanted = {"payment", "batch", "size"}
        matches = [
            r
            for r in records
            if wanted <= _words(r.get("Name")).union(_words(r.get("blng__Description__c")))
            or wanted <= _words(re.sub(r"([a-z])([A-Z])", r"\1 \2", r.get("Name") or ""))
        ]
    if not matches:
        where = f"named {name!r}" if name else "about the payment batch size"
        return BatchSizeSetting(
            None, None, None, f"no Billing settings record {where} (set SF_BATCH_SIZE_SETTING)"
        )
    if len(matches) > 1:
        names = ", ".join(sorted(str(r.get("Name")) for r in matches))
        return BatchSizeSetting(
            None,
            None,
            None,
            f"several Billing settings records could be it ({names}): "
            "set SF_BATCH_SIZE_SETTING to the right one",
        )
    record = matches[0]
    raw = record.get("blng__NumberValue__c")
    if raw is None and record.get("blng__StringValue__c"):
        raw = record["blng__StringValue__c"]
    try:
        value = int(float(raw)) if raw is not None else None
    except (TypeError, ValueError):
        value = None
    problem = None if value is not None else f"record {record.get('Name')} holds no number"
    return BatchSizeSetting(value, record.get("Id"), record.get("Name"), problem)
