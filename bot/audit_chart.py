"""A small PNG of open findings over recent audit runs, for the summary's thread.

matplotlib with the Agg backend: no display, no GUI toolkit, safe on a scheduler thread. The
figure is built with the object API (no pyplot state machine), so two audits drawing at once
never draw on each other's figure.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def open_findings_chart(history: Sequence[tuple[datetime, int]]) -> bytes:
    """PNG bytes: one point per run (oldest first), labelled by date."""
    figure = Figure(figsize=(6, 2.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(history)))
    counts = [n for _, n in history]
    axes.plot(positions, counts, marker="o", color="#1264a3")
    axes.fill_between(positions, counts, color="#1264a3", alpha=0.12)
    axes.set_xticks(positions, [at.strftime("%d %b") for at, _ in history], fontsize=7)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("open findings", fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_title("Open audit findings, recent runs", fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
