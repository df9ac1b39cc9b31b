"""`help`: what the asking person may run, with an example each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HelpEntry:
    name: str
    summary: str
    example: str
    available: bool = True


@dataclass(frozen=True)
class HelpResult:
    entries: list[HelpEntry]
    unknown: str | None = None  # the subcommand the person typed that does not exist
    contact: str = ""


def build_help(
    entries: list[HelpEntry], unknown: str | None = None, contact: str = ""
) -> HelpResult:
    """Entries are already filtered to what the person may run."""
    return HelpResult(entries=list(entries), unknown=unknown, contact=contact)


def render_text(result: HelpResult) -> str:
    lines = []
    if result.unknown:
        lines.append(f"I don't know the command “{result.unknown}”. Here is what you can run:")
    else:
        lines.append("Here is what you can run:")
    for entry in result.entries:
        note = "" if entry.available else " (not available yet)"
        lines.append(f"• {entry.name}: {entry.summary}{note}\n    e.g. {entry.example}")
    if result.contact:
        lines.append(f"Need something else? Ask {result.contact}.")
    return "\n".join(lines)
