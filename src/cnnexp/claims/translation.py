"""C10 (pooling gives only weak, local translation invariance) and C13 (weight sharing vs FC under shifts)."""

from __future__ import annotations

import math

from cnnexp.claims.arms import BASELINE, MLP, POOLED, POOLING, clean_acc, fmt, per_seed, shift_acc, summary
from cnnexp.claims.figures import new_figure, save
from cnnexp.claims.registry import FAIL, PASS, Context, Outcome, claim
from cnnexp.claims.verdict import combine, greater
from cnnexp.stats import difference_interval, t_interval

SMALL_SHIFTS = (1, 2)
GROWING_SHIFTS = (0, 1, 2, 4, 6)


def small_shift_acc(run) -> float:
    return sum(shift_acc(run, d) for d in SMALL_SHIFTS) / len(SMALL_SHIFTS)


def consistency(run) -> float:
    return 100 * run.invariance["consistency"]["value"]


def shift_auc(run) -> float:
    return 50 * (run.metrics["inv/shift_x_auc"] + run.metrics["inv/shift_y_auc"])


@claim(
    "C10", "Pooling gives only weak, local translation invariance",
    lecture="Sec. 4: 'CNNs provide only local / weak translation invariance: weight sharing and pooling make the "
            "network less sensitive to small shifts within a receptive field, but the activations still depend on "
            "where a pattern appears'; sec. 3: pooling 'introduces translation invariance'.",
    method="LeNet-5 trained the same way (same recipe, seeds, data) with max, average and blur pooling, and with "
           "no pooling (a learned stride-2 convolution in its place). On the official test set: shift consistency "
           "(same class for two random shifts within ±3 px, Zhang 2019), accuracy under 1-2 px shifts (mean over "
           "left/right/up/down), and accuracy as the shift grows to 6 px.",
    rule="For each pooled variant, its consistency and its 1-2 px shift accuracy must exceed the no-pooling "
         "variant's (95% Welch interval of the difference above 0: PASS; below 0: FAIL; else INCONCLUSIVE). "
         "Invariance must be partial: every variant's mean consistency below 100% and its accuracy falling at "
         "each step of 0, 1, 2, 4, 6 px (else FAIL). The verdict combines the parts: any FAIL -> FAIL, all "
         "PASS -> PASS, otherwise INCONCLUSIVE.",
    arms=tuple(POOLING.values()),
)
def pooling_translation(ctx: Context) -> Outcome:
    runs = {p: ctx.runs.get(*POOLING[p]) for p in (*POOLED, "none")}
    measures = {p: {"consistency": per_seed(r, consistency), "small_shift_acc": per_seed(r, small_shift_acc),
                    "clean_acc": per_seed(r, clean_acc),
                    "by_shift": {d: per_seed(r, lambda run, d=d: shift_acc(run, d)) for d in GROWING_SHIFTS}}
                for p, r in runs.items()}
    parts, comparisons = {}, {}
    for p in POOLED:
        for m in ("consistency", "small_shift_acc"):
            parts[f"{p} > none: {m}"] = greater(measures[p][m], measures["none"][m])
            diff, low, high = difference_interval(measures[p][m], measures["none"][m])
            comparisons[f"{p} - none: {m}"] = {"diff": round(diff, 2), "low": round(low, 2), "high": round(high, 2)}
    for p, m in measures.items():
        means = [t_interval(m["by_shift"][d])[0] for d in GROWING_SHIFTS]
        parts[f"{p}: consistency < 100%"] = PASS if t_interval(m["consistency"])[0] < 100 else FAIL
        parts[f"{p}: accuracy falls with the shift"] = PASS if all(a > b for a, b in zip(means, means[1:])) else FAIL
    evidence = {"parts": parts, "differences": comparisons,
                "arms": {p: {"consistency": summary(m["consistency"]), "small_shift_acc": summary(m["small_shift_acc"]),
                             "clean_acc": summary(m["clean_acc"]),
                             "acc_by_shift": {str(d): summary(v) for d, v in m["by_shift"].items()}}
                         for p, m in measures.items()}}
    fig, (ax1, ax2) = new_figure(ncols=2, width=4.4)
    for p, m in measures.items():
        means = [t_interval(m["by_shift"][d]) for d in GROWING_SHIFTS]
        ax1.errorbar(GROWING_SHIFTS, [a for a, _ in means], [h for _, h in means], marker="o", capsize=3, label=p)
    ax1.set(xlabel="shift (px, mean of 4 directions)", ylabel="test accuracy (%)", title="accuracy vs shift")
    ax1.legend(fontsize=8)
    names = list(measures)
    ci = [t_interval(measures[p]["consistency"]) for p in names]
    ax2.bar(names, [a for a, _ in ci], yerr=[h for _, h in ci], capsize=4, color="tab:gray")
    low = min(a - (0 if math.isnan(h) else h) for a, h in ci)  # one seed: no interval
    ax2.set(ylim=(max(0, low - 5), 100), ylabel="shift consistency (%)", title="consistency (±3 px)")
    fig.suptitle("C10: pooling and small shifts (mean ± 95% CI over seeds)")
    key = ", ".join(f"{p} {fmt(measures[p]['consistency'])}" for p in names)
    return Outcome(combine(list(parts.values())), f"shift consistency {key}", evidence,
                   [save(fig, ctx.out_dir, "c10.png")])


@claim(
    "C13", "Weight sharing vs fully connected under translation",
    lecture="Sec. 3: parameter sharing 'allows the network to generalize across spatial translation of the input "
            "(e.g., recognize an object whether it's in the top-left or bottom-right)'.",
    method="LeNet-5 (61,706 parameters) against LeCun's 784-300-10 MLP (238,510 parameters, more than the CNN), "
           "both trained with the same recipe, seeds and data, no augmentation. Accuracy under horizontal and "
           "vertical shifts of -6..6 px (normalised area under the curve, mean of the two directions) and shift "
           "consistency.",
    rule="PASS if the CNN's shift AUC exceeds the MLP's with 95% confidence (Welch interval of the difference "
         "above 0); FAIL if it is below the MLP's with 95% confidence; otherwise INCONCLUSIVE.",
    arms=(BASELINE, MLP),
)
def cnn_vs_mlp(ctx: Context) -> Outcome:
    cnn, mlp = ctx.runs.get(*BASELINE), ctx.runs.get(*MLP)
    measures = {name: {"shift_auc": per_seed(r, shift_auc), "consistency": per_seed(r, consistency),
                       "clean_acc": per_seed(r, clean_acc),
                       "by_shift": {d: per_seed(r, lambda run, d=d: shift_acc(run, d)) for d in range(0, 7)},
                       "params": r[0].metrics["params/trainable"]}
                for name, r in (("cnn", cnn), ("mlp", mlp))}
    diff, low, high = difference_interval(measures["cnn"]["shift_auc"], measures["mlp"]["shift_auc"])
    verdict = greater(measures["cnn"]["shift_auc"], measures["mlp"]["shift_auc"])
    evidence = {"shift_auc_difference": {"diff": round(diff, 2), "low": round(low, 2), "high": round(high, 2)},
                "arms": {n: {"params": m["params"], "shift_auc": summary(m["shift_auc"]),
                             "consistency": summary(m["consistency"]), "clean_acc": summary(m["clean_acc"]),
                             "acc_by_shift": {str(d): summary(v) for d, v in m["by_shift"].items()}}
                         for n, m in measures.items()}}
    fig, (ax,) = new_figure()
    for name, m in measures.items():
        means = [t_interval(m["by_shift"][d]) for d in m["by_shift"]]
        ax.errorbar(list(m["by_shift"]), [a for a, _ in means], [h for _, h in means], marker="o", capsize=3,
                    label=f"{name} ({m['params']:,} params)")
    ax.set(xlabel="shift (px, mean of 4 directions)", ylabel="test accuracy (%)",
           title="C13: CNN vs MLP under shifts")
    ax.legend(fontsize=8)
    return Outcome(verdict, f"shift AUC CNN {fmt(measures['cnn']['shift_auc'])} vs MLP "
                   f"{fmt(measures['mlp']['shift_auc'])}", evidence, [save(fig, ctx.out_dir, "c13.png")])
