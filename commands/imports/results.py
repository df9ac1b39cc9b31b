"""What preparing an import produces: problems per row, the planned writes, and the report.

These types are the contract between validation and everything after it (the approval
message, the run engine, the success and error CSVs), so they hold plain values only and
round-trip through `to_dict`/`from_dict` for storage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from commands.imports.scenario import Scenario
from commands.problems import Problem, Severity


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem: where (line, column as the file names it) and what (a DESIGN code)."""

    line: int
    column: str
    code: str
    severity: Severity
    message: str

    @classmethod
    def of(
        cls, line: int, column: str, code: str, message: str, severity: Severity | None = None
    ) -> RowProblem:
        """With the code's default severity unless told otherwise."""
        problem = Problem.of(code, message, severity)
        return cls(line, column, problem.code, problem.severity, problem.message)

    @property
    def fix(self) -> str:
        return Problem(self.code, self.severity, self.message).fix

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RowProblem:
        return cls(
            int(data["line"]),
            data["column"],
            data["code"],
            Severity(data["severity"]),
            data["message"],
        )


class RowStatus(StrEnum):
    OK = "ok"  # will be written
    SKIP = "skip"  # already in Salesforce: nothing to do
    REJECTED = "rejected"  # has an error: not written


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    NONE = "none"


@dataclass(slots=True)
class PlannedRow:
    """One data row and what the run will do for it.

    Several rows may share one Account (a customer with two cards). The Account is created or
    updated once, on the first of them (`account_action`); the others say `none` and carry the
    same `account_key` (and `account_id` when it already exists), so the run engine links their
    payment methods to the Account it created. `payment_method_fields` never holds
    `blng__Account__c` for an Account created in the same run: the engine sets it.
    """

    line: int
    status: RowStatus
    account_action: Action
    account_id: str | None
    account_fields: dict[str, Any]
    payment_method_action: Action
    payment_method_fields: dict[str, Any]
    account_key: str | None
    source: dict[str, str]
    problems: list[RowProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["account_action"] = str(self.account_action)
        data["payment_method_action"] = str(self.payment_method_action)
        data["problems"] = [p.to_dict() for p in self.problems]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannedRow:
        return cls(
            line=int(data["line"]),
            status=RowStatus(data["status"]),
            account_action=Action(data["account_action"]),
            account_id=data.get("account_id"),
            account_fields=dict(data.get("account_fields") or {}),
            payment_method_action=Action(data["payment_method_action"]),
            payment_method_fields=dict(data.get("payment_method_fields") or {}),
            account_key=data.get("account_key"),
            source=dict(data.get("source") or {}),
            problems=[RowProblem.from_dict(p) for p in data.get("problems") or []],
        )


@dataclass
class Plan:
    accounts_create: int = 0
    accounts_update: int = 0
    payment_methods_create: int = 0
    skipped: int = 0
    rejected_rows: int = 0


@dataclass
class ImportReport:
    filename: str
    scenario: Scenario
    scenario_detected: bool
    scenario_reason: str
    encoding: str
    delimiter: str
    rows: int
    header: list[str]
    columns: dict[str, str]  # field label -> the header cell that holds it
    problems: list[RowProblem]
    plan: Plan
    planned: list[PlannedRow]
    skipped_checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def has_rejections(self) -> bool:
        return self.plan.rejected_rows > 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `billing-bot import --dry-run --json` (planned rows hold full tokens,
        so they stay out of it)."""
        return {
            "scenario": str(self.scenario),
            "scenario_detected": self.scenario_detected,
            "scenario_reason": self.scenario_reason,
            "filename": self.filename,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows": self.rows,
            "problems": [p.to_dict() for p in self.problems],
            "plan": asdict(self.plan),
            "skipped_checks": list(self.skipped_checks),
            "warnings": list(self.warnings),
        }
