"""The audit (DESIGN section 8): what will break the next payment run, said before it does.

- `source`: the `AuditSource` port and its rows; `AuditWindow` (the dates judged against).
- `catalogue`: every check's stable code, title and severity.
- `checks`, `stripe_check`: the checks; `run`: running them all, each failure contained.
- `diff`: new / resolved / still open against the previous run.
- `model`: the results; `render`: text and CSV.
"""

from commands.audit.model import AuditResult, CheckResult, Finding, Status
from commands.audit.render import render_text
from commands.audit.run import AuditOptions, audit, run_checks

__all__ = [
    "AuditOptions",
    "AuditResult",
    "CheckResult",
    "Finding",
    "Status",
    "audit",
    "render_text",
    "run_checks",
]
