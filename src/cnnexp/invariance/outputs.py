"""Writing the suite's results: invariance.json, invariance.csv (long form), invariance.png, TensorBoard."""

from __future__ import annotations

import csv
import io
import math
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
    if profile := results.get("layers"):
        rows += [("layers", layer, f"{kind}: {t}", v) for kind in ("invariance", "equivariance")
                 for t, values in profile[kind].items() for layer, v in zip(profile["layers"], values) if v is not None]
    rows += [("summary", "", k, v) for k, v in results["summary"].items()]
    return rows


def _plot(ax, results: dict, family: str) -> None:
    """One curve against its magnitude, on the same 0-100 % axis in every run, so runs compare."""
    ax.plot(results[family]["values"], [100 * a for a in results[family]["acc"]], marker="o", ms=3)
    ax.set_xlabel(LABELS[family])
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)


def _margins(fig, left: float = 0.7, bottom: float = 0.5, top: float = 0.15, right: float = 0.2, **space) -> None:
    """Margins fixed in inches, for labels of known size: tight_layout would draw the figure once more to measure
    them, which doubled the cost of a run's figures."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        **space)


def figure(results: dict):
    names = curves(results)
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4 * max(1, len(names)), 3.2), sharey=True, squeeze=False)
    for ax, family in zip(axes[0], names):
        _plot(ax, results, family)
    axes[0][0].set_ylabel("test accuracy (%)")
    _margins(fig, wspace=0.08)
    return fig


def profile_figure(profile: dict):
    """The layer profile: the layers on the x-axis, one line per transform size; each family's invariance (top)
    and, where the move exists at a layer, its equivariance (bottom)."""
    families = list(dict.fromkeys(t["family"] for t in profile["transforms"]))
    fig, axes = plt.subplots(2, len(families), figsize=(3.4 * len(families), 5.6), sharex=True, sharey="row",
                             squeeze=False)
    for col, family in enumerate(families):
        for row, kind in enumerate(("invariance", "equivariance")):
            ax = axes[row][col]
            for t in (t for t in profile["transforms"] if t["family"] == family):
                values = [math.nan if v is None else v for v in profile[kind][t["name"]]]
                if not all(math.isnan(v) for v in values):
                    ax.plot(profile["layers"], values, marker="o", ms=3, label=str(t["size"]))
            ax.set_title(f"{family.replace('_', ' ')}: {kind}", fontsize=9)
            ax.tick_params(axis="x", labelrotation=90, labelsize=8)
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7, title="size", title_fontsize=7)
    axes[0][0].set_ylabel("||f(Tx) - f(x)|| / ||f(x)||")
    axes[1][0].set_ylabel("||f(Tx) - T'f(x)|| / ||f(x)||")
    _margins(fig, left=0.75, bottom=0.75, top=0.3, wspace=0.12, hspace=0.2)
    return fig


def _png(fig) -> bytes:
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    plt.close(fig)
    return png.getvalue()


def write_outputs(results: dict, run_dir: Path, figures: bool = True) -> None:
    """invariance.json and .csv; with `figures`, invariance.png and layers.png too."""
    write_json(run_dir / "invariance.json", results)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["family", "value", "metric", "number"])
    writer.writerows(long_rows(results))
    atomic_write_bytes(run_dir / "invariance.csv", buf.getvalue().encode())
    if not figures:
        return
    atomic_write_bytes(run_dir / "invariance.png", _png(figure(results)))
    if "layers" in results:
        atomic_write_bytes(run_dir / "layers.png", _png(profile_figure(results["layers"])))


def log_to_tensorboard(writer, results: dict, run_dir: Path) -> None:
    """Each curve as a figure `invariance/<family>` (Images tab) with its unit on the x-axis. Not scalars:
    TensorBoard would smooth them and draw their magnitude as a time axis. The layer profile: the run dir's
    layers.png, drawn once (write_outputs) rather than again."""
    for family in curves(results):
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        _plot(ax, results, family)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{family}: test accuracy")
        _margins(fig, top=0.35)
        writer.add_figure(f"invariance/{family}", fig, 0)  # closes the figure
    if "layers" in results:
        writer.add_image("invariance/layers", plt.imread(run_dir / "layers.png"), 0, dataformats="HWC")
    writer.flush()
