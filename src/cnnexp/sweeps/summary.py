"""The summary of a sweep (or a folder of runs), grouped by what was swept (cnnexp-report).

Writes into the dir: summary.csv (a row per job: its overrides, metrics.json, or its error; a cnnexp-tune
trial's number, and "pruned" for a trial the study stopped early),
summary.md (groups of the swept settings with mean and 95% interval over seeds, best validation
first), summary.tex (those groups as a booktabs table for a paper or slides), summary.png (validation and test
accuracy, and shift consistency where measured, per group), layers.png (the layer profile per group, where
measured);
and the runs' TensorBoard HParams experiment summary (cnnexp.hparams).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

from cnnexp.hparams import write_sweep_experiment
from cnnexp.readers import UnreadableFile, read_metrics, read_overrides, read_trial
from cnnexp.stats import t_interval
from cnnexp.sweeps.points import find_jobs

# Validation ranks; the test set and the invariance suite (on test images) are reported beside it.
SORT_METRIC = "val/acc_best"
SUMMARIZED = (SORT_METRIC, "test/acc", "inv/shift_consistency")
# The layer profile's per-layer key that the report draws per group (invariance to a 1-px shift).
LAYER_KEY = "inv/layer/{layer}/shift1_invariance"


def job_error(job: Path) -> str:
    """The last error line a failed job left in its log."""
    for log in sorted(p for p in job.glob("*.log") if p.is_file()):
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if "error" in ln.lower()]
        if lines:
            return lines[-1].split("] - ")[-1].strip()
    return "no metrics.json and no error in the log (killed or still running?)"


def job_row(root: Path, job: Path) -> dict:
    """A job's overrides and metrics; status ok, failed (no metrics.json) or unreadable (a corrupted file: listed,
    the other jobs reported)."""
    row: dict = {"job": str(job.relative_to(root)) or "."}
    swept: dict = {}  # kept in the row when a file read after them is unreadable
    try:
        swept = dict(o.split("=", 1) for o in read_overrides(job / ".hydra" / "overrides.yaml")
                     if "=" in o and not o.startswith(("paths.", "hydra")))
        trial = read_trial(job / "trial.json") if (job / "trial.json").is_file() else None
        if trial:  # a cnnexp-tune trial: its number, and whether the study stopped it early
            row["trial"] = trial["number"]
        row |= swept
        metrics_file = job / "metrics.json"
        if not metrics_file.is_file():
            if trial and trial["state"] == "pruned":
                return row | {"status": "pruned", "error": trial.get("note", "")}
            return row | {"status": "failed", "error": job_error(job)}
        return row | {"status": "ok", "error": ""} | read_metrics(metrics_file)
    except UnreadableFile as e:
        return row | swept | {"status": "unreadable", "error": e.brief}


def summarize(rows: list[dict]):
    table = pd.DataFrame(rows)
    override_keys = [c for c in table.columns if c not in ("job", "status", "error") and "/" not in c
                     and c != "epochs"]
    # A job whose overrides could not be read says nothing about what was swept.
    known = table[~table.error.str.contains("overrides.yaml", regex=False)]
    swept = [k for k in override_keys if k != "seed" and known[k].nunique(dropna=False) > 1]
    ok = table[table.status == "ok"]
    groups = []
    if not ok.empty:
        keyed = ok.groupby(swept, dropna=False) if swept else [((), ok)]
        for key, part in keyed:
            key = key if isinstance(key, tuple) else (key,)
            group = dict(zip(swept, key)) | {"runs": len(part)}
            for metric in SUMMARIZED:
                if metric in part and part[metric].notna().any():
                    group[metric], group[f"{metric} ±95%"] = t_interval(part[metric].dropna().tolist())
            prefix, suffix = LAYER_KEY.split("{layer}")
            group["layers"] = {c.removeprefix(prefix).removesuffix(suffix): part[c].mean() for c in part.columns
                               if c.startswith(prefix) and c.endswith(suffix) and part[c].notna().any()}
            groups.append(group)
    groups.sort(key=lambda g: -g.get(SORT_METRIC, -1))
    return table, swept, groups


def _fmt(value) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def markdown(table, swept: list[str], groups: list[dict]) -> str:
    pruned = table[table.status == "pruned"]
    failed = table[~table.status.isin(("ok", "pruned"))]
    unreadable = int((table.status == "unreadable").sum())
    lines = [f"# Summary: {len(table)} jobs, {int((table.status == 'ok').sum())} finished, "
             + (f"{len(pruned)} pruned, " if len(pruned) else "") + f"{len(failed) - unreadable} failed"
             + (f", {unreadable} unreadable" if unreadable else ""), ""]
    if groups:
        cols = [*swept, "runs", *(c for c in groups[0] if c not in (*swept, "runs", "layers"))]
        lines += ["Grouped by " + (", ".join(swept) or "nothing (one setting)") +
                  "; mean over runs (seeds) with the half-width of the 95% t-interval; "
                  "best validation first (val/acc_best: it selects; test/acc reports).", "",
                  "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_fmt(g.get(c, "")) for c in cols) + " |" for g in groups]
    if len(pruned):
        lines += ["", "## Pruned trials (stopped early by the study)", ""]
        lines += [f"- `{r.job}`: {r.error}" for r in pruned.itertuples()]
    if len(failed):
        lines += ["", "## Failed or unreadable jobs", ""] + [f"- `{r.job}`: {r.error}" for r in failed.itertuples()]
    return "\n".join(lines) + "\n"


def _interval(group: dict, metric: str) -> str:
    """Mean ± half-width, as summary.md prints them (empty where the group lacks the metric, as there)."""
    if metric not in group:
        return ""
    return f"{_fmt(group[metric])} $\\pm$ {_fmt(group.get(f'{metric} ±95%', math.nan))}"


def latex(swept: list[str], groups: list[dict]) -> str:
    """summary.md's groups as a booktabs table: mean and 95% half-width in one cell, the ranking metric's best
    in bold, each test-set column labelled as reported. pandas' Styler.to_latex, for its booktabs rules and its
    LaTeX escaping of the swept settings' values (`_`, `%`, `&`, `#`, ...)."""
    metrics = [m for m in SUMMARIZED if any(m in g for g in groups)]
    labels = {m: f"{m} ({'ranks' if m == SORT_METRIC else 'reported'})" for m in metrics}
    rows = [{**{k: g[k] for k in swept}, "runs": g["runs"], **{labels[m]: _interval(g, m) for m in metrics}}
            for g in groups]
    styler = pd.DataFrame(rows).style.hide(axis="index").format(escape="latex", na_rep="n/a", subset=swept)
    styler = styler.format_index(escape="latex", axis=1)
    if SORT_METRIC in metrics:
        best = max(g.get(SORT_METRIC, -math.inf) for g in groups)
        styler = styler.apply(lambda _: ["textbf:--rwrap;" if g.get(SORT_METRIC) == best else "" for g in groups],
                              subset=[labels[SORT_METRIC]])
    caption = (r"Mean over runs (seeds) $\pm$ half-width of the 95\% t-interval. Ranked by "
               + SORT_METRIC.replace("_", r"\_") + r" (validation selects; best in bold). The test-set columns "
               r"(reported) were not used to select.")
    body = styler.to_latex(hrules=True, caption=caption, position_float="centering",
                           column_format="l" * len(swept) + "r" * (1 + len(metrics)))
    return "% cnnexp-report's summary table; needs \\usepackage{booktabs}\n" + body


def plot(groups: list[dict], swept: list[str], path: Path) -> None:
    metrics = [m for m in SUMMARIZED if any(m in g for g in groups)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 0.5 * len(groups) + 1.5), squeeze=False)
    # A study's trials differ in every searched key: the trial number names each bar.
    shown = ["trial"] if "trial" in swept else swept
    labels = [", ".join(f"{k}={g[k]}" for k in shown) or "all" for g in groups]
    for ax, metric in zip(axes[0], metrics):
        values = [g.get(metric, math.nan) for g in groups]
        errors = [0 if math.isnan(g.get(f"{metric} ±95%", math.nan)) else g[f"{metric} ±95%"] for g in groups]
        ax.barh(labels, values, xerr=errors, color="tab:blue", alpha=0.8)
        ax.set_xlabel(metric)
        finite = [v for v in values if not math.isnan(v)]
        if finite:
            ax.set_xlim(max(0.0, min(finite) - 0.05), min(1.0, max(finite) + 0.02))
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_layers(groups: list[dict], swept: list[str], path: Path) -> None:
    """The layer profile per group: each layer's invariance to a 1-px shift (mean over the group's runs)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for g in (g for g in groups if g["layers"]):
        label = ", ".join(f"{k}={g[k]}" for k in swept) or "all"
        ax.plot(list(g["layers"]), list(g["layers"].values()), marker="o", ms=3, label=label)
    ax.set_ylabel("||f(Tx) - f(x)|| / ||f(x)||, 1-px shift")
    ax.set_xlabel("layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(root: Path) -> tuple[Path, Path]:
    jobs = find_jobs(root)
    if not jobs:
        raise FileNotFoundError(f"{root}: no runs found (no .hydra/overrides.yaml below it)")
    table, swept, groups = summarize([job_row(root, j) for j in jobs])
    table.to_csv(root / "summary.csv", index=False)
    (root / "summary.md").write_text(markdown(table, swept, groups))
    if groups:
        (root / "summary.tex").write_text(latex(swept, groups))
        plot(groups, swept, root / "summary.png")
    if any(g["layers"] for g in groups):
        plot_layers(groups, swept, root / "layers.png")
    write_sweep_experiment(root, jobs)
    return root / "summary.csv", root / "summary.md"
