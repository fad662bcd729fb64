"""The frontier's picture: each policy a point at (median exposure, median markout-adjusted
cost), with error bars spanning the interquartile range of each. matplotlib is imported here
only, when a plot is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hedgekit.frontier.metrics import horizon_label
from hedgekit.frontier.result import FrontierResult

__all__ = ["PLOT_HORIZON_S", "plot_frontier"]

PLOT_HORIZON_S = 5.0
"""The markout horizon of the cost axis."""


def plot_frontier(result: FrontierResult, path: Path) -> Path:
    """Writes the scatter as a PNG.

    x: median exposure, USD·s (log scale; a zero — a median or a quartile — is drawn at half the
    smallest positive value shown, and the axis label says where). y: median markout-adjusted
    cost at 5 s, bps. Bars: 25th to 75th percentile of each. Hedgekit's policies are blue dots,
    the baselines orange squares; policies at the same point share one label. A policy without
    a traded open has no cost and is left out (named in the title).

    Raises:
        ImportError: matplotlib is not installed (the ``plot`` extra); the message names it.
        OSError: ``path`` cannot be written.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # the "plot" extra is not installed: one line naming it
        raise ImportError('matplotlib is not installed: pip install "hedgekit[plot]"') from exc

    key = horizon_label(PLOT_HORIZON_S)
    points: list[tuple[str, bool, tuple[float, float, float], tuple[float, float, float]]] = []
    left_out: list[str] = []
    for pr in result.policies:
        exp = pr.summary.exposure_usd_s
        cost = pr.summary.markout_adjusted_bps[key]
        if exp.median is None or cost.median is None:
            left_out.append(pr.policy.name)
            continue
        xs = (exp.median, _or(exp.q25, exp.median), _or(exp.q75, exp.median))
        ys = (cost.median, _or(cost.q25, cost.median), _or(cost.q75, cost.median))
        points.append((pr.policy.name, pr.policy.is_baseline, xs, ys))
    positive = [v for _, _, xs, _ in points for v in xs if v > 0]
    floor = min(positive) / 2 if positive else 1.0
    fig = Figure(figsize=(10, 6.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    labels: dict[tuple[float, float], list[str]] = {}
    for name, baseline, (x, x_lo, x_hi), (y, y_lo, y_hi) in points:
        x, x_lo, x_hi = (max(v, floor) for v in (x, x_lo, x_hi))
        color = "tab:orange" if baseline else "tab:blue"
        ax.errorbar(
            [x],
            [y],
            xerr=[[max(x - x_lo, 0.0)], [max(x_hi - x, 0.0)]],
            yerr=[[max(y - y_lo, 0.0)], [max(y_hi - y, 0.0)]],
            fmt="s" if baseline else "o",
            color=color,
            ecolor=color,
            elinewidth=1,
            capsize=3,
            markersize=7,
            alpha=0.8,
        )
        labels.setdefault((x, y), []).append(name)
    ax.set_xscale("log")
    zero = f"; 0 drawn at {floor:.3g}" if any(v <= 0 for _, _, xs, _ in points for v in xs) else ""
    ax.set_xlabel(
        f"unhedged exposure of the open, USD·s (median; bars: 25th–75th percentile{zero})"
    )
    ax.set_ylabel(f"markout-adjusted cost at {PLOT_HORIZON_S:g} s, bps (median; bars: IQR)")
    ax.grid(True, which="both", linewidth=0.4, alpha=0.5)
    n = len(result.seeds)
    plural = "s" if n != 1 else ""
    title = f"Frontier: {result.scenario} — open of {result.size}, {n} seed{plural} per policy"
    if left_out:
        title += f"\n(no traded open: {', '.join(left_out)})"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    _place_labels(ax, [(x, y, " / ".join(names)) for (x, y), names in labels.items()])
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(out), format="png")
    return out


def _place_labels(ax: Any, labels: list[tuple[float, float, str]]) -> None:
    """Writes each label next to its point, moving it up or down (with a leader line) until it
    overlaps no label already written: the topmost points are labelled first."""
    char_px, height_px, gap_px = 5.2, 11.0, 3.0
    placed: list[tuple[float, float, float, float]] = []

    def free(box: tuple[float, float, float, float]) -> bool:
        x0, y0, x1, y1 = box
        return all(x1 <= a0 or x0 >= a1 or y1 <= b0 or y0 >= b1 for a0, b0, a1, b1 in placed)

    right_edge = float(ax.bbox.x1)
    at = [(ax.transData.transform((x, y)), text, x, y) for x, y, text in labels]
    for (px, py), text, x, y in sorted(at, key=lambda item: (-item[0][1], item[0][0])):
        width = char_px * len(text)
        dx = 6.0 if px + 6 + width <= right_edge else -6.0 - width  # left of the point at the edge
        steps = [0.0]
        for k in range(1, 40):
            steps += [k * (height_px + gap_px), -k * (height_px + gap_px)]
        for dy in steps:
            box = (px + dx, py + 4 + dy, px + dx + width, py + 4 + dy + height_px)
            if free(box):
                break
        placed.append(box)
        ax.annotate(
            text,
            (x, y),
            textcoords="offset pixels",
            xytext=(dx, 4 + dy),
            fontsize=8,
            arrowprops=None if dy == 0 else {"arrowstyle": "-", "color": "0.6", "linewidth": 0.6},
        )


def _or(x: float | None, default: float) -> float:
    return default if x is None else x
