"""CSV imports of customers and payment methods (DESIGN section 7).

`prepare_import` reads, detects the scenario, validates every row, cross-checks Salesforce
and Stripe and plans the writes; the approval flow and the run engine build on its report.
"""

from commands.imports.crosscheck import (
    AccountRecord,
    GatewayRecord,
    ImportDirectory,
    PaymentMethodRecord,
)
from commands.imports.prepare import prepare_import
from commands.imports.reader import FileRejected, Limits
from commands.imports.results import (
    Action,
    ImportReport,
    Plan,
    PlannedRow,
    RowProblem,
    RowStatus,
)
from commands.imports.scenario import Scenario

__all__ = [
    "AccountRecord",
    "Action",
    "FileRejected",
    "GatewayRecord",
    "ImportDirectory",
    "ImportReport",
    "Limits",
    "PaymentMethodRecord",
    "Plan",
    "PlannedRow",
    "RowProblem",
    "RowStatus",
    "Scenario",
    "prepare_import",
]
