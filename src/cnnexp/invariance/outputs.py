"""Writing the suite's results: invariance.json, invariance.csv (long form), invariance.png, TensorBoard."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from cnnexp.files import atomic_write_bytes, write_json
from cnnexp.invariance.measures import CURVES, LABELS


def curves(results: dict) -> list[str]:
    """The curves this run measured (a family set to null in the config is absent)."""
    return [c for c in CURVES if c in results]


def long_rows(results: dict) -> list[tuple[str, float | str, str, float]]:
    rows = []
    for family in [f for f in (*curves(results), "circular_shifts") if f in results]:
        curve = results[family]
        for metric in ("acc", "loss", "agreement", "max_logit_change"):
            rows += [(family, v, metric, n) for v, n in zip(curve["values"], curve.get(metric, []))]
    if turns := results.get("quarter_turns"):
        for metric in ("acc", "agreement", "max_logit_change"):
            rows += [("quarter_turns", k, metric, n) for k, n in zip(turns["k"], turns[metric])]
    for name in ("consistency", "circular_consistency"):
        part = results.get(name, {})
        rows += [(name, part["max_shift"], key, part[key]) for key in ("value", "correct", "incorrect") if key in part]
    rows += [("stability", 1, k, v) for k, v in results.get("stability", {}).items()]
    rows += [("summary", "", k, v) for k, v in results["summary"].items()]
    return rows


def _plot(ax, results: dict, family: str) -> None:
    """One curve against its magnitude, on the same 0-100 % axis in every run, so runs compare."""
    ax.plot(results[family]["values"], [100 * a for a in results[family]["acc"]], marker="o", ms=3)
    ax.set_xlabel(LABELS[family])
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)


def figure(results: dict):
    names = curves(results)
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4 * max(1, len(names)), 3.2), sharey=True, squeeze=False)
    for ax, family in zip(axes[0], names):
        _plot(ax, results, family)
    axes[0][0].set_ylabel("test accuracy (%)")
    fig.tight_layout()
    return fig


def write_outputs(results: dict, run_dir: Path) -> None:
    write_json(run_dir / "invariance.json", results)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["family", "value", "metric", "number"])
    writer.writerows(long_rows(results))
    atomic_write_bytes(run_dir / "invariance.csv", buf.getvalue().encode())
    fig = figure(results)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    atomic_write_bytes(run_dir / "invariance.png", png.getvalue())


def log_to_tensorboard(writer, results: dict) -> None:
    """Each curve as a figure `invariance/<family>` (Images tab) with its unit on the x-axis. Not scalars:
    TensorBoard would smooth them and draw their magnitude as a time axis."""
    for family in curves(results):
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        _plot(ax, results, family)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{family}: test accuracy")
        fig.tight_layout()
        writer.add_figure(f"invariance/{family}", fig, 0)  # closes the figure
    writer.flush()
