"""`doctor`'s checklist: one line per connection, and whether the bot can run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hints: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DoctorReport:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def render_text(report: DoctorReport) -> str:
    lines = []
    for check in report.checks:
        mark = "✓" if check.ok else "✗"
        lines.append(f"{mark} {check.name:<11} {check.detail}")
        lines.extend(f"    {hint}" for hint in check.hints)
    lines.append("All checks passed." if report.ok else "Some checks failed: fix the ✗ lines.")
    return "\n".join(lines)
