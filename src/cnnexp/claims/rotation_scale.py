"""C11 (no built-in rotation or scale invariance) and C12 (augmentation helps)."""

from __future__ import annotations

from cnnexp.claims.arms import AUGMENTED, BASELINE, acc_at, clean_acc, fmt, per_seed, summary
from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import Context, Outcome, claim
from cnnexp.claims.verdict import Part, beyond, greater, overall
from cnnexp.stats import difference_interval, t_interval

SHARP = 10.0  # points of accuracy: a drop of 10 points is ten times the error of a ~99% model
FLAT = 2.0    # a drop under 2 points would mean near-invariance
# The transforms whose drop from clean accuracy C11 measures: +-45 degrees, and the ends of the scale grid.
PROBES = {"rotate ±45°": ("rotate", (-45, 45)), "rotate ±90°": ("rotate", (-90, 90)),
          "scale 0.5": ("scale", (0.5,)), "scale 1.5": ("scale", (1.5,))}


IDENTITY = {"rotate": 0, "scale": 1.0}


def drop(run, family: str, values) -> float:
    """Points lost against the same images untransformed (the curve's own identity point)."""
    return acc_at(run, family, IDENTITY[family]) - sum(acc_at(run, family, v) for v in values) / len(values)


def judge_drops(m: dict) -> dict[str, Part]:
    return {name: beyond(d, above=SHARP, below=FLAT) for name, d in m["drops"].items()}


@claim(
    "C11", "No built-in rotation or scale invariance",
    lecture="Sec. 4: 'CNNs are not inherently invariant to translation, rotation, or scale.'",
    method="LeNet-5 trained without augmentation; on the official test set, accuracy with every image rotated "
           "(counter-clockwise, about its centre) and scaled (about its centre), against the same images "
           "untransformed.",
    rule=f"For rotations of ±45° and ±90° and scales 0.5 and 1.5: PASS if the accuracy drop from clean exceeds "
         f"{SHARP:g} points with 95% confidence, FAIL if it is below {FLAT:g} points with 95% confidence, "
         "otherwise INCONCLUSIVE; the verdict combines the four (any FAIL -> FAIL, all PASS -> PASS).",
    arms=(BASELINE,), judge=judge_drops,
)
def rotation_scale(ctx: Context) -> Outcome:
    runs = ctx.runs.get(*BASELINE)
    drops = {name: per_seed(runs, lambda r, f=f, v=v: drop(r, f, v)) for name, (f, v) in PROBES.items()}
    parts = judge_drops({"drops": drops})
    curves = {f: {str(v): summary(per_seed(runs, lambda r, f=f, v=v: acc_at(r, f, v)))
                  for v in runs[0].invariance[f]["values"]} for f in ("rotate", "scale")}
    evidence = {"clean_acc": summary(per_seed(runs, clean_acc)),
                "drop_points": {n: summary(d) for n, d in drops.items()}, "curves": curves}
    fig, axes = new_figure(ncols=2, width=4.4)
    for ax, family, label in zip(axes, ("rotate", "scale"), ("rotation (degrees, ccw)", "scale factor")):
        values = runs[0].invariance[family]["values"]
        stats = [t_interval(per_seed(runs, lambda r, v=v, family=family: acc_at(r, family, v))) for v in values]
        ax.errorbar(values, [a for a, _ in stats], [h for _, h in stats], marker="o", capsize=3)
        ax.set(xlabel=label, ylabel="test accuracy (%)", ylim=(0, 100))
    fig.suptitle("C11: LeNet-5 without augmentation (mean ± 95% CI over seeds)")
    key = "; ".join(f"{n} {fmt(d, ' pts')}" for n, d in drops.items())
    return Outcome(overall(parts), f"accuracy lost: {key}", evidence, [save(fig, ctx.out_dir, "c11.png")],
                   parts=parts)


# The suite's summary AUC that matches each augmentation.
MATCHING_AUC = {"shift": ("inv/shift_x_auc", "inv/shift_y_auc"), "rotate": ("inv/rotate_auc",),
                "scale": ("inv/scale_auc",)}


def matching_auc(run, augment: str) -> float:
    keys = MATCHING_AUC[augment]
    return 100 * sum(run.metrics[k] for k in keys) / len(keys)


def judge_augmentation(m: dict) -> dict[str, Part]:
    """Per augmentation: its matching AUC against the unaugmented network's, over seeds."""
    return {aug: greater(arms["augmented"], arms["none"]) for aug, arms in m.items()}


@claim(
    "C12", "Augmentation helps against the transform it shows",
    lecture="Sec. 4: 'applying data augmentation by shifting, rotating, or scaling images can make CNN more "
            "robust during CNN training.'",
    method="LeNet-5 trained with random shifts (±2 px), rotations (±15°) or scalings (0.85-1.15), drawn per "
           "image, against the same network without augmentation (same recipe, seeds, data). "
           "Robustness = normalised area under the accuracy curve of the matching transform over the suite's "
           "grid (shifts: mean of horizontal and vertical). The clean-accuracy cost is reported.",
    rule="For each augmentation: PASS if its matching AUC exceeds the unaugmented network's with 95% "
         "confidence (Welch interval of the difference above 0), FAIL if below with 95% confidence, otherwise "
         "INCONCLUSIVE; the verdict combines the three (any FAIL -> FAIL, all PASS -> PASS).",
    arms=(BASELINE, *AUGMENTED.values()), judge=judge_augmentation,
)
def augmentation(ctx: Context) -> Outcome:
    base = ctx.runs.get(*BASELINE)
    parts, evidence_arms, rows = {}, {}, []
    for aug, arm in AUGMENTED.items():
        runs = ctx.runs.get(*arm)
        with_aug = per_seed(runs, lambda r, aug=aug: matching_auc(r, aug))
        without = per_seed(base, lambda r, aug=aug: matching_auc(r, aug))
        parts[aug] = judge_augmentation({aug: {"augmented": with_aug, "none": without}})[aug]
        gain = difference_interval(with_aug, without)
        cost = difference_interval(per_seed(runs, clean_acc), per_seed(base, clean_acc))
        evidence_arms[aug] = {"auc_augmented": summary(with_aug), "auc_none": summary(without),
                              "auc_gain": [round(v, 2) for v in gain],
                              "clean_acc": summary(per_seed(runs, clean_acc)),
                              "clean_acc_change": [round(v, 2) for v in cost]}
        rows.append((aug, with_aug, without))
    evidence = {"clean_acc_none": summary(per_seed(base, clean_acc)),
                "arms": evidence_arms, "interval_format": "[difference, 95% low, 95% high] in points"}
    fig, (ax,) = new_figure(width=5.5)
    for i, (_, with_aug, without) in enumerate(rows):
        for j, vals in enumerate((without, with_aug)):
            mean, half = t_interval(vals)
            ax.bar(i + 0.38 * j, mean, 0.38, yerr=half, capsize=4, color=("tab:gray", "tab:blue")[j],
                   label=("no augmentation", "augmented")[j] if i == 0 else None)
    ax.set_xticks([i + 0.19 for i in range(len(rows))], [f"{a} AUC" for a, _, _ in rows])
    ax.set(ylabel="normalised AUC (%)", title="C12: matching-transform robustness, mean ± 95% CI")
    ax.legend(fontsize=8)
    key = "; ".join(f"{a} {evidence_arms[a]['auc_gain'][0]:+.1f} AUC pts (clean "
                    f"{evidence_arms[a]['clean_acc_change'][0]:+.2f})" for a in AUGMENTED)
    return Outcome(overall(parts), key, evidence, [save(fig, ctx.out_dir, "c12.png")], parts=parts)
